/*
 * The types that wsd's parts hand each other: the limits on names, GPUs
 * and mounts, a validated start request, and an API error. This header is
 * at the bottom: it includes nothing of wsd, so quota, gpu, spec and wsfs
 * describe what they take without pulling in validation or configuration.
 * The error's helpers are in types.c.
 */
#ifndef WSD_TYPES_H
#define WSD_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* A user or group name's bytes, NUL not included: arrays are UNIX_NAME_MAX + 1. */
#define UNIX_NAME_MAX 32

#define WS_NAME_MAX 32
#define WS_KEYS_MAX 16
#define WS_KEY_LEN_MAX 8192

/* An error as the API reports it: HTTP status, a code and a sentence. */
struct api_error {
	int status;
	char code[32];
	char message[512];
};

void api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* jansson's json_t, declared here so that this header needs no jansson.h. */
struct json_t;

/*
 * The body of every error reply, {"error": {"code": code, "message":
 * message}}, as a new reference. NULL when message is not UTF-8.
 */
struct json_t *api_error_json(const char *code, const char *message);

#define GPU_MAX 64
#define GPU_UUID_MAX 96

struct gpu_request {
	int count; /* GPUs wanted; with ids: 0 or as many as ids */
	char ids[GPU_MAX][GPU_UUID_MAX];
	size_t nids;
};

#define WS_MOUNTS_MAX 8
#define WS_PATH_MAX 1024 /* a mount path's bytes, NUL included */

/*
 * A host path bound into the workspace. After validation both paths are
 * absolute and normalised; the source is then checked on the host (wsfs.c)
 * and replaced by its real path, which is what the engine gets.
 */
struct mount_req {
	char *source;
	char *target;
	int read_only;
};

struct template; /* config.h */

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
	struct mount_req mounts[WS_MOUNTS_MAX];
	size_t nmounts;
	int queue; /* no free GPUs: queue it and answer at once */
	int wait;  /* no free GPUs: queue it while the client waits */
};

#endif
