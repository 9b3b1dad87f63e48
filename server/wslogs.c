/*
 * A workspace's output for its owner and admins.
 *
 * A read is a session: an engine logs read (tail, and with follow the
 * output as it comes until the container stops) whose bytes go through
 * loglines.c (lines, the token filtered) and out as JSON lines
 * {"line": "..."}. Memory is bounded at both ends: past
 * WSLOGS_HIGH_WATER of replies the client has not taken, the engine's
 * transfer pauses (nothing more is read, so nothing piles up in wsd),
 * and resumes when the client has taken all of it; a client that takes
 * nothing within request_timeout is disconnected by http.c. A client that
 * goes ends the session: the engine read is cancelled.
 *
 * http.c tells us of a client gone or drained from inside its own calls,
 * so those events only set flags and arm one timer; the timer acts.
 *
 * A failed workspace's container is removed, so before that its last
 * WSLOGS_KEEP_LINES lines (at most WSLOGS_KEEP_BYTES, filtered) and the
 * reason it failed are kept: in memory, and in the store so that they
 * outlive a restart of wsd. They are read like a workspace's logs until a
 * start of the same name or for WSLOGS_KEEP_S; each user keeps at most
 * WSLOGS_KEEP_PER_USER of them (the oldest goes first).
 */
#include "wslogs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <jansson.h>

#include "engine.h"
#include "log.h"
#include "loglines.h"
#include "store.h"
#include "store_ws.h"
#include "valid.h"
#include "workspace.h"
#include "xmalloc.h"

#define KEEP_MAX 4096 /* kept logs of all users together */

struct kept {
	uid_t uid;
	char owner[UNIX_NAME_MAX + 1];
	char name[WS_NAME_MAX + 1];
	char id[13];
	double at;
	char *text; /* filtered lines, each ending in '\n' */
	TAILQ_ENTRY(kept) link;
};

struct sess {
	struct request *req;
	struct engine_logs *h; /* NULL once the engine read ended */
	struct loglines ll;
	char token[65];
	char ws_id[13];
	int tail;
	int paused;
	int gone;    /* the client went: end at the next sweep */
	int drained; /* the client took everything queued */
	LIST_ENTRY(sess) link;
};

static void sess_line(void *arg, const char *line, size_t len);

static uv_loop_t *loop;
static uv_timer_t sweeper;
static LIST_HEAD(, sess) sessions = LIST_HEAD_INITIALIZER(sessions);
static TAILQ_HEAD(kept_list_, kept) kepts = TAILQ_HEAD_INITIALIZER(kepts); /* oldest first */
static size_t nkept;

/* ---- kept logs of failed workspaces ---- */

static void
kept_free(struct kept *k)
{
	TAILQ_REMOVE(&kepts, k, link);
	nkept--;
	free(k->text);
	free(k);
}

static void
kept_drop(struct kept *k)
{
	store_failed_log_rm((unsigned)k->uid, k->name);
	kept_free(k);
}

/* Past WSLOGS_KEEP_S: gone (the oldest are first). */
static void
kept_expire(void)
{
	double limit = store_now() - WSLOGS_KEEP_S;
	struct kept *k;

	while ((k = TAILQ_FIRST(&kepts)) != NULL && k->at < limit)
		kept_drop(k);
}

static struct kept *
kept_find(uid_t uid, const char *owner, const char *key)
{
	struct kept *k;

	kept_expire();
	TAILQ_FOREACH(k, &kepts, link) {
		if ((owner != NULL ? strcmp(k->owner, owner) == 0 : k->uid == uid) &&
		    (strcmp(k->name, key) == 0 || strcmp(k->id, key) == 0))
			return k;
	}
	return NULL;
}

static struct kept *
kept_find_id(const char *id)
{
	struct kept *k;

	TAILQ_FOREACH(k, &kepts, link)
		if (strcmp(k->id, id) == 0)
			return k;
	return NULL;
}

/* Add (text is taken), replacing the name's earlier one; the bounds hold after. */
static void
kept_add(uid_t uid, const char *owner, const char *name, const char *id, double at, char *text)
{
	struct kept *k, *next;
	size_t mine = 0;

	for (k = TAILQ_LAST(&kepts, kept_list_); k != NULL; k = next) {
		next = TAILQ_PREV(k, kept_list_, link);
		if (k->uid != uid)
			continue;
		if (strcmp(k->name, name) == 0)
			kept_free(k); /* its row in the store is replaced already */
		else if (++mine >= WSLOGS_KEEP_PER_USER)
			kept_drop(k);
	}
	k = xcalloc(1, sizeof(*k));
	k->uid = uid;
	snprintf(k->owner, sizeof(k->owner), "%s", owner);
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->at = at;
	k->text = text;
	TAILQ_INSERT_TAIL(&kepts, k, link);
	nkept++;
	while (nkept > KEEP_MAX)
		kept_drop(TAILQ_FIRST(&kepts));
}

void
wslogs_forget(uid_t uid, const char *name)
{
	struct kept *k;

	TAILQ_FOREACH(k, &kepts, link) {
		if (k->uid == uid && strcmp(k->name, name) == 0) {
			kept_drop(k);
			return;
		}
	}
}

