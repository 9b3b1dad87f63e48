/*
 * Connections. A connection is refcounted: the libuv handle holds one
 * reference until its close callback runs, and a dispatched request holds
 * one until the handler replies. So a late reply to a client that hung up
 * finds its memory still there, writes nothing, and frees it.
 *
 * One request is served at a time per connection. When a request is
 * complete the parser is paused; bytes after it wait in `pending` until
 * the reply is finished (pipelining without reordering).
 *
 * Replies a client does not read stay queued in wsd. Past HTTP_MAX_QUEUED
 * of them, the connection's requests wait (not read, not parsed) until the
 * client has taken every reply; a client that has not taken them within
 * request_timeout of the first one queued is disconnected.
 *
 * Connections are counted per user (uid): each holds at most
 * max_connections_per_user of them, and max_requests_per_user requests
 * with a handler. When all max_connections are taken, a newcomer gets the
 * connection idle longest of the user holding the most, if that user
 * holds more than the newcomer would; so the cap is only reached by many
 * users, never held by one against the others. A connection idle between
 * requests closes after keepalive_timeout.
 *
 * Who asks is resolved per request, not per connection: the uid comes
 * from SO_PEERCRED at accept; its name, groups and admin rights from a
 * lookup on the pool (ident.c) that started at most HTTP_IDENT_TTL_MS
 * before the request arrived, shared by the uid's requests meanwhile. A
 * user removed from the admin group is refused on a connection opened
 * before.
 *
 * metrics_listen's TCP connections are the same connections (one parser,
 * the same timeouts and write limits) with one difference: no identity.
 * They belong to a pseudo-peer no uid can be, at most
 * HTTP_METRICS_MAX_CONNS of them, and a complete request goes to the
 * metrics handler when it is GET /metrics, else gets 404 here; it never
 * reaches api.c's routes.
 *
 * web_listen's TCP connections (the web page, web.c) are the same
 * connections again, with no identity at accept either: they belong to a
 * pseudo-peer, are capped per client address at max_connections_per_user
 * (there is no uid before a login), and every complete request goes to
 * web.c's handler with its Cookie header. A request whose session names a
 * uid is then identified as a socket request is (http_identify): the
 * same lookup, the same limits per user, and then api.c's handlers,
 * whose replies web.c captures (req->capture) to draw its page.
 *
 * With web_tls_cert and web_tls_key, web connections speak TLS (OpenSSL,
 * with memory BIOs): bytes read are decrypted before the parser sees
 * them, and every write is encrypted first and then written as one
 * buffer, with the same accounting; a reply's body is copied into the
 * encrypted buffer, and zeroed and freed at once.
 *
 * Every answered request is counted in the metrics by the route pattern
 * the handler matched (req->route), never by its raw path.
 *
 * A client's end of input (a half-close) stops reading, nothing more:
 * what it asked for before is still served, and the connection closes
 * once every reply is written.
 */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <grp.h>
#include <pwd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ident.h"
#include "http_text.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct peer;

/* One identity lookup's answer, shared by the requests that use it. */
struct who {
	int refs;
	int found; /* ident_lookup's: -1 when the databases could not be read */
	char why[256];
	struct ident id;
};

struct conn {
	union { /* the unix socket's connections, or the metrics listener's */
		uv_pipe_t pipe;
		uv_tcp_t tcp;
		uv_stream_t stream;
		uv_handle_t handle;
	} h;
	int metrics_only; /* from metrics_listen: GET /metrics and nothing else */
	int web;          /* from web_listen: web.c's */
	int tcp;          /* h is a uv_tcp_t */
	char addr[48];    /* a web client's address */
	struct ipcount *ip;
	char *cookie; /* a web request's Cookie header(s) */
	size_t cookie_len;
	SSL *ssl;            /* web_listen with TLS */
	struct peer *idpeer; /* a web request's user, once its session names one */
	http_handler *then;  /* and what serves it then */
	int status;          /* of the current request's reply, for the metrics */
	uint64_t hr_start;
	uv_timer_t timer;
	uv_timer_t wtimer; /* replies must be taken within request_timeout */
	http_parser parser;
	struct request req;
	int refs;
	int closing;
	int busy;       /* a request is with its handler */
	int keep_alive; /* of the current request */
	int streaming;  /* a chunked reply is open */
	int started;    /* bytes of the next request have arrived */
	int reading;
	int draining;      /* refused: discard input until the client is done */
	int eof;           /* the client sent its last byte (it may still read) */
	int stalled;       /* replies queued past HTTP_MAX_QUEUED: requests wait */
	int expect100;     /* the client waits for "100 Continue" */
	size_t header_len; /* URL and header bytes of the current request */
	char *url;
	size_t url_len;
	char field[64];
	size_t field_len;
	int field_done;
	int hdr; /* which header value we are reading */
	char value[256];
	size_t value_len;
	char *pending; /* bytes after the current request */
	size_t pending_len;
	size_t queued; /* memory of replies handed to libuv, not yet written */
	struct peer *peer;
	struct who *who;   /* of the current request */
	uint64_t asked_at; /* loop time the current request was complete */
	TAILQ_ENTRY(conn) wait_entry;
	int served;          /* counted in peer->nconns (not refused at accept) */
	int refused;         /* counted in peer->nrefused */
	int counted;         /* the current request counts in peer->inflight */
	int idle;            /* between requests: keepalive_timeout runs */
	uint64_t idle_since; /* loop time of the last reply, or of the accept */
	LIST_ENTRY(conn) entry;
	LIST_ENTRY(conn) peer_entry;
	/* Who watches the open stream (http_stream_watch), until it ends. */
	void (*watch)(void *arg, enum http_watch_event ev);
	void *watch_arg;
};

/*
 * A user with connections open: what they hold, for the limits per user.
 * Lives as long as one of its connections (refs).
 */
struct peer {
	uid_t uid;
	int refs;
	size_t nconns;   /* served connections, on conns */
	size_t nrefused; /* refused ones still being answered */
	size_t inflight; /* requests with a handler */
	int warned;      /* the cap was logged */
	LIST_HEAD(, conn) conns;
	struct who *who;            /* the latest lookup's answer (NULL before the first) */
	uint64_t who_at;            /* loop time that lookup started */
	int looking;                /* a lookup is on the pool */
	TAILQ_HEAD(, conn) waiting; /* requests waiting for it */
	LIST_ENTRY(peer) entry;
};

enum { H_OTHER, H_ACCEPT, H_EXPECT, H_COOKIE };

