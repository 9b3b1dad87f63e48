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

/*
 * 0 when p (len bytes, no NUL inside) is an absolute, normalised path: no
 * "." or ".." component, no "//", no trailing '/', no control character,
 * shorter than WS_PATH_MAX. Otherwise -1 and why says what is wrong.
 */
int valid_path(const char *p, size_t len, char *why, size_t whylen);
/* 1 when path is dir or lies below it (whole components; both normalised). */
int valid_path_under(const char *path, const char *dir);
/*
 * The entry of a comma-separated list of paths ("/a, /b") that holds path,
 * copied into buf; NULL when none does.
 */
const char *valid_path_list_find(const char *list, const char *path, char *buf, size_t len);
/* The next entry of *list, trimmed, into buf, and *list moves on: 1, or 0 at the end. */
int valid_path_list_next(const char **list, char *buf, size_t len);
/* 0 when every entry of a comma-separated list is a valid path other than "/". */
int valid_path_list(const char *list, char *why, size_t whylen);
/* valid_path_list, and no entry on, in or around /etc/wslab, /home, /proc... */
int valid_mount_points(const char *list, char *why, size_t whylen);
/*
 * May a user mount land at target? Inside the home (/home/USER/..., never
 * the home itself) or at or below one of cfg->mount_points, and never on
 * or around wsd's own mounts. user NULL: the user is not known yet, any
 * /home/NAME/... passes. 0, or -1 with why.
 */
int valid_mount_target(const struct config *cfg, const char *target, const char *user, char *why,
                       size_t whylen);

#endif
