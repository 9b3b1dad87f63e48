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

/*
 * The body of POST /v1/workspaces/NAME/extend: {"by": DURATION}, a string
 * ("90m", "2h") or seconds, positive and at most VALID_EXTEND_MAX; no
 * other field. 0 with *by in seconds, or -1 and err.
 */
#define VALID_EXTEND_MAX (INT64_C(366) * 86400)
int valid_extend_request(const char *body, size_t len, int64_t *by, struct api_error *err);

/* 1 when s is a workspace name: [a-z0-9][a-z0-9_.-]{0,31}. */
int valid_ws_name(const char *s);

/*
 * May a user mount land at target? Inside the home (/home/USER/..., never
 * the home itself) or at or below one of mount_points (the config's colon-separated list), and
 * never on or around wsd's own mounts. user NULL: the user is not known
 * yet, any /home/NAME/... passes. 0, or -1 with why.
 */
int valid_mount_target(const char *mount_points, const char *target, const char *user, char *why,
                       size_t whylen);

#endif