/* Web connections per client address. */
struct ipcount {
	char addr[48];
	size_t n;
	LIST_ENTRY(ipcount) entry;
};
static LIST_HEAD(, ipcount) ipcounts = LIST_HEAD_INITIALIZER(ipcounts);

/* Cookie headers past this are cut (a session cookie is well under 100 bytes). */
#define HTTP_MAX_COOKIE 8192

static uv_loop_t *loop;
static uv_pipe_t server;
static int server_open;
static uv_tcp_t mserver; /* metrics_listen */
static int mserver_open;
static http_handler *mhandler;
static size_t nmetrics;  /* its connections */
static uv_tcp_t wserver; /* web_listen */
static int wserver_open;
static http_handler *whandler;
static const char *wheaders = "";
static SSL_CTX *wtls; /* web_listen's TLS, when configured */
static http_handler *handler;
static struct http_limits limits;
static LIST_HEAD(, conn) conns = LIST_HEAD_INITIALIZER(conns);
static size_t nconns;  /* all, refused ones too */
static size_t nserved; /* not refused: what max_connections caps */
static LIST_HEAD(, peer) peers = LIST_HEAD_INITIALIZER(peers);
static http_parser_settings settings;
static void (*on_closed)(void);

static void conn_close(struct conn *c);
static void conn_next(struct conn *c);

void
http_on_closed(void (*cb)(void))
{
	on_closed = cb;
}

static void conn_parse(struct conn *c, const char *data, size_t len);
static void conn_input(struct conn *c, const char *data, size_t len);
static void tls_read(struct conn *c, const char *data, size_t len);
static void tls_flush(struct conn *c, int close_after);
static void conn_eof(struct conn *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void
conn_read(struct conn *c, int on)
{
	if (c->closing || c->reading == on || (on && c->eof))
		return;
	c->reading = on;
	if (on)
		uv_read_start(&c->h.stream, alloc_cb, read_cb);
	else
		uv_read_stop(&c->h.stream);
}

static void
who_put(struct who *w)
{
	if (w == NULL || --w->refs > 0)
		return;
	ident_free(&w->id);
	free(w);
}

static struct peer *
peer_get(uid_t uid)
{
	struct peer *p;

	LIST_FOREACH(p, &peers, entry) {
		if (p->uid == uid) {
			p->refs++;
			return p;
		}
	}
	p = xcalloc(1, sizeof(*p));
	p->uid = uid;
	p->refs = 1;
	LIST_INIT(&p->conns);
	TAILQ_INIT(&p->waiting);
	LIST_INSERT_HEAD(&peers, p, entry);
	return p;
}

static void
peer_put(struct peer *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	LIST_REMOVE(p, entry);
	who_put(p->who);
	free(p);
}

static void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	who_put(c->who);
	peer_put(c->peer);
	peer_put(c->idpeer);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	free(c->cookie);
	free(c->url);
	free(c->pending);
	free(c->req.path);
	free(c->req.query);
	free(c->req.body);
	free(c);
}

static void
closed_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

static int shutting_down;

/* The client left while its request is with a handler that wants to know. */
static void
conn_gone(struct conn *c)
{
	void (*gone)(struct request *, void *) = c->req.gone;

	if (!c->busy || gone == NULL || shutting_down)
		return;
	c->req.gone = NULL;
	gone(&c->req, c->req.gone_arg);
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	conn_gone(c);
	LIST_REMOVE(c, entry);
	nconns--;
	if (c->served) {
		LIST_REMOVE(c, peer_entry);
		c->peer->nconns--;
		nserved--;
		if (c->metrics_only)
			nmetrics--;
		if (c->ip != NULL && --c->ip->n == 0) {
			LIST_REMOVE(c->ip, entry);
			free(c->ip);
		}
		c->ip = NULL;
	} else if (c->refused) {
		c->peer->nrefused--;
	}
	if (c->watch != NULL)
		c->watch(c->watch_arg, HTTP_GONE);
	if (on_closed != NULL)
		on_closed();
	/* Three handles, one reference each. */
	c->refs += 2;
	uv_close((uv_handle_t *)&c->timer, closed_cb);
	uv_close((uv_handle_t *)&c->wtimer, closed_cb);
	uv_close(&c->h.handle, closed_cb);
}

static void
shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

/* Half-close: the client sees the end of our answer, we read until its end. */
static void
shutdown_write(struct conn *c)
{
	uv_shutdown_t *req;

	if (c->ssl != NULL && !c->closing) {
		SSL_shutdown(c->ssl); /* close_notify, then the TCP half-close */
		tls_flush(c, 0);
	}
	req = xmalloc(sizeof(*req));
	if (c->closing || uv_shutdown(req, &c->h.stream, shutdown_cb) != 0) {
		free(req);
		conn_close(c);
	}
}

/*
 * The client has sent its last byte (a half-close): once no request is
 * left with a handler and every reply is written, close. It still gets
 * every answer it asked for, deferred ones included.
 */
static void
conn_finish(struct conn *c)
{
	if (c->closing || !c->eof || c->busy || c->queued > 0)
		return;
	conn_close(c);
}

struct wreq {
	uv_write_t w;
	struct conn *c;
	size_t len; /* counted in c->queued: this, the bytes, the body handed over */
	int close_after;
	char *owned; /* a body handed over: zeroed (it may hold tokens) and freed */
	size_t owned_len;
	char data[];
};

static void
http_write_cb(uv_write_t *w, int status)
{
	struct wreq *wr = (struct wreq *)w;
	struct conn *c = wr->c;

	c->queued -= wr->len;
	if (c->queued == 0 && !c->closing)
		uv_timer_stop(&c->wtimer);
	if (c->queued == 0 && c->watch != NULL)
		c->watch(c->watch_arg, HTTP_DRAINED);
	if (status < 0 || (wr->close_after && (!c->draining || c->eof)))
		conn_close(c);
	else if (wr->close_after)
		shutdown_write(c);
	else if (c->stalled && c->queued == 0)
		conn_next(c);
	else
		conn_finish(c);
	conn_unref(c);
	if (wr->owned != NULL) {
		explicit_bzero(wr->owned, wr->owned_len);
		free(wr->owned);
	}
	free(wr);
}

static void
wtimeout_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	log_debug("connection of uid %u closed: its replies were not taken within %d ms",
	          (unsigned)c->req.uid, limits.request_timeout_ms);
	conn_close(c);
}

/*
 * Count a write's memory until its callback. From the moment something is
 * queued, the client has request_timeout to take all of it; new replies
 * do not move that deadline, only an empty queue ends it.
 */
