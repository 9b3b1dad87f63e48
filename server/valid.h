/*
 * Request validation: untrusted JSON in, typed structs (types.h) or one
 * clear error out. Pure functions (no I/O, no globals), so they are unit
 * tested and fuzzed directly.
 */
#ifndef WSD_VALID_H
#define WSD_VALID_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "types.h"

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