size_t
wslogs_kept_count(void)
{
	return nkept;
}

int
wslogs_load(char *err, size_t errlen)
{
	json_t *rows = NULL, *r;
	size_t i;

	if (store_load_failed_logs(store_now() - WSLOGS_KEEP_S, &rows, err, errlen) == -1)
		return -1;
	json_array_foreach(rows, i, r)
	{
		const char *owner = json_string_value(json_object_get(r, "owner"));
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *id = json_string_value(json_object_get(r, "workspace_id"));
		const char *text = json_string_value(json_object_get(r, "lines"));

		if (owner == NULL || name == NULL || id == NULL || text == NULL)
			continue;
		kept_add((uid_t)json_integer_value(json_object_get(r, "uid")), owner, name, id,
		         json_number_value(json_object_get(r, "at")), xstrdup(text));
	}
	json_decref(rows);
	return 0;
}

/* ---- keeping a failed workspace's last lines ---- */

struct keeping {
	struct workspace *ws;
	void (*done)(struct workspace *ws);
	struct engine_logs *h;
	struct loglines ll;
	char *buf;
	size_t len, cap;
};

static void
keep_line(void *arg, const char *line, size_t len)
{
	struct keeping *kp = arg;

	if (kp->len + len + 1 > kp->cap) {
		kp->cap = (kp->len + len + 1) * 2;
		kp->buf = xrealloc(kp->buf, kp->cap);
	}
	memcpy(kp->buf + kp->len, line, len);
	kp->buf[kp->len + len] = '\n';
	kp->len += len + 1;
}

static void
keep_data(void *arg, const char *data, size_t len)
{
	struct keeping *kp = arg;

	loglines_feed(&kp->ll, data, len, keep_line, kp);
}

/* Keep lines (filtered, each ending in '\n') and, last, why ws failed. */
static void
keep_save(const struct workspace *ws, const char *lines, size_t len)
{
	char why[600], *text;
	size_t n;

	snprintf(why, sizeof(why), "[wsd] the workspace failed: %s",
	         ws->error ? ws->error->message : "no reason recorded");
	n = logline_filter(why, strlen(why), sizeof(why), ws->token, 0);
	text = xmalloc(len + n + 2);
	memcpy(text, lines, len);
	memcpy(text + len, why, n);
	memcpy(text + len + n, "\n", 2);
	store_failed_log_put((unsigned)ws->uid, ws->owner, ws->name, ws->id, store_now(), text);
	kept_add(ws->uid, ws->owner, ws->name, ws->id, store_now(), text);
}

void
wslogs_keep_reason(const struct workspace *ws)
{
	keep_save(ws, "", 0);
}

static void
keep_done(void *arg, const struct engine_result *r)
{
	struct keeping *kp = arg;
	struct workspace *ws = kp->ws;
	size_t from = 0;

	loglines_flush(&kp->ll, keep_line, kp);
	if (r->status != ENGINE_OK)
		log_warn("workspace %s: its last lines cannot be read: %s", ws->id,
		         r->message ? r->message : "engine error");
	/* Its last WSLOGS_KEEP_BYTES, from a line's start, then why it failed. */
	if (kp->len > WSLOGS_KEEP_BYTES) {
		from = kp->len - WSLOGS_KEEP_BYTES;
		while (from < kp->len && kp->buf[from - 1] != '\n')
			from++;
	}
	keep_save(ws, kp->buf ? kp->buf + from : "", kp->len - from);
	free(kp->buf);
	if (!ws_shutting_down())
		kp->done(ws);
	ws_unref(ws);
	free(kp);
}

int
wslogs_keep(struct workspace *ws, void (*done)(struct workspace *ws))
{
	struct keeping *kp = xcalloc(1, sizeof(*kp));

	kp->ws = ws;
	kp->done = done;
	loglines_init(&kp->ll, ws->token);
	if (engine_logs(ws->container_id, WSLOGS_KEEP_LINES, 0, keep_data, keep_done, kp, &kp->h) ==
	    -1) {
		free(kp);
		return -1;
	}
	ws_ref(ws);
	return 0;
}

/* ---- reading: sessions ---- */

static void
sess_end(struct sess *s, const char *why)
{
	log_debug("workspace %s: a logs read ended: %s", s->ws_id, why);
	LIST_REMOVE(s, link);
	if (s->h != NULL)
		engine_logs_cancel(s->h); /* the engine's transfer ends here */
	explicit_bzero(s->token, sizeof(s->token));
	http_stream_end(s->req);
	free(s);
}

/* Events from http.c and the work they ask for, done here, on the loop. */
static void
sweep(uv_timer_t *t)
{
	struct sess *s, *next;

	(void)t;
	for (s = LIST_FIRST(&sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, link);
		if (s->gone) {
			sess_end(s, "the client went away");
		} else if (s->drained) {
			s->drained = 0;
			if (s->paused && s->h != NULL) {
				s->paused = 0;
				engine_logs_pause(s->h, 0);
			}
		}
	}
}

