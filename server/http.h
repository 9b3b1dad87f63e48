/*
 * The HTTP side of wsd: a unix-socket listener, one parser per connection
 * (Debian's libhttp-parser), strict limits, and replies as JSON documents
 * or as a stream of JSON lines. Identity comes from SO_PEERCRED at accept
 * (the uid) and from the system's databases for each request (name,
 * groups, admin rights), never from anything the client sends.
 */
#ifndef WSD_HTTP_H
#define WSD_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "types.h"

#define HTTP_MAX_HEADER (16 * 1024)
#define HTTP_MAX_BODY (64 * 1024)
/* Memory of replies a client has not taken, past which its requests wait. */
#define HTTP_MAX_QUEUED (256 * 1024)
/*
 * Who asks (name, groups, admin rights) is looked up per request; a lookup
 * serves the uid's requests complete within this long after it started.
 */
#define HTTP_IDENT_TTL_MS 1000

struct conn;

struct request {
	struct conn *conn;
	int method; /* enum http_method */
	char *path; /* percent-decoded path, without the query */
	char *query;
	char *body;
	size_t body_len;
	int want_stream;   /* Accept: application/x-ndjson */
	const char *route; /* the route pattern it matched (for metrics), or NULL */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* Looked up for this request (HTTP_IDENT_TTL_MS), valid until its reply. */
	char user[UNIX_NAME_MAX + 1]; /* from the user database; "" when uid has no entry */
	int admin;                    /* root, or a member of admin_group */
	/* The user's groups by name (primary first), for group quotas; all of them. */
	const char (*groups)[UNIX_NAME_MAX + 1];
	size_t ngroups;
	/*
	 * Set by a handler that must know: called once, on the loop, when the
	 * client closes its connection (or its sending side) before the reply
	 * is complete; not when wsd closes it (http_shutdown). The request
	 * stays the handler's to answer.
	 */
	void (*gone)(struct request *req, void *arg);
	void *gone_arg;
	/* The web listener's requests (web.c): no identity until a session names one. */
	int web;
	const char *cookie;    /* their Cookie header(s), "" when none */
	const char *peer_addr; /* their client's IP address */
	int tls;               /* and whether it came over TLS */
	/*
	 * Set by web.c before it hands the request to api_handle: the API
	 * handler's reply (status, JSON text taken by fn, to be zeroed and
	 * freed) goes to fn instead of the client, and the request stays
	 * web.c's to answer. Cleared before fn is called.
	 */
	void (*capture)(struct request *req, int status, char *text, size_t len);
	void *capture_arg;
};

/*
 * Called for each complete request. The handler owns the request until it
 * calls one of the http_reply functions or http_stream_end; it may do so
 * later, from another callback. Replies to a client that went away are
 * dropped silently.
 */
typedef void http_handler(struct request *req);

struct http_limits {
	int max_connections;
	int max_connections_per_user;
	int max_requests_per_user; /* with a handler at once */
	int request_timeout_ms;
	int keepalive_timeout_ms; /* idle between requests */
	const char *admin_group;
};

int http_listen(uv_loop_t *loop, const char *path, const struct http_limits *lim,
                http_handler *handler, char *err, size_t errlen);
/*
 * Serve an already connected socket as if accepted (for the fuzzer and
 * tests): identity from SO_PEERCRED as usual. Returns 0 or -1.
 */
int http_adopt(int fd);
/*
 * New limits (a reload): they apply to connections and requests from now
 * on; lim->admin_group must live until the next call.
 */
void http_set_limits(const struct http_limits *lim);
/*
 * Also listen on TCP host:port (an IP address) for GET /metrics alone:
 * handler gets only those requests; anything else is answered 404 here.
 * No identity, at most HTTP_METRICS_MAX_CONNS connections. Call after
 * http_listen. Returns 0 or -1 with err.
 */
#define HTTP_METRICS_MAX_CONNS 16
int http_listen_metrics(const char *host, int port, http_handler *handler, char *err,
                        size_t errlen);

/*
 * Also listen on TCP host:port for the web page (web.c): handler gets
 * every complete request, with no identity (uid -1), the client's
 * Cookie header and address; each reply also carries `headers` (CRLF
 * lines, kept by the caller). An address holds at most
 * max_connections_per_user of these connections (there is no uid before
 * a login); past that, a new one is closed at once. The same parser,
 * limits and timeouts as the socket. Call after http_listen.
 */
int http_listen_web(const char *host, int port, http_handler *handler, const char *headers,
                    char *err, size_t errlen);
/*
 * TLS for web_listen from a PEM certificate chain and key; call before
 * http_listen_web. Returns 0, or -1 with err naming the file and why.
 */
int http_web_tls(const char *cert, const char *key, char *err, size_t errlen);
/* Serve an already connected socket as a web connection (for the fuzzer). */
int http_adopt_web(int fd, http_handler *handler, const char *headers);
/*
 * A web request whose session names uid: look up who that is (name,
 * groups, admin rights, as for the socket, with the uid's limits on
 * requests) and call then(req) with them filled in, or answer 503 when
 * the databases cannot say.
 */
void http_identify(struct request *req, uid_t uid, http_handler *then);
/* A web reply with extra header lines (CRLF-terminated; may be NULL); body is taken. */
void http_reply_web(struct request *req, int status, const char *type, const char *headers,
                    char *body, size_t len);

/* Set up without a listener (for http_adopt alone). */
void http_init(uv_loop_t *loop, const struct http_limits *lim, http_handler *handler);

/* Call cb whenever a connection has been closed and freed. */
void http_on_closed(void (*cb)(void));

/* Stop accepting and close every connection. */
void http_shutdown(void);
/* Open connections, for the tests of descriptor leaks. */
size_t http_connections(void);

/* Reply with a JSON document (body is stolen; NULL for an empty body). */
void http_reply_json(struct request *req, int status, json_t *body);
/*
 * Reply with JSON already written as text, ending with a newline. text (from
 * malloc) is taken: zeroed and freed once written, never copied.
 */
void http_reply_owned(struct request *req, int status, char *text, size_t len);
/* The same with another Content-Type (text is taken likewise). */
void http_reply_text(struct request *req, int status, const char *type, char *text, size_t len);
void http_reply_error(struct request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Start a 200 reply of JSON lines, send one line (obj is stolen), end it. */
void http_stream_start(struct request *req);
void http_stream_line(struct request *req, json_t *obj);
void http_stream_end(struct request *req);

enum http_watch_event {
	HTTP_GONE,    /* the client hung up or sent its end of input: it wants no more */
	HTTP_DRAINED, /* every reply queued so far is written */
};

/*
 * Watch an open stream for as long as it lasts (until http_stream_end):
 * fn learns when the client has gone and when what was queued is written.
 * fn may run inside any http_ call: it must only note the event and act
 * later, from the loop.
 */
void http_stream_watch(struct request *req, void (*fn)(void *arg, enum http_watch_event ev),
                       void *arg);
/* Bytes of replies queued to the client and not yet written. */
size_t http_queued(const struct request *req);

#endif
