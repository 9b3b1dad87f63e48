/*
 * The Docker Engine API transport: calls (unix socket or http://)
 * through fetch.c, with JSON replies parsed by jansson. Works with API
 * 1.41 (Engine 20.10) and newer: calls are pinned to 1.41, or to the
 * engine's minimum when that is higher.
 */
#ifndef WSD_DOCKER_H
#define WSD_DOCKER_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

struct docker_reply {
	long status;       /* HTTP status, 0 when the engine was not reached */
	const char *error; /* transport error or the engine's message, or NULL */
	json_t *json;      /* parsed body or NULL; borrowed for the callback */
	const char *body;
	size_t len;
};

typedef void docker_cb(void *arg, const struct docker_reply *r);

int docker_init(const char *engine_url, char *err, size_t errlen);
void docker_free(void);

/*
 * Call the engine. path starts with "/" and is relative to the versioned
 * prefix ("/info"). body may be NULL; it is not stolen.
 * timeout_ms 0 means the default of 60 s. Returns 0 or -1.
 */
int docker_call(const char *method, const char *path, json_t *body, long timeout_ms, docker_cb *cb,
                void *arg);

/*
 * Follow a stream of JSON lines (GET path, e.g. "/events?filters=..."): on_event
 * gets each object (borrowed), done runs once when the stream ends. One
 * stream at a time.
 */
int docker_stream(const char *path, void (*on_event)(json_t *ev), void (*done)(const char *why));

/* Settle the API version from a GET /version reply. Returns 0 or -1 (too old). */
int docker_set_version(const json_t *version, char *err, size_t errlen);
const char *docker_api_version(void);

/*
 * Demultiplex a logs reply (8-byte frame headers when the container has
 * no TTY) and copy its last non-empty line, sanitised, into out.
 */
void docker_last_log_line(const char *body, size_t len, char *out, size_t outlen);

#endif