static void
conn_queue_add(struct conn *c, size_t len)
{
	if (c->queued == 0)
		uv_timer_start(&c->wtimer, wtimeout_cb, (uint64_t)limits.request_timeout_ms, 0);
	c->queued += len;
}

/* Bytes as they go on the wire (ciphertext under TLS). */
static void
conn_send(struct conn *c, const char *a, size_t alen, const char *b, size_t blen, int close_after)
{
	struct wreq *wr;
	uv_buf_t buf;

	if (c->closing)
		return;
	wr = xmalloc(sizeof(*wr) + alen + blen);
	memcpy(wr->data, a, alen);
	if (blen)
		memcpy(wr->data + alen, b, blen);
	wr->c = c;
	wr->len = sizeof(*wr) + alen + blen;
	wr->close_after = close_after;
	wr->owned = NULL;
	c->refs++;
	conn_queue_add(c, wr->len);
	buf = uv_buf_init(wr->data, (unsigned)(alen + blen));
	if (uv_write(&wr->w, &c->h.stream, &buf, 1, http_write_cb) != 0) {
		c->queued -= wr->len;
		conn_unref(c);
		free(wr);
		conn_close(c);
	}
}

/*
 * Send what TLS has to say (records of the handshake, of data, an alert),
 * as one write; a write that closes goes out even when empty.
 */
static void
tls_flush(struct conn *c, int close_after)
{
	BIO *wb = SSL_get_wbio(c->ssl);
	size_t n = BIO_ctrl_pending(wb);
	char *buf;

	if (n == 0 && !close_after)
		return;
	buf = xmalloc(n + 1);
	if (n > 0 && BIO_read(wb, buf, (int)n) != (int)n) {
		free(buf);
		conn_close(c);
		return;
	}
	conn_send(c, buf, n, NULL, 0, close_after);
	free(buf);
}

static void
conn_write(struct conn *c, const char *a, size_t alen, const char *b, size_t blen, int close_after)
{
	if (c->ssl == NULL) {
		conn_send(c, a, alen, b, blen, close_after);
		return;
	}
	if (c->closing)
		return;
	/* Memory BIOs take all of it: a write fails only when TLS is broken. */
	if ((alen > 0 && SSL_write(c->ssl, a, (int)alen) <= 0) ||
	    (blen > 0 && SSL_write(c->ssl, b, (int)blen) <= 0)) {
		ERR_clear_error();
		conn_close(c);
		return;
	}
	tls_flush(c, close_after);
}

/* Write head (copied) then body, which is handed over, not copied. */
static void
conn_write_owned(struct conn *c, const char *head, size_t hlen, char *body, size_t blen,
                 int close_after)
{
	struct wreq *wr;
	uv_buf_t bufs[2];

	if (c->ssl != NULL) {
		/* Encrypted into a buffer of its own: the plaintext is done with. */
		conn_write(c, head, hlen, body, blen, close_after);
		explicit_bzero(body, blen);
		free(body);
		return;
	}
	if (c->closing) {
		explicit_bzero(body, blen);
		free(body);
		return;
	}
	wr = xmalloc(sizeof(*wr) + hlen);
	memcpy(wr->data, head, hlen);
	wr->c = c;
	wr->len = sizeof(*wr) + hlen + blen;
	wr->close_after = close_after;
	wr->owned = body;
	wr->owned_len = blen;
	c->refs++;
	conn_queue_add(c, wr->len);
	bufs[0] = uv_buf_init(wr->data, (unsigned)hlen);
	bufs[1] = uv_buf_init(body, (unsigned)blen);
	if (uv_write(&wr->w, &c->h.stream, bufs, 2, http_write_cb) != 0) {
		c->queued -= wr->len;
		conn_unref(c);
		explicit_bzero(body, blen);
		free(body);
		free(wr);
		conn_close(c);
	}
}

static void request_reset(struct conn *c);
static void timeout_cb(uv_timer_t *t);

/*
 * No request is with a handler: serve the next one, or wait for it. While
 * the replies queued exceed HTTP_MAX_QUEUED, nothing more is read or
 * parsed (the parser stays paused, so the rest of a read waits in
 * `pending`) until the client has taken all of them.
 */
static void
conn_next(struct conn *c)
{
	if (c->closing || c->busy)
		return;
	if (c->queued > HTTP_MAX_QUEUED) {
		c->stalled = 1;
		conn_read(c, 0);
		uv_timer_stop(&c->timer); /* the write deadline runs */
		return;
	}
	c->stalled = 0;
	/* Idle until the next request begins (on_message_begin). */
	c->idle = 1;
	c->idle_since = uv_now(loop);
	uv_timer_start(&c->timer, timeout_cb, (uint64_t)limits.keepalive_timeout_ms, 0);
	http_parser_pause(&c->parser, 0);
	if (c->pending_len > 0) {
		char *p = c->pending;
		size_t n = c->pending_len;

		c->pending = NULL;
		c->pending_len = 0;
		conn_parse(c, p, n);
		free(p);
	}
	if (!c->busy && !c->stalled) {
		conn_read(c, 1);
		conn_finish(c);
	}
}

/*
 * One answered request in the metrics: its route pattern (never the raw
 * path: the label set stays the route table's), method and status.
 */
static void
request_count(struct conn *c, int timed)
{
	const char *route = c->req.route != NULL ? c->req.route : "unmatched";
	const char *method;
	char status[8];

	/* Refused before it was read whole (conn_fail): the method may be unknown. */
	switch (timed ? c->req.method : -1) {
	case HTTP_GET:
	case HTTP_POST:
	case HTTP_PUT:
	case HTTP_DELETE:
	case HTTP_HEAD:
		method = http_method_str((enum http_method)c->req.method);
		break;
	default:
		method = "other";
	}
	if (c->status == 0) /* the client left before an answer */
		return;
	snprintf(status, sizeof(status), "%d", c->status);
	metric_inc(metric_at(m_http_requests, method, route, status), 1);
	if (timed)
		metric_observe(metric_at(m_http_duration, route), metrics_since(c->hr_start));
}

/* The handler is finished with the request. */
static void
request_done(struct conn *c)
{
	request_count(c, 1);
	c->req.gone = NULL;
	c->busy = 0;
	c->streaming = 0;
	c->watch = NULL;
	if (c->counted) {
		c->counted = 0;
		(c->idpeer != NULL ? c->idpeer : c->peer)->inflight--;
	}
	if (!c->closing) {
		request_reset(c);
		conn_next(c);
	}
	conn_unref(c);
}

