/*
 * HTTP transfers on the event loop: libcurl's multi interface driven by
 * libuv (the pattern of curl's docs/examples/multi-uv.c). Every engine call
 * and every readiness probe goes through here, so one slow transfer never
 * stalls another and the loop never blocks.
 */
#ifndef WSD_FETCH_H
#define WSD_FETCH_H

#include <stddef.h>

#include <uv.h>

struct fetch_reply {
	long status;       /* HTTP status, or 0 when the transfer failed */
	const char *error; /* transport error when status is 0 */
	const char *body;  /* NUL-terminated, possibly binary */
	size_t len;
};

typedef void fetch_cb(void *arg, const struct fetch_reply *reply);

struct xfer; /* a transfer in flight */

struct fetch_opts {
	const char *method; /* NULL: GET */
	const char *url;
	const char *unix_socket; /* NULL: TCP */
	const char *body;        /* JSON body or NULL */
	long timeout_ms;         /* whole transfer; 0: none */
	size_t max_body;         /* larger replies fail; 0: 4 MiB */
	/*
	 * Streaming: body bytes of a 2xx reply go here as they arrive instead
	 * of a buffer (any other reply's body is collected for cb as usual).
	 */
	void (*on_data)(void *arg, const char *data, size_t len);
	struct xfer **handle; /* set to the transfer, for fetch_cancel and fetch_pause */
};

int fetch_init(uv_loop_t *loop);
/* Abort every transfer (their callbacks run with "cancelled") and free. */
void fetch_shutdown(void);

/*
 * Start a transfer. cb runs later on the loop, exactly once, never from
 * inside fetch_start. Returns 0, or -1 when the transfer cannot start.
 */
int fetch_start(const struct fetch_opts *o, fetch_cb *cb, void *arg);

/*
 * Abandon a transfer: neither on_data nor cb runs again; its memory goes
 * later, on the loop. Safe from inside its own callbacks.
 */
void fetch_cancel(struct xfer *x);
/* Stop (1) or resume (0) receiving: a slow consumer is not buffered for. */
void fetch_pause(struct xfer *x, int pause);

/* Transfers in flight, for tests and shutdown. */
size_t fetch_active(void);

#endif
