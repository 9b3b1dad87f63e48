/*
 * Admin endpoints (/v1/admin/...) and the caller's own quota (/v1/quota).
 *
 * Admins are root and the members of admin_group (decided for each request
 * by http.c and ident.c from the user and group databases). api.c refuses everyone else before any
 * handler here runs. These are thin handlers: the quota table and its
 * write-with-undo are quotas.c's, the queries store_ws.c's.
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "log.h"
#include "quota.h"
#include "quotas.h"
#include "size.h"
#include "store.h"
#include "store_ws.h"
#include "usage.h"
#include "workspace.h"
#include "wsjson.h"
#include "xmalloc.h"

/* A query parameter's value (no percent-decoding: values are plain words). */
static int
query_get(const struct request *req, const char *key, char *out, size_t len)
{
	const char *q = req->query;
	size_t klen = strlen(key);

	while (q != NULL && *q != '\0') {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);

		if (n > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
			size_t vlen = n - klen - 1;

			if (vlen >= len)
				return -1;
			memcpy(out, q + klen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/*
 * A point in time from "since": a date (2026-11-01), a UTC time
 * (2026-11-01T08:00:00Z), or a duration back from now (7d, 12h).
 */
static int
parse_since(const char *s, double *out)
{
	struct tm tm = {0};
	const char *end;
	int64_t secs;

	if (duration_parse(s, &secs) == 0) {
		*out = store_now() - (double)secs;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0')
		return -1;
	*out = (double)timegm(&tm);
	return 0;
}

static int
since_param(struct request *req, double def, double *since)
{
	char v[64];
	int r = query_get(req, "since", v, sizeof(v));

	*since = def;
	if (r == 0)
		return 0;
	if (r == -1 || parse_since(v, since) == -1) {
		http_reply_error(
		    req, 400, "invalid_value",
		    "since: not a date (2026-11-01), a UTC time (2026-11-01T08:00:00Z) "
		    "or a duration back from now (7d)");
		return -1;
	}
	return 0;
}

static void
iso(double t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- workspaces ---- */

void
admin_list_workspaces(struct request *req, route_arg *args)
{
	(void)args;
	wsjson_reply_list(req, NULL, 1);
}

struct workspace *
admin_find(const char *owner, const char *key)
{
	struct workspace *ws;

	WS_FOREACH(ws)
		if (strcmp(ws->owner, owner) == 0 &&
		    (strcmp(ws->name, key) == 0 || strcmp(ws->id, key) == 0))
			return ws;
	return NULL;
}

/* ---- quotas ---- */

static int
kind_arg(struct request *req, const char *s, enum quota_kind *k, const char *name)
{
	if (strcmp(s, "user") == 0)
		*k = QUOTA_USER;
	else if (strcmp(s, "group") == 0)
		*k = QUOTA_GROUP;
	else {
		http_reply_error(req, 404, "not_found", "quotas are set per user or per group");
		return -1;
	}
	if (!quota_valid_name(name)) {
		http_reply_error(req, 400, "invalid_value",
		                 "%s: not a %s name (1 to 32 of a-z, 0-9, '_', '-', '.')",
		                 *k == QUOTA_USER ? "user" : "group",
		                 *k == QUOTA_USER ? "user" : "group");
		return -1;
	}
	return 0;
}

static json_t *
entry_json(const struct quota_entry *e)
{
	return json_pack("{s:s, s:s, s:o}", "kind", quota_kind_name(e->kind), "name", e->name,
	                 "limits", quota_to_json(&e->q));
}

void
admin_list_quotas(struct request *req, route_arg *args)
{
	const struct quota_table *t = quotas_table();
	json_t *a = json_array();

	(void)args;
	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(a, entry_json(&t->e[i]));
	http_reply_json(
	    req, 200,
	    json_pack("{s:o, s:o}", "defaults", quota_to_json(quotas_default()), "entries", a));
}

/* Is a change to this entry still being saved? Then say so (409). */
static int
busy(struct request *req, enum quota_kind kind, const char *name)
{
	if (!quotas_busy(kind, name))
		return 0;
	http_reply_error(req, 409, "conflict",
	                 "another change to the quota of %s %s is being saved; try again",
	                 quota_kind_name(kind), name);
	return 1;
}

struct quota_reply {
	struct request *req;
	struct quota_entry e;
	int removing;
};

static void
quota_saved(void *arg, int ok, const char *why)
{
	struct quota_reply *qr = arg;

	if (!ok)
		http_reply_error(qr->req, 503, "state_unavailable",
		                 "the quota was not changed: wsd's state store failed (%s)", why);
	else if (qr->removing)
		http_reply_json(qr->req, 200,
		                json_pack("{s:s, s:s, s:b}", "kind", quota_kind_name(qr->e.kind),
		                          "name", qr->e.name, "removed", 1));
	else
		http_reply_json(qr->req, 200, entry_json(&qr->e));
	free(qr);
}

/* Apply, write, answer: quotas.c undoes it if the store says no. */
static void
quota_change(struct request *req, const struct quota_entry *e, int removing)
{
	struct quota_reply *qr = xcalloc(1, sizeof(*qr));

	qr->req = req;
	qr->e = *e;
	qr->removing = removing;
	quotas_change(e, removing, req->user[0] ? req->user : "?", (unsigned)req->uid, quota_saved,
	              qr);
}

void
admin_set_quota(struct request *req, route_arg *args)
{
	struct quota_entry *old, e = {0};
	struct api_error err;
	json_error_t jerr;
	json_t *body;

	if (kind_arg(req, args[0], &e.kind, args[1]) == -1)
		return;
	snprintf(e.name, sizeof(e.name), "%s", args[1]);
	if (busy(req, e.kind, e.name))
		return;
	body = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL) {
		http_reply_error(req, 400, "invalid_json", "request body is not valid JSON: %s",
		                 jerr.text);
		return;
	}
	old = quotas_find(e.kind, e.name);
	if (old != NULL)
		e.q = old->q;
	if (json_object_size(body) == 0 && json_is_object(body)) {
		json_decref(body);
		http_reply_error(req, 400, "missing_field",
		                 "name at least one limit: gpus, workspaces, memory, shm, cpus, "
		                 "lifetime, gpu_hours, idle_timeout, queued");
		return;
	}
	if (quota_apply_json(&e.q, body, &err) == -1) {
		json_decref(body);
		http_reply_error(req, err.status, err.code, "%s", err.message);
		return;
	}
	json_decref(body);
	quota_change(req, &e, 0);
}

void
admin_rm_quota(struct request *req, route_arg *args)
{
	struct quota_entry *old, e = {0};

	if (kind_arg(req, args[0], &e.kind, args[1]) == -1)
		return;
	snprintf(e.name, sizeof(e.name), "%s", args[1]);
	if (busy(req, e.kind, e.name))
		return;
	old = quotas_find(e.kind, e.name);
	if (old == NULL) {
		http_reply_error(req, 404, "not_found", "no quota is set for %s %s",
		                 quota_kind_name(e.kind), e.name);
		return;
	}
	quota_change(req, old, 1);
}

/*
 * The limits that apply to a user and what they hold: their groups come
 * from the group database, on a pool thread.
 */
struct quota_show {
	uv_work_t work;
	struct request *req;
	char user[UNIX_NAME_MAX + 1];
	struct ident id;
	int found; /* ident_lookup's answer */
	char why[256];
};

static void
show_work(uv_work_t *w)
{
	struct quota_show *s = w->data;

	s->found = ident_lookup(&s->id, 0, s->user, NULL, s->why, sizeof(s->why));
}

static json_t *
effective_json(const struct ws_who *who)
{
	struct quota q;
	struct quota_source src;
	struct quota_use use;
	json_t *from = json_object(), *groups = json_array();

	quotas_effective(who, &q, &src);
	ws_quota_use(who, &use);
	for (int l = 0; l < QL_N; l++)
		json_object_set_new(from, quota_limit_name((enum quota_limit)l),
		                    json_string(src.from[l]));
	for (size_t i = 0; i < who->ngroups; i++)
		json_array_append_new(groups, json_string(who->groups[i]));
	return json_pack("{s:s, s:i, s:o, s:o, s:o, s:{s:i, s:i, s:f, s:i}}", "user", who->user,
	                 "uid", (int)who->uid, "groups", groups, "limits", quota_to_json(&q),
	                 "from", from, "use", "gpus", use.gpus, "workspaces", use.workspaces,
	                 "gpu_hours", use.gpu_seconds / 3600.0, "queued", use.queued);
}

static void
show_done(uv_work_t *w, int status)
{
	struct quota_show *s = w->data;
	struct ws_who who = {s->id.uid, s->user, (const char(*)[UNIX_NAME_MAX + 1]) s->id.groups,
	                     s->id.ngroups};
	struct quota_entry *e = quotas_find(QUOTA_USER, s->user);
	json_t *o;

	if (status == 0 && s->found == -1) {
		/* Not shown with fewer groups than the user has: that could be wrong. */
		http_reply_error(s->req, 503, "identity_unavailable",
		                 "cannot read %s's entries in the user and group databases: %s",
		                 s->user, s->why);
		ident_free(&s->id);
		free(s);
		return;
	}
	if (status != 0 || s->found == 0) {
		if (e != NULL)
			http_reply_json(s->req, 200, json_pack("{s:o}", "entry", entry_json(e)));
		else
			http_reply_error(s->req, 404, "not_found",
			                 "no user %s in the user database, and no quota for it",
			                 s->user);
		ident_free(&s->id);
		free(s);
		return;
	}
	o = json_pack("{s:o}", "effective", effective_json(&who));
	json_object_set_new(o, "entry", e ? entry_json(e) : json_null());
	http_reply_json(s->req, 200, o);
	ident_free(&s->id);
	free(s);
}

void
admin_show_quota(struct request *req, route_arg *args)
{
	enum quota_kind k;
	struct quota_entry *e;
	struct quota_show *s;

	if (kind_arg(req, args[0], &k, args[1]) == -1)
		return;
	if (k == QUOTA_GROUP) {
		e = quotas_find(k, args[1]);
		if (e == NULL)
			http_reply_error(req, 404, "not_found", "no quota is set for group %s",
			                 args[1]);
		else
			http_reply_json(req, 200, json_pack("{s:o}", "entry", entry_json(e)));
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->req = req;
	snprintf(s->user, sizeof(s->user), "%s", args[1]);
	s->work.data = s;
	if (uv_queue_work(ws_context()->loop, &s->work, show_work, show_done) != 0) {
		free(s);
		http_reply_error(req, 500, "internal", "cannot queue work");
	}
}

/* GET /v1/quota: the caller's own limits and use (not admin-only). */
void
admin_my_quota(struct request *req, route_arg *args)
{
	struct ws_who who = {req->uid, req->user, (const char(*)[UNIX_NAME_MAX + 1]) req->groups,
	                     req->ngroups};

	(void)args;
	if (req->user[0] == '\0') {
		http_reply_error(req, 404, "not_found", "uid %u has no entry in the user database",
		                 (unsigned)req->uid);
		return;
	}
	http_reply_json(req, 200, effective_json(&who));
}

/* ---- usage and audit ---- */

struct query {
	struct request *req;
	double since, now;
};

static void
usage_read(void *arg, int ok, const char *why, json_t *rows)
{
	struct query *q = arg;
	char since[32], now[32];
	json_t *row, *out = json_array();
	size_t i;

	if (!ok) {
		json_decref(out);
		http_reply_error(q->req, 503, "state_unavailable", "cannot read usage: %s", why);
		free(q);
		return;
	}
	json_array_foreach(rows, i, row)
	{
		double gs = json_number_value(json_object_get(row, "gpu_seconds"));
		double wsec = json_number_value(json_object_get(row, "workspace_seconds"));

		json_array_append_new(out, json_pack("{s:O, s:O, s:f, s:f, s:f, s:O}", "user",
		                                     json_object_get(row, "owner"), "uid",
		                                     json_object_get(row, "uid"), "gpu_seconds", gs,
		                                     "gpu_hours", gs / 3600.0, "workspace_hours",
		                                     wsec / 3600.0, "workspaces",
		                                     json_object_get(row, "workspaces")));
	}
	iso(q->since, since, sizeof(since));
	iso(q->now, now, sizeof(now));
	http_reply_json(q->req, 200,
	                json_pack("{s:s, s:s, s:o}", "since", since, "until", now, "users", out));
	free(q);
}

void
admin_usage(struct request *req, route_arg *args)
{
	struct query *q;
	double since;

	(void)args;
	if (since_param(req, store_now() - 7 * 86400.0, &since) == -1)
		return;
	q = xcalloc(1, sizeof(*q));
	q->req = req;
	q->since = since;
	q->now = store_now();
	if (store_read_usage(q->since, q->now, usage_read, q) == -1) {
		free(q);
		http_reply_error(req, 503, "state_unavailable", "the store is not running");
	}
}

static void
audit_read(void *arg, int ok, const char *why, json_t *rows)
{
	struct query *q = arg;
	json_t *row, *out = json_array();
	size_t i;

	if (!ok) {
		json_decref(out);
		http_reply_error(q->req, 503, "state_unavailable", "cannot read the audit log: %s",
		                 why);
		free(q);
		return;
	}
	json_array_foreach(rows, i, row)
	{
		char at[32];

		iso(json_number_value(json_object_get(row, "at")), at, sizeof(at));
		json_object_set_new(row, "at", json_string(at));
		json_array_append(out, row);
	}
	http_reply_json(q->req, 200, json_pack("{s:o}", "events", out));
	free(q);
}

void
admin_audit(struct request *req, route_arg *args)
{
	struct query *q;
	double since;
	char v[16];
	long limit = 1000;

	(void)args;
	if (since_param(req, 0, &since) == -1)
		return;
	if (query_get(req, "limit", v, sizeof(v)) != 0) {
		char *end;

		limit = strtol(v, &end, 10);
		if (*end != '\0' || limit < 1 || limit > 100000) {
			http_reply_error(req, 400, "invalid_value", "limit: 1 to 100000");
			return;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->req = req;
	if (store_read_audit(since, limit, audit_read, q) == -1) {
		free(q);
		http_reply_error(req, 503, "state_unavailable", "the store is not running");
	}
}

/* ---- the caller's own GPU-hours per day (/v1/usage) ---- */

#define USAGE_MAX_DAYS 366

struct days_query {
	struct request *req;
	double day0;
	int ndays;
};

static void
days_read(void *arg, int ok, const char *why, json_t *rows)
{
	struct days_query *q = arg;
	double hours[USAGE_MAX_DAYS], total = 0;
	json_t *out;
	char day[32];

	if (!ok) {
		http_reply_error(q->req, 503, "state_unavailable", "cannot read usage: %s", why);
		free(q);
		return;
	}
	usage_days(rows, q->day0, q->ndays, hours);
	out = json_array();
	for (int i = 0; i < q->ndays; i++) {
		iso(q->day0 + 86400.0 * i, day, sizeof(day));
		day[10] = '\0';
		json_array_append_new(out,
		                      json_pack("{s:s, s:f}", "date", day, "gpu_hours", hours[i]));
		total += hours[i];
	}
	http_reply_json(q->req, 200, json_pack("{s:o, s:f}", "days", out, "gpu_hours", total));
	free(q);
}

/* GET /v1/usage?days=N: the caller's GPU-hours per UTC day, the last N days (28). */
void
admin_my_usage(struct request *req, route_arg *args)
{
	struct days_query *q;
	char v[16];
	long days = 28;
	double now = store_now();

	(void)args;
	if (query_get(req, "days", v, sizeof(v)) != 0) {
		char *end;

		days = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0' || days < 1 || days > USAGE_MAX_DAYS) {
			http_reply_error(req, 400, "invalid_value", "days: 1 to %d",
			                 USAGE_MAX_DAYS);
			return;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->req = req;
	q->ndays = (int)days;
	q->day0 = ((double)(int64_t)(now / 86400.0) - (double)(days - 1)) * 86400.0;
	if (store_read_usage_of((unsigned)req->uid, q->day0, now, days_read, q) == -1) {
		free(q);
		http_reply_error(req, 503, "state_unavailable", "the store is not running");
	}
}