static void
send_json(struct conn *c, int status, json_t *body, int close_after)
{
	char head[2048], *text = NULL;
	size_t len = 0;
	int n;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(body);
		len = text ? strlen(text) : 0;
	}
	c->status = status;
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
	             status, http_reason(status), len + (text ? 1 : 0), c->web ? wheaders : "",
	             close_after ? "close" : "keep-alive");
	if (n < 0 || (size_t)n >= sizeof(head))
		abort(); /* the headers are wsd's own, and short */
	if (text) {
		text[len] = '\n';
		conn_write(c, head, (size_t)n, text, len + 1, close_after);
	} else {
		conn_write(c, head, (size_t)n, NULL, 0, close_after);
	}
	free(text);
}

static json_t *error_body(const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static json_t *
error_body(const char *code, const char *fmt, va_list ap)
{
	char msg[512];
	json_t *o;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	o = api_error_json(code, msg);
	if (o == NULL) /* the message held bytes that are not UTF-8 */
		o = api_error_json(code, "invalid request (and not valid UTF-8)");
	return o;
}

static void conn_fail(struct conn *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error before the request reached a handler: reply and hang up. */
static void
conn_fail(struct conn *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_json(c, status, error_body(code, fmt, ap), 1);
	va_end(ap);
	request_count(c, 0);
	/*
	 * Read and discard what the client still sends, so that it reads our
	 * answer instead of a reset; the timer ends it if the client never stops.
	 */
	c->busy = 1;
	c->draining = 1;
	conn_read(c, 1);
	uv_timer_start(&c->timer, timeout_cb, 2000, 0);
}

/* An API handler's reply to a request web.c handed it: back to web.c. */
static void
capture_reply(struct request *req, int status, char *text, size_t len)
{
	void (*fn)(struct request *, int, char *, size_t) = req->capture;

	req->capture = NULL;
	fn(req, status, text != NULL ? text : xstrdup(""), text != NULL ? len : 0);
}

void
http_reply_json(struct request *req, int status, json_t *body)
{
	struct conn *c = req->conn;

	if (req->capture != NULL) {
		char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		json_decref(body);
		capture_reply(req, status, text, text ? strlen(text) : 0);
		return;
	}
	send_json(c, status, body, !c->keep_alive);
	request_done(c);
}

void
http_reply_owned(struct request *req, int status, char *text, size_t len)
{
	http_reply_text(req, status, "application/json", text, len);
}

void
http_reply_text(struct request *req, int status, const char *type, char *text, size_t len)
{
	http_reply_web(req, status, type, NULL, text, len);
}

void
http_reply_web(struct request *req, int status, const char *type, const char *headers, char *body,
               size_t len)
{
	struct conn *c = req->conn;
	char *head;
	size_t cap;
	int n;

	if (req->capture != NULL) {
		capture_reply(req, status, body, len);
		return;
	}
	cap =
	    256 + strlen(type) + (headers ? strlen(headers) : 0) + (c->web ? strlen(wheaders) : 0);
	head = xmalloc(cap);
	c->status = status;
	n = snprintf(head, cap,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	             "Content-Length: %zu\r\n%s%sConnection: %s\r\n\r\n",
	             status, http_reason(status), type, len, c->web ? wheaders : "",
	             headers ? headers : "", !c->keep_alive ? "close" : "keep-alive");
	conn_write_owned(c, head, (size_t)n, body, len, !c->keep_alive);
	free(head);
	request_done(c);
}

void
http_reply_error(struct request *req, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *body;

	va_start(ap, fmt);
	body = error_body(code, fmt, ap);
	va_end(ap);
	http_reply_json(req, status, body);
}

void
http_stream_start(struct request *req)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
	                           "Transfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n";
	struct conn *c = req->conn;

	c->status = 200;
	c->streaming = 1;
	conn_write(c, head, sizeof(head) - 1, NULL, 0, 0);
}

void
http_stream_line(struct request *req, json_t *obj)
{
	struct conn *c = req->conn;
	char head[32], *text;
	size_t len;
	int n;

	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL)
		return;
	len = strlen(text);
	/* Chunk = size line, the JSON line with its newline, CRLF. */
	n = snprintf(head, sizeof(head), "%zx\r\n", len + 1);
	{
		char *chunk = xmalloc(len + 3);

		memcpy(chunk, text, len);
		memcpy(chunk + len, "\n\r\n", 3);
		conn_write(c, head, (size_t)n, chunk, len + 3, 0);
		free(chunk);
	}
	free(text);
}

void
http_stream_end(struct request *req)
{
	struct conn *c = req->conn;

	conn_write(c, "0\r\n\r\n", 5, NULL, 0, !c->keep_alive);
	request_done(c);
}

void
http_stream_watch(struct request *req, void (*fn)(void *arg, enum http_watch_event ev), void *arg)
{
	struct conn *c = req->conn;

	c->watch = fn;
	c->watch_arg = arg;
	if (c->closing || c->eof)
		fn(arg, HTTP_GONE);
}

size_t
http_queued(const struct request *req)
{
	return req->conn->queued;
}

static void
request_reset(struct conn *c)
{
	free(c->url);
	free(c->req.path);
	free(c->req.query);
	free(c->req.body);
	c->url = c->req.path = c->req.query = c->req.body = NULL;
	c->url_len = c->req.body_len = 0;
	c->header_len = 0;
	c->field_len = c->value_len = 0;
	c->field_done = 0;
	c->hdr = H_OTHER;
	c->req.want_stream = 0;
	c->req.route = NULL;
	c->req.capture = NULL;
	c->req.capture_arg = NULL;
	c->cookie_len = 0;
	if (c->cookie != NULL)
		c->cookie[0] = '\0';
	peer_put(c->idpeer);
	c->idpeer = NULL;
	c->then = NULL;
	c->status = 0;
	c->expect100 = 0;
	c->started = 0;
	who_put(c->who);
	c->who = NULL;
	c->req.user[0] = '\0';
	c->req.admin = 0;
	c->req.groups = NULL;
	c->req.ngroups = 0;
}