static void
sess_watch(void *arg, enum http_watch_event ev)
{
	struct sess *s = arg;

	if (ev == HTTP_GONE)
		s->gone = 1;
	else
		s->drained = 1;
	uv_timer_start(&sweeper, sweep, 0, 0);
}

static void
sess_line(void *arg, const char *line, size_t len)
{
	struct sess *s = arg;

	http_stream_line(s->req, json_pack("{s:s%}", "line", line, len));
}

static void
sess_data(void *arg, const char *data, size_t len)
{
	struct sess *s = arg;

	if (s->gone)
		return;
	loglines_feed(&s->ll, data, len, sess_line, s);
	if (!s->paused && http_queued(s->req) > WSLOGS_HIGH_WATER) {
		s->paused = 1;
		engine_logs_pause(s->h, 1);
	}
}

/* The last n lines of a kept text, each as a line of the reply. */
static void
kept_lines(struct request *req, const struct kept *k, int n)
{
	const char *p = k->text + strlen(k->text);

	while (p > k->text && n > 0) {
		p--;
		if (p > k->text && p[-1] == '\n')
			n--;
	}
	if (n > 0)
		p = k->text;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		http_stream_line(req, json_pack("{s:s%}", "line", p, len));
		p += len + (nl != NULL);
	}
}

static void
sess_done(void *arg, const struct engine_result *r)
{
	struct sess *s = arg;
	const struct kept *k;

	s->h = NULL;
	if (!s->gone) {
		loglines_flush(&s->ll, sess_line, s);
		if (r->status == ENGINE_GONE && (k = kept_find_id(s->ws_id)) != NULL)
			kept_lines(s->req, k, s->tail); /* it failed and was removed meanwhile */
		else if (r->status == ENGINE_UNREACHABLE || r->status == ENGINE_REFUSED)
			http_stream_line(
			    s->req, api_error_json("engine_unavailable",
			                           r->message ? r->message : "the engine failed"));
	}
	sess_end(s, s->gone ? "the client went away" : "the engine's output ended");
}

static void
serve(struct request *req, struct workspace *ws, const struct kept *k, int tail, int follow)
{
	struct sess *s;

	http_stream_start(req);
	if (ws == NULL || ws->container_id[0] == '\0') {
		/* Failed and removed: what was kept. Not made yet: nothing to say. */
		if (k != NULL)
			kept_lines(req, k, tail);
		http_stream_end(req);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->req = req;
	memcpy(s->token, ws->token, sizeof(s->token));
	snprintf(s->ws_id, sizeof(s->ws_id), "%s", ws->id);
	s->tail = tail;
	loglines_init(&s->ll, s->token);
	if (engine_logs(ws->container_id, tail, follow, sess_data, sess_done, s, &s->h) == -1) {
		http_stream_line(req, api_error_json("internal", "cannot start an engine call"));
		http_stream_end(req);
		free(s);
		return;
	}
	LIST_INSERT_HEAD(&sessions, s, link);
	log_debug("workspace %s: a logs read began (tail %d%s)", s->ws_id, tail,
	          follow ? ", follow" : "");
	http_stream_watch(req, sess_watch, s);
}

static int
params(struct request *req, int *tail, int *follow)
{
	char err[200];

	if (logs_query(req->query, tail, follow, err, sizeof(err)) == 0)
		return 0;
	http_reply_error(req, 400, "bad_request", "%s", err);
	return -1;
}

void
wslogs_get(struct request *req, route_arg *args)
{
	const char *key = args[0];
	struct workspace *ws;
	const struct kept *k;
	int tail, follow;

	if (params(req, &tail, &follow) == -1)
		return;
	ws = ws_find(req->uid, key);
	k = ws == NULL ? kept_find(req->uid, NULL, key) : NULL;
	/* Another user's workspace is "not found", as everywhere. */
	if (ws == NULL && k == NULL) {
		http_reply_error(req, 404, "not_found", "you have no workspace named %s",
		                 valid_ws_name(key) || strlen(key) == 12 ? key : "like that");
		return;
	}
	serve(req, ws, k, tail, follow);
}

void
wslogs_admin_get(struct request *req, route_arg *args)
{
	struct workspace *ws;
	const struct kept *k;
	int tail, follow;

	if (params(req, &tail, &follow) == -1)
		return;
	ws = admin_find(args[0], args[1]);
	k = ws == NULL ? kept_find(0, args[0], args[1]) : NULL;
	if (ws == NULL && k == NULL) {
		http_reply_error(req, 404, "not_found", "%s has no workspace named %s", args[0],
		                 args[1]);
		return;
	}
	log_info("logs of %s/%s read by admin %s", ws ? ws->owner : k->owner,
	         ws ? ws->name : k->name, req->user[0] ? req->user : "?");
	serve(req, ws, k, tail, follow);
}

void
wslogs_init(uv_loop_t *l)
{
	loop = l;
	uv_timer_init(loop, &sweeper);
	uv_unref((uv_handle_t *)&sweeper);
}

void
wslogs_shutdown(void)
{
	struct kept *k;

	while ((k = TAILQ_FIRST(&kepts)) != NULL)
		kept_free(k);
}
