/*
 * Request validation: untrusted JSON in, typed structs or one clear error
 * out. Pure functions (no I/O, no globals), so they are unit tested and
 * fuzzed directly.
 */
#ifndef WSD_VALID_H
#define WSD_VALID_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define WS_NAME_MAX 32
#define WS_KEYS_MAX 16
#define WS_KEY_LEN_MAX 8192

struct api_error {
	int status;
	char code[32];
	char message[512];
};

void api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define GPU_MAX 64
#define GPU_UUID_MAX 96

struct gpu_request {
	int count; /* GPUs wanted; with ids: 0 or as many as ids */
	char ids[GPU_MAX][GPU_UUID_MAX];
	size_t nids;
};

struct start_req {
	char name[WS_NAME_MAX + 1]; /* empty: the server picks one */
	const struct template *tmpl;
	int64_t memory;
	int64_t shm;
	double cpus;
	int memory_given, shm_given, cpus_given; /* chosen by the student, not defaults */
	char *ssh_keys[WS_KEYS_MAX];
	size_t nkeys;
	struct gpu_request gpu;
};

/*
 * Validate a start request body against the configuration. host_cpus is
 * the number of CPUs the engine can hand out. Returns 0 and fills req
 * (free with start_req_free), or -1 and fills err.
 */
int valid_start_request(const struct config *cfg, int host_cpus, const char *body, size_t len,
                        struct start_req *req, struct api_error *err);
void start_req_free(struct start_req *req);

/* 1 when s is a workspace name: [a-z0-9][a-z0-9_.-]{0,31}. */
int valid_ws_name(const char *s);

#endif