static int
on_message_begin(http_parser *p)
{
	struct conn *c = p->data;

	c->started = 1;
	if (c->idle) {
		/* The whole request within request_timeout of its first byte. */
		c->idle = 0;
		uv_timer_start(&c->timer, timeout_cb, (uint64_t)limits.request_timeout_ms, 0);
	}
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	c->header_len += len;
	if (c->header_len > HTTP_MAX_HEADER)
		return -1;
	c->url = xrealloc(c->url, c->url_len + len + 1);
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static void
header_finish(struct conn *c)
{
	if (!c->field_done)
		return;
	c->value[c->value_len < sizeof(c->value) ? c->value_len : sizeof(c->value) - 1] = '\0';
	if (c->hdr == H_ACCEPT && strstr(c->value, "application/x-ndjson") != NULL)
		c->req.want_stream = 1;
	if (c->hdr == H_EXPECT && strcasecmp(c->value, "100-continue") == 0)
		c->expect100 = 1;
	c->field_done = 0;
	c->field_len = c->value_len = 0;
	c->hdr = H_OTHER;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	c->header_len += len;
	if (c->header_len > HTTP_MAX_HEADER)
		return -1;
	header_finish(c);
	if (c->field_len + len < sizeof(c->field)) {
		memcpy(c->field + c->field_len, at, len);
		c->field[c->field_len + len] = '\0';
	}
	c->field_len += len;
	return 0;
}

/* Keep a web request's cookies (several Cookie headers are joined). */
static void
cookie_add(struct conn *c, const char *at, size_t len)
{
	if (c->cookie == NULL)
		c->cookie = xcalloc(1, HTTP_MAX_COOKIE + 1);
	if (len > HTTP_MAX_COOKIE - c->cookie_len)
		len = HTTP_MAX_COOKIE - c->cookie_len;
	memcpy(c->cookie + c->cookie_len, at, len);
	c->cookie_len += len;
	c->cookie[c->cookie_len] = '\0';
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	c->header_len += len;
	if (c->header_len > HTTP_MAX_HEADER)
		return -1;
	if (!c->field_done) {
		c->field_done = 1;
		if (c->field_len < sizeof(c->field)) {
			if (strcasecmp(c->field, "accept") == 0)
				c->hdr = H_ACCEPT;
			else if (strcasecmp(c->field, "expect") == 0)
				c->hdr = H_EXPECT;
			else if (c->web && strcasecmp(c->field, "cookie") == 0)
				c->hdr = H_COOKIE;
		}
		if (c->hdr == H_COOKIE && c->cookie_len > 0)
			cookie_add(c, "; ", 2);
	}
	if (c->hdr == H_COOKIE) {
		cookie_add(c, at, len);
		return 0;
	}
	if (c->value_len + len < sizeof(c->value))
		memcpy(c->value + c->value_len, at, len);
	c->value_len += len;
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;

	header_finish(c);
	if (p->content_length != ULLONG_MAX && p->content_length > HTTP_MAX_BODY)
		return -1;
	if (c->expect100) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		c->expect100 = 0;
		conn_write(c, cont, sizeof(cont) - 1, NULL, 0, 0);
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->req.body_len + len > HTTP_MAX_BODY)
		return -1;
	c->req.body = xrealloc(c->req.body, c->req.body_len + len + 1);
	memcpy(c->req.body + c->req.body_len, at, len);
	c->req.body_len += len;
	c->req.body[c->req.body_len] = '\0';
	return 0;
}

/* The request goes to its handler, as the user c->peer->who names. */
static void
request_dispatch(struct conn *c)
{
	struct peer *p = c->idpeer != NULL ? c->idpeer : c->peer;
	struct ident *id;

	c->who = p->who;
	c->who->refs++;
	if (c->who->found == -1) {
		/* Fail closed: never served with fewer groups or rights than it has. */
		http_reply_error(&c->req, 503, "identity_unavailable",
		                 "wsd cannot read who you are from the user and group databases "
		                 "(%s); ask an admin",
		                 c->who->why);
		return;
	}
	id = &c->who->id;
	snprintf(c->req.user, sizeof(c->req.user), "%s", id->user);
	c->req.admin = id->admin;
	c->req.groups = (const char(*)[UNIX_NAME_MAX + 1]) id->groups;
	c->req.ngroups = id->ngroups;
	if (p->inflight >= (size_t)limits.max_requests_per_user) {
		http_reply_error(&c->req, 429, "too_many_requests",
		                 "you have %zu requests in progress, the most one user may have "
		                 "(max_requests_per_user); try again when one is answered",
		                 p->inflight);
		return;
	}
	c->counted = 1;
	p->inflight++;
	if (c->then != NULL)
		c->then(&c->req);
	else
		handler(&c->req);
}

static void peer_lookup(struct peer *p);

/*
 * Who asks: the uid's latest lookup, if it started less than
 * HTTP_IDENT_TTL_MS before this request was complete; otherwise the
 * request waits for a new one.
 */
static void
request_identify(struct conn *c)
{
	struct peer *p = c->idpeer != NULL ? c->idpeer : c->peer;

	if (p->who != NULL && c->asked_at < p->who_at + HTTP_IDENT_TTL_MS) {
		request_dispatch(c);
		return;
	}
	TAILQ_INSERT_TAIL(&p->waiting, c, wait_entry);
	if (!p->looking)
		peer_lookup(p);
}

