/*
 * curl multi on libuv. curl tells us which sockets to watch (socket_cb)
 * and when to call it back (timer_cb); we start and stop uv_poll handles
 * and one uv_timer accordingly, and after every curl_multi_socket_action
 * we drain finished transfers. A poll handle's memory is freed only in
 * its close callback.
 */
#include "fetch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "log.h"
#include "xmalloc.h"

struct xfer {
	CURL *easy;
	struct curl_slist *headers;
	char *buf;
	size_t len, cap, max;
	int too_big;
	fetch_cb *cb;
	void *arg;
	void (*on_data)(void *arg, const char *data, size_t len);
	char *sbuf; /* streamed bytes not yet delivered */
	size_t slen;
	int cancelled; /* fetch_cancel: out of curl, freed by fetch_deliver */
	int paused;
	char errbuf[CURL_ERROR_SIZE];
	LIST_ENTRY(xfer) entry;
};

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
};

static uv_loop_t *loop;
static CURLM *multi;
static uv_timer_t timer;
static uv_timer_t deliver_timer; /* hands streamed bytes over outside curl's callbacks */
static LIST_HEAD(, xfer) xfers = LIST_HEAD_INITIALIZER(xfers);
static size_t nxfers;

static void check_done(void);

static void
sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
poll_cb(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, s->fd, flags, &running);
	check_done();
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			curl_multi_assign(multi, fd, NULL);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		curl_multi_assign(multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, poll_cb);
	return 0;
}

static void
timer_fire(uv_timer_t *t)
{
	int running;

	(void)t;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		uv_timer_stop(&timer);
	else
		/* 0 means "soon": run from the loop, not inside this callback. */
		uv_timer_start(&timer, timer_fire, (uint64_t)timeout_ms, 0);
	return 0;
}

static void
flush_stream(struct xfer *x)
{
	if (x->slen > 0 && !x->cancelled) {
		char *b = x->sbuf;
		size_t n = x->slen;

		x->sbuf = NULL;
		x->slen = 0;
		x->on_data(x->arg, b, n);
		free(b);
	}
}

static void xfer_unlink(struct xfer *x);

static void
xfer_free(struct xfer *x)
{
	curl_slist_free_all(x->headers);
	curl_easy_cleanup(x->easy);
	free(x->sbuf);
	free(x->buf);
	free(x);
}

/*
 * Streamed bytes are handed over here, from a timer, never inside curl's
 * callbacks. Cancelled transfers are freed here too: a callback that
 * cancels one (its own or another) leaves the list intact while we walk it.
 */
static void
fetch_deliver(uv_timer_t *t)
{
	struct xfer *x, *next;

	(void)t;
	for (x = LIST_FIRST(&xfers); x != NULL; x = LIST_NEXT(x, entry))
		if (x->on_data)
			flush_stream(x);
	for (x = LIST_FIRST(&xfers); x != NULL; x = next) {
		next = LIST_NEXT(x, entry);
		if (x->cancelled) {
			xfer_unlink(x);
			xfer_free(x);
		}
	}
}

static size_t
fetch_write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;

	if (x->on_data != NULL && !x->cancelled) {
		long status = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 300)
			goto collect; /* an error's body is for cb, not a stream */
		/* A callback may start transfers, which curl forbids from here. */
		x->sbuf = xrealloc(x->sbuf, x->slen + len);
		memcpy(x->sbuf + x->slen, data, len);
		x->slen += len;
		uv_timer_start(&deliver_timer, fetch_deliver, 0, 0);
		return len;
	}
collect:
	if (x->len + len + 1 > x->max) {
		x->too_big = 1;
		return 0;
	}
	if (x->len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;

		while (cap < x->len + len + 1)
			cap *= 2;
		x->buf = xrealloc(x->buf, cap);
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

static void
xfer_unlink(struct xfer *x)
{
	LIST_REMOVE(x, entry);
	nxfers--;
}

static void
xfer_finish(struct xfer *x, CURLcode rc, const char *cancel)
{
	struct fetch_reply r = {0};

	curl_multi_remove_handle(multi, x->easy);
	xfer_unlink(x);
	if (x->on_data)
		flush_stream(x);
	if (x->cancelled) { /* by its own on_data, just now */
		xfer_free(x);
		return;
	}
	free(x->sbuf);
	x->sbuf = NULL;
	if (cancel != NULL) {
		r.error = cancel;
	} else if (rc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	} else if (x->too_big) {
		r.error = "reply too large";
	} else {
		r.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	}
	r.body = x->buf ? x->buf : "";
	r.len = x->len;
	x->cb(x->arg, &r);
	x->sbuf = NULL;
	xfer_free(x);
}

static void
check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(multi, &left)) != NULL) {
		struct xfer *x;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		xfer_finish(x, m->data.result, NULL);
	}
}

int
fetch_init(uv_loop_t *l)
{
	loop = l;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	multi = curl_multi_init();
	if (multi == NULL)
		return -1;
	uv_timer_init(loop, &timer);
	uv_timer_init(loop, &deliver_timer);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	return 0;
}

void
fetch_shutdown(void)
{
	struct xfer *x;

	while ((x = LIST_FIRST(&xfers)) != NULL) {
		if (x->cancelled) {
			xfer_unlink(x);
			xfer_free(x);
		} else {
			xfer_finish(x, CURLE_OK, "cancelled: wsd is shutting down");
		}
	}
	uv_close((uv_handle_t *)&timer, NULL);
	uv_close((uv_handle_t *)&deliver_timer, NULL);
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

size_t
fetch_active(void)
{
	return nxfers;
}

int
fetch_start(const struct fetch_opts *o, fetch_cb *cb, void *arg)
{
	struct xfer *x;

	x = xcalloc(1, sizeof(*x));
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return -1;
	}
	x->cb = cb;
	x->arg = arg;
	x->on_data = o->on_data;
	x->max = o->max_body ? o->max_body : (size_t)4 << 20;
	curl_easy_setopt(x->easy, CURLOPT_URL, o->url);
	if (o->unix_socket)
		curl_easy_setopt(x->easy, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	if (o->method)
		curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, o->method);
	if (o->body) {
		x->headers = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
		curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, o->body);
		if (o->method == NULL)
			curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	}
	if (o->timeout_ms > 0)
		curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	LIST_INSERT_HEAD(&xfers, x, entry);
	nxfers++;
	if (curl_multi_add_handle(multi, x->easy) != CURLM_OK) {
		xfer_unlink(x);
		xfer_free(x);
		return -1;
	}
	if (o->handle != NULL)
		*o->handle = x;
	return 0;
}

void
fetch_cancel(struct xfer *x)
{
	if (x->cancelled)
		return;
	x->cancelled = 1;
	curl_multi_remove_handle(multi, x->easy); /* harmless when finishing already */
	free(x->sbuf);
	x->sbuf = NULL;
	x->slen = 0;
	uv_timer_start(&deliver_timer, fetch_deliver, 0, 0);
}

void
fetch_pause(struct xfer *x, int pause)
{
	if (x->cancelled || x->paused == pause)
		return;
	x->paused = pause;
	/* Resuming may hand over held bytes at once: write_cb only buffers them. */
	curl_easy_pause(x->easy, pause ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}
