/*
 * The Docker Engine API transport: calls (unix socket or http://)
 * through fetch.c, with JSON replies parsed by jansson. Works with API
 * 1.41 (Engine 20.10) and newer: calls are pinned to 1.41, or to the
 * engine's minimum when that is higher.
 */
#ifndef WSD_DOCKER_H
#define WSD_DOCKER_H

#include <stddef.h>
#include <stdint.h>

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
 * Pin calls to v (e.g. "1.44") where the engine speaks it, else to its
 * own version, never below 1.41; before docker_set_version.
 */
void docker_prefer_version(const char *v);
/* Are calls pinned to v or newer? */
int docker_version_at_least(const char *v);

/*
 * The frames of a logs stream of a container without a TTY: an 8-byte
 * header (stream 0, 1 or 2, three zero bytes, the payload's length as a
 * big-endian uint32) before each payload; frames and headers may be split
 * anywhere across reads. Output that does not start like a frame (a TTY
 * container's) passes through as it is.
 */
struct docker_demux {
	unsigned char hdr[8];
	size_t hlen;   /* header bytes gathered */
	uint32_t left; /* payload bytes of the current frame still to come */
	int raw;       /* not framed: everything is payload */
};

typedef void docker_payload_cb(void *arg, const char *data, size_t len);

/* Feed bytes as they arrive; every payload piece goes to out, in order. */
void docker_demux_feed(struct docker_demux *d, const char *data, size_t len, docker_payload_cb *out,
                       void *arg);

struct docker_logs;

/*
 * Read a logs stream (GET path, e.g. "/containers/ID/logs?..."): its
 * demultiplexed payload goes to on_data as it arrives; done runs once at
 * the end with the HTTP status (0: no answer) and the engine's message,
 * unless the read was cancelled. Neither runs inside this call. Returns
 * the read, or NULL when it cannot start.
 */
struct docker_logs *docker_logs(const char *path, long timeout_ms, docker_payload_cb *on_data,
                                void (*done)(void *arg, long status, const char *error), void *arg);
/* Neither callback runs after this; the read's memory is freed. */
void docker_logs_cancel(struct docker_logs *l);
void docker_logs_pause(struct docker_logs *l, int pause);

/*
 * Demultiplex a logs reply (8-byte frame headers when the container has
 * no TTY) and copy its last non-empty line, sanitised, into out.
 */
void docker_last_log_line(const char *body, size_t len, char *out, size_t outlen);

#endif