static int
on_message_complete(http_parser *p)
{
	struct conn *c = p->data;
	struct http_parser_url u;

	http_parser_pause(p, 1);
	c->busy = 1;
	c->hr_start = uv_hrtime();
	uv_timer_stop(&c->timer);
	c->keep_alive = http_should_keep_alive(p);
	c->req.method = p->method;
	http_parser_url_init(&u);
	if (c->url == NULL || http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		conn_fail(c, 400, "bad_request", "malformed request target");
		return 0;
	}
	c->req.path = http_decode(c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	if (u.field_set & (1 << UF_QUERY))
		c->req.query =
		    xstrndup(c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	if (c->req.path == NULL) {
		conn_fail(c, 400, "bad_request", "malformed percent-escape in the path");
		return 0;
	}
	if (c->req.body != NULL && strlen(c->req.body) != c->req.body_len) {
		conn_fail(c, 400, "invalid_json", "request body contains a NUL byte");
		return 0;
	}
	c->refs++; /* held by the handler until it replies */
	c->asked_at = uv_now(loop);
	if (c->metrics_only) {
		/* No identity, no limits per user: one fixed page, or nothing. */
		if (c->req.method == HTTP_GET && strcmp(c->req.path, "/metrics") == 0) {
			c->req.route = "/metrics";
			mhandler(&c->req);
		} else {
			http_reply_error(&c->req, 404, "not_found",
			                 "this listener serves GET /metrics only");
		}
		return 0;
	}
	if (c->web) {
		/* web.c finds the session, if any, and calls http_identify. */
		c->req.cookie = c->cookie != NULL ? c->cookie : "";
		c->req.tls = c->ssl != NULL;
		c->req.uid = (uid_t)-1; /* nobody, until this request's session says */
		c->req.gid = (gid_t)-1;
		whandler(&c->req);
		return 0;
	}
	request_identify(c);
	return 0;
}

void
http_identify(struct request *req, uid_t uid, http_handler *then)
{
	struct conn *c = req->conn;

	peer_put(c->idpeer);
	c->idpeer = peer_get(uid);
	c->then = then;
	req->uid = uid;
	req->gid = (gid_t)-1;
	request_identify(c);
}

static void
conn_parse(struct conn *c, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	n = http_parser_execute(&c->parser, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		/* A request is with its handler; keep what follows it. */
		if (n < len && !c->closing) {
			c->pending = xrealloc(c->pending, c->pending_len + (len - n));
			memcpy(c->pending + c->pending_len, data + n, len - n);
			c->pending_len += len - n;
			if (c->pending_len > HTTP_MAX_HEADER + HTTP_MAX_BODY)
				conn_read(c, 0);
		}
		return;
	}
	if (e == HPE_OK)
		return;
	if (c->busy)
		return;
	if (c->header_len > HTTP_MAX_HEADER)
		conn_fail(c, 431, "headers_too_large", "request line and headers exceed %d bytes",
		          HTTP_MAX_HEADER);
	else if (c->req.body_len + len > HTTP_MAX_BODY ||
	         (c->parser.content_length != ULLONG_MAX &&
	          c->parser.content_length > HTTP_MAX_BODY && e == HPE_CB_headers_complete))
		conn_fail(c, 413, "payload_too_large", "request body exceeds %d bytes",
		          HTTP_MAX_BODY);
	else
		conn_fail(c, 400, "bad_request", "malformed HTTP request: %s",
		          http_errno_description(e));
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[64 * 1024];

	(void)h;
	(void)suggested;
	/* Reads are parsed at once, so one buffer serves every connection. */
	*buf = uv_buf_init(slab, sizeof(slab));
}

/*
 * The client will send nothing more. What it sent before is still served,
 * and every reply written, before the connection closes (conn_finish);
 * a request it left unfinished can never complete.
 */
static void
conn_eof(struct conn *c)
{
	c->eof = 1;
	conn_read(c, 0);
	if (c->watch != NULL)
		c->watch(c->watch_arg, HTTP_GONE);
	conn_gone(c);
	if (c->draining) {
		/* Our refusal is out, or its write closes the connection. */
		if (c->queued == 0)
			conn_close(c);
		return;
	}
	conn_finish(c);
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread == UV_EOF) {
		conn_eof(c);
		return;
	}
	if (nread < 0) {
		/* An error: a handler still holding the request keeps c alive. */
		conn_close(c);
		return;
	}
	if (nread == 0 || c->draining)
		return;
	if (c->ssl != NULL)
		tls_read(c, buf->base, (size_t)nread);
	else
		conn_input(c, buf->base, (size_t)nread);
}

/* Bytes of requests, as the client sent them (decrypted under TLS). */
static void
conn_input(struct conn *c, const char *data, size_t len)
{
	if (c->busy || c->stalled) {
		/* Bytes of a later request while one is being served. */
		c->pending = xrealloc(c->pending, c->pending_len + len);
		memcpy(c->pending + c->pending_len, data, len);
		c->pending_len += len;
		if (c->pending_len > HTTP_MAX_HEADER + HTTP_MAX_BODY)
			conn_read(c, 0);
		return;
	}
	conn_parse(c, data, len);
}

/*
 * Ciphertext in: the handshake goes on, or all the plaintext it holds
 * goes to conn_input now (none is left inside OpenSSL to be forgotten
 * while reading is stopped). A failed handshake or a broken record
 * closes the connection; the client's close_notify is its end of input.
 */
static void
tls_read(struct conn *c, const char *data, size_t len)
{
	static char plain[16 * 1024];
	int r, e;

	if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
		conn_close(c);
		return;
	}
	if (!SSL_is_init_finished(c->ssl)) {
		r = SSL_do_handshake(c->ssl);
		tls_flush(c, 0);
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ) {
				log_debug("web connection from %s: TLS handshake failed", c->addr);
				conn_close(c);
			}
			return;
		}
	}
	while (!c->closing && !c->draining) {
		r = SSL_read(c->ssl, plain, sizeof(plain));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			tls_flush(c, 0);
			if (e == SSL_ERROR_ZERO_RETURN)
				conn_eof(c);
			else if (e != SSL_ERROR_WANT_READ)
				conn_close(c);
			return;
		}
		conn_input(c, plain, (size_t)r);
	}
}

static void
timeout_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->draining) {
		conn_close(c);
		return;
	}
	if (c->busy)
		return;
	if (c->eof) /* its replies were not taken in time */
		conn_close(c);
	else if (c->started)
		conn_fail(c, 408, "timeout", "request not received within %d ms",
		          limits.request_timeout_ms);
	else
		conn_close(c);
}

/*
 * Who a uid is: name, groups and admin rights from the user and group
 * databases, looked up on a pool thread (NSS may be a network service).
 */
struct lookup {
	uv_work_t work;
	struct peer *p;
	uint64_t started;
	struct who *who;
	char *admin_group; /* copied: a reload may change the limits meanwhile */
};

static void
lookup_work(uv_work_t *w)
{
	struct lookup *l = w->data;
	struct who *who = l->who;

	who->found =
	    ident_lookup(&who->id, l->p->uid, NULL, l->admin_group, who->why, sizeof(who->why));
}

static void
lookup_done(uv_work_t *w, int status)
{
	struct lookup *l = w->data;
	struct peer *p = l->p;
	TAILQ_HEAD(, conn) ready = TAILQ_HEAD_INITIALIZER(ready);
	struct conn *c;

	p->looking = 0;
	if (status != 0) {
		l->who->found = -1;
		snprintf(l->who->why, sizeof(l->who->why), "the lookup was cancelled");
	}
	if (l->who->found == -1)
		log_warn("uid %u: who it is cannot be read: %s", (unsigned)p->uid, l->who->why);
	/* A failure is kept like an answer: requests do not each cost a lookup. */
	who_put(p->who);
	p->who = l->who;
	p->who_at = l->started;
	/* Handlers may queue new requests of this uid meanwhile: take the list. */
	TAILQ_CONCAT(&ready, &p->waiting, wait_entry);
	while ((c = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, c, wait_entry);
		if (c->closing) {
			request_done(c);
		} else if (c->asked_at < p->who_at + HTTP_IDENT_TTL_MS) {
			request_dispatch(c);
		} else {
			/* Complete long after this lookup started (a slow database): another. */
			TAILQ_INSERT_TAIL(&p->waiting, c, wait_entry);
		}
	}
	if (!TAILQ_EMPTY(&p->waiting) && !p->looking)
		peer_lookup(p);
	peer_put(p);
	free(l->admin_group);
	free(l);
}

static void
peer_lookup(struct peer *p)
{
	struct lookup *l = xcalloc(1, sizeof(*l));
	struct conn *c;

	l->p = p;
	l->started = uv_now(loop);
	l->who = xcalloc(1, sizeof(*l->who));
	l->who->refs = 1;
	l->admin_group = xstrdup(limits.admin_group);
	l->work.data = l;
	p->refs++;
	p->looking = 1;
	if (uv_queue_work(loop, &l->work, lookup_work, lookup_done) == 0)
		return;
	p->looking = 0;
	while ((c = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, c, wait_entry);
		http_reply_error(&c->req, 500, "internal", "cannot queue the identity lookup");
	}
	peer_put(p);
	who_put(l->who);
	free(l->admin_group);
	free(l);
}

static void conn_refuse(struct conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Refuse a new connection with status and a message. A user's refusals
 * still being answered are capped like their connections: past that,
 * one more is closed at once, unanswered.
 */
static void
conn_refuse(struct conn *c, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->peer->nrefused >= (size_t)limits.max_connections_per_user) {
		conn_close(c);
		return;
	}
	c->refused = 1;
	c->peer->nrefused++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_fail(c, status, "too_many_connections", "%s", msg);
}

/* Nothing is going on: no request, no reply, nothing to read. */
static int
conn_idle(const struct conn *c)
{
	return c->served && c->reading && !c->closing && !c->busy && !c->started &&
	       c->pending_len == 0 && c->queued == 0 && !c->stalled && !c->eof;
}

/*
 * All max_connections are taken and p asks for one more: close the
 * connection idle longest of the user holding the most, when they hold
 * more than p will (so no one loses a connection to a user holding
 * fewer). Returns 0 when one was closed, -1 when none may be.
 */
static int
conn_evict_for(struct peer *p)
{
	struct peer *q;
	struct conn *c, *victim = NULL;

	LIST_FOREACH(q, &peers, entry) {
		if (q->nconns <= p->nconns + 1)
			continue;
		LIST_FOREACH(c, &q->conns, peer_entry) {
			if (!conn_idle(c))
				continue;
			if (victim == NULL || q->nconns > victim->peer->nconns ||
			    (q->nconns == victim->peer->nconns &&
			     c->idle_since < victim->idle_since))
				victim = c;
		}
	}
	if (victim == NULL)
		return -1;
	log_info("idle connection of uid %u (of %zu) closed: all %d connections are taken and "
	         "uid %u (%zu) asks for one",
	         (unsigned)victim->peer->uid, victim->peer->nconns, limits.max_connections,
	         (unsigned)p->uid, p->nconns);
	conn_close(victim);
	return 0;
}

/*
 * A connection to metrics_listen: no peer identity (a TCP peer has none
 * wsd could trust), so it belongs to a pseudo-peer that no uid can be,
 * capped at HTTP_METRICS_MAX_CONNS; past that, closed at once. It never
 * takes the place of a user's connection.
 */
static void
conn_begin_metrics(struct conn *c)
{
	struct peer *p;

	if (nmetrics >= HTTP_METRICS_MAX_CONNS || nserved >= (size_t)limits.max_connections) {
		conn_close(c);
		return;
	}
	c->req.uid = (uid_t)-1;
	c->req.gid = (gid_t)-1;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	request_reset(c);
	c->peer = p = peer_get((uid_t)-1);
	c->idle_since = uv_now(loop);
	c->served = 1;
	p->nconns++;
	nserved++;
	nmetrics++;
	LIST_INSERT_HEAD(&p->conns, c, peer_entry);
	uv_timer_start(&c->timer, timeout_cb, (uint64_t)limits.request_timeout_ms, 0);
	conn_read(c, 1);
}

/*
 * A connection to web_listen: no identity until a request's session names
 * one. At most max_connections_per_user per client address, and all of
 * them within max_connections; past either, closed at once.
 */
static void
conn_begin_web(struct conn *c)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct ipcount *ip;
	struct peer *p;

	if (!c->tcp || uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sslen) != 0 ||
	    uv_ip_name((struct sockaddr *)&ss, c->addr, sizeof(c->addr)) != 0)
		snprintf(c->addr, sizeof(c->addr), "local");
	LIST_FOREACH(ip, &ipcounts, entry) {
		if (strcmp(ip->addr, c->addr) == 0)
			break;
	}
	if ((ip != NULL && ip->n >= (size_t)limits.max_connections_per_user) ||
	    nserved >= (size_t)limits.max_connections) {
		log_debug("web connection from %s closed: too many", c->addr);
		conn_close(c);
		return;
	}
	if (wtls != NULL && c->tcp) {
		BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());

		c->ssl = SSL_new(wtls);
		if (c->ssl == NULL || rb == NULL || wb == NULL) {
			BIO_free(rb);
			BIO_free(wb);
			conn_close(c);
			return;
		}
		SSL_set_bio(c->ssl, rb, wb);
		SSL_set_accept_state(c->ssl);
	}
	if (ip == NULL) {
		ip = xcalloc(1, sizeof(*ip));
		snprintf(ip->addr, sizeof(ip->addr), "%s", c->addr);
		LIST_INSERT_HEAD(&ipcounts, ip, entry);
	}
	ip->n++;
	c->ip = ip;
	c->req.uid = (uid_t)-1;
	c->req.gid = (gid_t)-1;
	c->req.web = 1;
	c->req.peer_addr = c->addr;
	c->req.cookie = "";
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	request_reset(c);
	c->peer = p = peer_get((uid_t)-2);
	c->idle_since = uv_now(loop);
	c->served = 1;
	p->nconns++;
	nserved++;
	LIST_INSERT_HEAD(&p->conns, c, peer_entry);
	uv_timer_start(&c->timer, timeout_cb, (uint64_t)limits.request_timeout_ms, 0);
	conn_read(c, 1);
}

/* Set up a connection on a connected pipe handle; takes ownership of c. */
static void
conn_begin(struct conn *c)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uv_os_fd_t fd;
	struct peer *p;

	if (c->metrics_only) {
		conn_begin_metrics(c);
		return;
	}
	if (c->web) {
		conn_begin_web(c);
		return;
	}
	if (uv_fileno(&c->h.handle, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
		conn_close(c);
		return;
	}
	c->req.uid = cred.uid;
	c->req.gid = cred.gid;
	c->req.pid = cred.pid;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	request_reset(c);
	c->peer = p = peer_get(cred.uid);
	c->idle_since = uv_now(loop);
	if (p->nconns >= (size_t)limits.max_connections_per_user) {
		if (!p->warned)
			log_warn(
			    "uid %u holds %zu connections, the most one user may hold; more are "
			    "refused",
			    (unsigned)cred.uid, p->nconns);
		p->warned = 1;
		/* The refusal names no one else and nothing of theirs. */
		conn_refuse(c, 429,
		            "you have %zu connections open to wsd, the most one user may "
		            "hold (max_connections_per_user); close some",
		            p->nconns);
		return;
	}
	if (nserved >= (size_t)limits.max_connections && conn_evict_for(p) == -1) {
		if (!p->warned)
			log_warn("connection from uid %u refused: all %zu connections are taken",
			         (unsigned)cred.uid, nserved);
		p->warned = 1;
		conn_refuse(c, 503, "wsd is serving its maximum of %d connections; try again later",
		            limits.max_connections);
		return;
	}
	c->served = 1;
	p->nconns++;
	nserved++;
	LIST_INSERT_HEAD(&p->conns, c, peer_entry);
	/* The first request within request_timeout of the accept. */
	uv_timer_start(&c->timer, timeout_cb, (uint64_t)limits.request_timeout_ms, 0);
	conn_read(c, 1);
}

enum { K_UNIX, K_METRICS, K_WEB };

static struct conn *
conn_new(int kind, int tcp)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->refs = 1;
	c->metrics_only = kind == K_METRICS;
	c->web = kind == K_WEB;
	c->tcp = tcp;
	if (tcp)
		uv_tcp_init(loop, &c->h.tcp);
	else
		uv_pipe_init(loop, &c->h.pipe, 0);
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->wtimer);
	c->h.handle.data = c->timer.data = c->wtimer.data = c;
	LIST_INSERT_HEAD(&conns, c, entry);
	nconns++;
	c->req.conn = c;
	return c;
}

static void
accept_cb(uv_stream_t *srv, int status)
{
	struct conn *c;

	if (status < 0)
		return;
	if (srv == (uv_stream_t *)&mserver)
		c = conn_new(K_METRICS, 1);
	else if (srv == (uv_stream_t *)&wserver)
		c = conn_new(K_WEB, 1);
	else
		c = conn_new(K_UNIX, 0);
	if (uv_accept(srv, &c->h.stream) != 0) {
		conn_close(c);
		return;
	}
	conn_begin(c);
}

int
http_adopt_web(int fd, http_handler *h, const char *headers)
{
	struct conn *c;

	whandler = h;
	wheaders = headers;
	c = conn_new(K_WEB, 0);
	if (uv_pipe_open(&c->h.pipe, fd) != 0) {
		conn_close(c);
		return -1;
	}
	conn_begin(c);
	return 0;
}

int
http_adopt(int fd)
{
	struct conn *c = conn_new(K_UNIX, 0);

	if (uv_pipe_open(&c->h.pipe, fd) != 0) {
		conn_close(c);
		return -1;
	}
	conn_begin(c);
	return 0;
}

static void
http_setup(uv_loop_t *l, const struct http_limits *lim, http_handler *h)
{
	loop = l;
	handler = h;
	limits = *lim;
	settings.on_message_begin = on_message_begin;
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
}

void
http_set_limits(const struct http_limits *lim)
{
	limits = *lim;
}

void
http_init(uv_loop_t *l, const struct http_limits *lim, http_handler *h)
{
	http_setup(l, lim, h);
}

int
http_listen(uv_loop_t *l, const char *path, const struct http_limits *lim, http_handler *h,
            char *err, size_t errlen)
{
	int r;

	http_setup(l, lim, h);

	/* A socket left by a killed wsd would make bind fail. */
	{
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	uv_pipe_init(loop, &server, 0);
	server_open = 1;
	if ((r = uv_pipe_bind(&server, path)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&server, 256, accept_cb)) != 0) {
		snprintf(err, errlen, "%s: %s", path, uv_strerror(r));
		return -1;
	}
	/* Everyone may connect; who they are is read from the socket. */
	chmod(path, 0666);
	return 0;
}

int
http_listen_metrics(const char *host, int port, http_handler *h, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int r;

	if (loop == NULL) {
		snprintf(err, errlen, "metrics_listen: the API socket is not set up");
		return -1;
	}
	mhandler = h;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		snprintf(err, errlen, "metrics_listen: %s is not an IP address", host);
		return -1;
	}
	uv_tcp_init(loop, &mserver);
	mserver_open = 1;
	if ((r = uv_tcp_bind(&mserver, (const struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&mserver, 64, accept_cb)) != 0) {
		snprintf(err, errlen, "metrics_listen %s port %d: %s", host, port, uv_strerror(r));
		return -1;
	}
	return 0;
}

int
http_web_tls(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long e;

	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: cannot set up OpenSSL");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "web_tls_cert %s: %s", cert, ERR_reason_error_string(e));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "web_tls_key %s: %s", key, ERR_reason_error_string(e));
		goto out;
	}
	wtls = ctx;
	return 0;
out:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return -1;
}

int
http_listen_web(const char *host, int port, http_handler *h, const char *headers, char *err,
                size_t errlen)
{
	struct sockaddr_storage ss;
	int r;

	if (loop == NULL) {
		snprintf(err, errlen, "web_listen: the API socket is not set up");
		return -1;
	}
	whandler = h;
	wheaders = headers;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		snprintf(err, errlen, "web_listen: %s is not an IP address", host);
		return -1;
	}
	uv_tcp_init(loop, &wserver);
	wserver_open = 1;
	if ((r = uv_tcp_bind(&wserver, (const struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&wserver, 128, accept_cb)) != 0) {
		snprintf(err, errlen, "web_listen %s port %d: %s", host, port, uv_strerror(r));
		return -1;
	}
	return 0;
}

void
http_shutdown(void)
{
	struct conn *c;

	shutting_down = 1; /* wsd closes these, not their clients: nobody is gone */
	while ((c = LIST_FIRST(&conns)) != NULL)
		conn_close(c);
	if (server_open) {
		uv_close((uv_handle_t *)&server, NULL);
		server_open = 0;
	}
	if (mserver_open) {
		uv_close((uv_handle_t *)&mserver, NULL);
		mserver_open = 0;
	}
	if (wserver_open) {
		uv_close((uv_handle_t *)&wserver, NULL);
		wserver_open = 0;
	}
	/* Each connection holds its own reference to the context. */
	SSL_CTX_free(wtls);
	wtls = NULL;
}

size_t
http_connections(void)
{
	return nconns;
}
