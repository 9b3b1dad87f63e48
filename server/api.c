/*
 * The API routes. A route is a method, a path pattern (a pattern ending in "*"
 * matches one segment) and a handler. Requests that wait on a workspace
 * (start, stop, wait) subscribe a waiter that answers when the workspace
 * reaches its next final state; the workspace goes on if the client hangs
 * up, except a start with "wait": true, whose client's Ctrl-C cancels it
 * and leaves nothing.
 */
#include "api.h"

#include "admin.h"
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "config.h"
#include "engine.h"
#include "gpu.h"
#include "log.h"
#include "nodes.h"
#include "metrics.h"
#include "spec.h"
#include "queue.h"
#include "quotas.h"
#include "size.h"
#include "store.h"
#include "store_ws.h"
#include "wslogs.h"
#include "valid.h"
#include "web.h"
#include "workspace.h"
#include "wsjson.h"
#include "xmalloc.h"

int api_engine_ready;

#define ROUTE_ARGS 2

struct route {
	int method;
	const char *pattern;
	void (*fn)(struct request *req, route_arg *args);
	int admin; /* root and admin_group only */
};

/* A client waiting on a workspace. */
struct wait {
	struct ws_waiter w;
	struct request *req;
	int stream;
	int stopping; /* waiting for a stop, not a start */
	struct workspace *ws;
};

/* Why it failed (a workspace that says FAILED always has a reason). */
static const struct api_error *
ws_error(const struct workspace *ws)
{
	static const struct api_error none = {500, "internal", "failed for no recorded reason"};

	return ws->error ? ws->error : &none;
}

static struct workspace *lookup(struct request *req, const char *arg);

static void
wait_cb(struct ws_waiter *w, struct workspace *ws, enum ws_event ev)
{
	struct wait *wt = (struct wait *)w;
	const struct api_error *e = ws_error(ws);

	if (ev == WS_EV_PROGRESS) {
		json_t *p;

		if (!wt->stream)
			return;
		p = json_pack("{s:s}", "phase", ws_state_name(ws->state));
		if (ws->state == WS_QUEUED) {
			json_object_set_new(p, "position", json_integer(ws->queue_pos));
			json_object_set_new(p, "gpus", json_integer(ws->want_gpus));
			json_object_set_new(p, "estimated_start",
			                    ws->queue_eta >= 0 ? json_real(ws->queue_eta)
			                                       : json_null());
		}
		if (ws->state == WS_PENDING) {
			int ahead;
			double eta;

			boot_position(&ws->boot, &ahead, &eta);
			json_object_set_new(p, "ahead", json_integer(ahead));
			json_object_set_new(p, "eta_s", eta >= 0 ? json_real(eta) : json_null());
		}
		http_stream_line(wt->req, json_pack("{s:o}", "progress", p));
		return;
	}
	if (ev == WS_EV_STOPPED && !wt->stopping && ws_shutting_down()) {
		/* It goes on (running, or queued on record): the client may come back. */
		if (wt->stream) {
			http_stream_line(
			    wt->req, api_error_json("wsd_restarting",
			                            "wsd is shutting down; the workspace is kept"));
			http_stream_end(wt->req);
		} else {
			http_reply_error(wt->req, 503, "wsd_restarting",
			                 "wsd is shutting down; the workspace is kept");
		}
	} else if (wt->stream) {
		if (ev == WS_EV_READY)
			http_stream_line(wt->req,
			                 json_pack("{s:o}", "workspace", wsjson(ws, wt->req->uid)));
		else if (ev == WS_EV_FAILED)
			http_stream_line(wt->req, api_error_json(e->code, e->message));
		else
			http_stream_line(
			    wt->req,
			    api_error_json("stopped", "the workspace was stopped while starting"));
		http_stream_end(wt->req);
	} else if (ev == WS_EV_FAILED) {
		http_reply_json(wt->req, e->status, api_error_json(e->code, e->message));
	} else if (wt->stopping && ev == WS_EV_STOPPED) {
		http_reply_json(wt->req, 200, wsjson(ws, wt->req->uid));
	} else if (ev == WS_EV_READY) {
		http_reply_json(wt->req, 201, wsjson(ws, wt->req->uid));
	} else {
		http_reply_error(wt->req, 409, "stopped",
		                 "the workspace was stopped while starting");
	}
	ws_unref(ws);
	free(wt);
}

static struct wait *
subscribe(struct request *req, struct workspace *ws, int stream, int stopping)
{
	struct wait *wt = xcalloc(1, sizeof(*wt));

	wt->w.cb = wait_cb;
	wt->req = req;
	wt->stream = stream;
	wt->stopping = stopping;
	wt->ws = ws;
	ws_ref(ws);
	ws_wait(ws, &wt->w);
	return wt;
}

/* A --wait client hung up before its workspace was ready: nothing is left behind. */
static void
wait_gone(struct request *req, void *arg)
{
	struct wait *wt = arg;
	struct workspace *ws = wt->ws;

	(void)req;
	if (ws->state >= WS_READY || ws->stop_requested)
		return;
	log_info("workspace %s (%s/%s): its waiting client left; cancelled", ws->id, ws->owner,
	         ws->name);
	ws_stop_by(ws, ws->owner, (unsigned)ws->uid, "cancel");
}

static void
get_info(struct request *req, route_arg *args)
{
	const struct ws_ctx *ctx = ws_context();
	json_t *ts = json_array();

	(void)args;
	for (size_t i = 0; i < ctx->cfg->ntemplates; i++) {
		const struct template *t = ctx->cfg->templates[i];

		json_array_append_new(
		    ts, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "name", t->name,
		                  "image", t->image, "description", t->description, "memory",
		                  (json_int_t)t->memory, "memory_max", (json_int_t)t->memory_max,
		                  "shm", (json_int_t)t->shm, "shm_max", (json_int_t)t->shm_max,
		                  "cpus", t->cpus, "cpus_max", t->cpus_max));
	}
	/*
	 * What wsctl ssh-config needs: the host to jump through (null when
	 * workspace ports are reached directly), the address that host reaches
	 * them at, and the port Jupyter listens on inside a workspace.
	 */
	http_reply_json(req, 200,
	                json_pack("{s:s, s:{s:i}, s:o, s:s, s:s, s:b, s:s, s:s?, s:s, s:b, s:i}",
	                          "version", WSLAB_VERSION, "user", "uid", (int)req->uid,
	                          "templates", ts, "default_template", ctx->cfg->default_template,
	                          "public_host", ctx->public_host, "engine_ready", api_engine_ready,
	                          "engine_api", engine_api_version(), "ssh_jump_host",
	                          ctx->jump_host[0] != '\0' ? ctx->jump_host : NULL,
	                          "workspace_address", ctx->probe_host, "ports_local",
	                          ctx->ports_local, "jupyter_inner_port", SPEC_JUPYTER_PORT));
}

static int
owned_by(const struct workspace *ws, uid_t uid)
{
	return ws->uid == uid;
}

static void
list_workspaces(struct request *req, route_arg *args)
{
	(void)args;
	wsjson_reply_list(req, owned_by, 0);
}

static void
start_workspace(struct request *req, route_arg *args)
{
	const struct ws_ctx *ctx = ws_context();
	struct start_req sr;
	struct api_error err;
	struct workspace *ws;
	struct ws_who who;
	struct wait *wt;

	(void)args;
	if (valid_start_request(ctx->cfg, ctx->host_cpus, req->body ? req->body : "", req->body_len,
	                        &sr, &err) == -1) {
		http_reply_json(req, err.status, api_error_json(err.code, err.message));
		return;
	}
	if (req->uid == 0) {
		start_req_free(&sr);
		http_reply_error(req, 403, "forbidden",
		                 "root cannot own a workspace; run wsctl as the user");
		return;
	}
	if (!api_engine_ready) {
		start_req_free(&sr);
		http_reply_error(req, 503, "engine_unavailable",
		                 "the container engine is not reachable; try again later");
		return;
	}
	who.uid = req->uid;
	who.user = req->user;
	_Static_assert(sizeof(req->groups[0]) == sizeof(who.groups[0]),
	               "http's group names and ws_who's must be the same arrays");
	who.groups = req->groups;
	who.ngroups = req->ngroups;
	ws = ws_start(&sr, &who, &err);
	start_req_free(&sr);
	if (ws == NULL) {
		http_reply_json(req, err.status, api_error_json(err.code, err.message));
		return;
	}
	if (ws->state == WS_QUEUED && sr.queue) {
		/* Queued; the caller comes back with wait, ls or stop. */
		http_reply_json(req, 202, wsjson(ws, req->uid));
		ws_unref(ws);
		return;
	}
	if (req->want_stream) {
		json_t *p = json_pack("{s:s, s:s, s:s}", "phase", ws_state_name(ws->state), "id",
		                      ws->id, "name", ws->name);

		if (ws->state == WS_QUEUED) {
			json_object_set_new(p, "position", json_integer(ws->queue_pos));
			json_object_set_new(p, "gpus", json_integer(ws->want_gpus));
			json_object_set_new(p, "estimated_start",
			                    ws->queue_eta >= 0 ? json_real(ws->queue_eta)
			                                       : json_null());
		}
		http_stream_start(req);
		http_stream_line(req, json_pack("{s:o}", "progress", p));
	}
	wt = subscribe(req, ws, req->want_stream, 0);
	if (sr.wait) {
		req->gone = wait_gone;
		req->gone_arg = wt;
	}
	ws_unref(ws);
}

/*
 * Wait until a queued or starting workspace is ready (wsctl wait, and a
 * --wait client that lost a restarted wsd); a ready one answers at once.
 */
static void
wait_workspace(struct request *req, route_arg *args)
{
	struct workspace *ws = lookup(req, args[0]);

	if (ws == NULL)
		return;
	if (ws->state == WS_READY) {
		if (req->want_stream) {
			http_stream_start(req);
			http_stream_line(req,
			                 json_pack("{s:o}", "workspace", wsjson(ws, req->uid)));
			http_stream_end(req);
		} else {
			http_reply_json(req, 200, wsjson(ws, req->uid));
		}
		return;
	}
	if (ws->state >= WS_STOPPING) {
		http_reply_error(req, 409, "stopped", "%s is stopping", ws->name);
		return;
	}
	if (req->want_stream) {
		http_stream_start(req);
		wait_cb(&subscribe(req, ws, 1, 0)->w, ws, WS_EV_PROGRESS);
		return;
	}
	subscribe(req, ws, 0, 0);
}

static void
list_queue(struct request *req, route_arg *args)
{
	(void)args;
	http_reply_json(req, 200, queue_json(req->uid, 0));
}

static void
admin_list_queue(struct request *req, route_arg *args)
{
	(void)args;
	http_reply_json(req, 200, queue_json(req->uid, 1));
}

static struct workspace *
lookup(struct request *req, const char *arg)
{
	struct workspace *ws = ws_find(req->uid, arg);

	/* Another user's workspace is "not found": its existence is not ours to tell. */
	if (ws == NULL)
		http_reply_error(req, 404, "not_found", "you have no workspace named %s",
		                 valid_ws_name(arg) || strlen(arg) == 12 ? arg : "like that");
	return ws;
}

static void
show_workspace(struct request *req, route_arg *args)
{
	struct workspace *ws = lookup(req, args[0]);

	if (ws != NULL)
		http_reply_json(req, 200, wsjson(ws, req->uid));
}

static void
stop_workspace(struct request *req, route_arg *args)
{
	struct workspace *ws = lookup(req, args[0]);

	if (ws == NULL)
		return;
	log_info("workspace %s (%s/%s) stop requested by uid %u", ws->id, ws->owner, ws->name,
	         (unsigned)req->uid);
	subscribe(req, ws, 0, 1);
	ws_stop_by(ws, ws->owner, (unsigned)req->uid, "stop");
}

/* A start waits in the queue for GPUs. */
static int
gpus_wanted(void)
{
	struct workspace *w;

	WS_FOREACH(w) {
		if (w->state == WS_QUEUED && w->want_gpus > 0)
			return 1;
	}
	return 0;
}

struct extend {
	struct request *req;
	struct workspace *ws;
	int64_t by;
};

static void
extend_saved(void *arg, int ok, const char *why, json_t *rows)
{
	struct extend *x = arg;
	struct workspace *ws = x->ws;
	char target[80], detail[96];

	(void)rows;
	snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
	if (!ok) {
		/* Undone: the record and the workspace say the same again. */
		ws->expires_at -= x->by;
		ws->extended -= x->by;
		log_err("workspace %s: extension not saved: %s", ws->id, why ? why : "store");
		http_reply_error(x->req, 503, "store_unavailable",
		                 "the extension could not be saved; try again later");
	} else {
		snprintf(detail, sizeof(detail), "by %llds to %lld (%llds extended in all)",
		         (long long)x->by, (long long)ws->expires_at, (long long)ws->extended);
		log_info("workspace %s (%s) extended %s", ws->id, target, detail);
		store_audit(x->req->user[0] ? x->req->user : "?", (unsigned)x->req->uid, "extend",
		            target, "ok", detail);
		http_reply_json(x->req, 200, wsjson(ws, x->req->uid));
		queue_changed(); /* estimates read expires_at */
	}
	ws_unref(ws);
	free(x);
}

/*
 * Move a ready workspace's lifetime deadline by "by", within the owner's
 * extension quota (the total per workspace). Refused while a start waits
 * in the GPU queue and this workspace holds GPUs: the time is theirs.
 */
static void
extend_workspace(struct request *req, route_arg *args)
{
	struct workspace *ws = lookup(req, args[0]);
	struct ws_who who = {req->uid, req->user, req->groups, req->ngroups};
	struct api_error err;
	struct quota q;
	struct extend *x;
	char target[80], limit[32], used[32], asked[32];
	int64_t by;

	if (ws == NULL)
		return;
	snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
	if (valid_extend_request(req->body ? req->body : "", req->body_len, &by, &err) == -1) {
		http_reply_json(req, err.status, api_error_json(err.code, err.message));
		return;
	}
	if (ws->state != WS_READY || ws->stop_requested) {
		http_reply_error(req, 409, "not_ready",
		                 "%s is %s; only a ready workspace is extended", ws->name,
		                 ws->stop_requested ? "stopping" : ws_state_name(ws->state));
		return;
	}
	if (ws->expires_at == 0) {
		http_reply_error(req, 409, "no_lifetime",
		                 "%s has no lifetime limit: there is nothing to extend", ws->name);
		return;
	}
	quotas_effective(&who, &q, NULL);
	if (q.v[QL_EXTENSION] >= 0 && (double)(ws->extended + by) > q.v[QL_EXTENSION]) {
		duration_format((int64_t)q.v[QL_EXTENSION], limit, sizeof(limit));
		duration_format(ws->extended, used, sizeof(used));
		duration_format(by, asked, sizeof(asked));
		audit_refusal(req->user, (unsigned)req->uid, "extend", target, "refused",
		              "extension quota");
		http_reply_error(req, 409, "quota_exceeded",
		                 "extension quota: a workspace may be extended by %s in all; %s "
		                 "has %s already, %s more would pass it",
		                 limit, ws->name, used, asked);
		return;
	}
	if (ws->ngpus > 0 && gpus_wanted()) {
		audit_refusal(req->user, (unsigned)req->uid, "extend", target, "refused",
		              "others wait for GPUs");
		http_reply_error(req, 409, "gpus_wanted",
		                 "others are waiting in the queue for GPUs; %s keeps its GPUs only "
		                 "until its lifetime ends (wsctl queue shows the queue)",
		                 ws->name);
		return;
	}
	/* In memory first (the next request builds on it), undone if the write fails. */
	ws->expires_at += by;
	ws->extended += by;
	x = xcalloc(1, sizeof(*x));
	x->req = req;
	x->ws = ws;
	x->by = by;
	ws_ref(ws);
	if (store_ws_extend(ws->id, ws->expires_at, ws->extended, extend_saved, x) == -1)
		extend_saved(x, 0, "the store is not running", NULL);
}

static void
admin_stop_workspace(struct request *req, route_arg *args)
{
	struct workspace *ws = admin_find(args[0], args[1]);

	if (ws == NULL) {
		http_reply_error(req, 404, "not_found", "%s has no workspace named %s", args[0],
		                 args[1]);
		return;
	}
	log_info("workspace %s (%s/%s) stop requested by admin %s", ws->id, ws->owner, ws->name,
	         req->user);
	subscribe(req, ws, 0, 1);
	ws_stop_by(ws, req->user[0] ? req->user : "?", (unsigned)req->uid, "admin_stop");
}

/*
 * Every GPU with its model, memory and utilisation, and who holds it: the
 * holder's name for admins and for the holder, "busy" for everyone else.
 */
static void
list_gpus(struct request *req, route_arg *args)
{
	const struct gpu_inventory *inv = gpu_inventory();
	json_t *a = json_array();

	(void)args;
	for (size_t i = 0; i < inv->n; i++) {
		const struct gpu *g = &inv->gpus[i];
		json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:i}", "index", g->index,
		                      "uuid", g->uuid, "name", g->name, "pci_bus_id", g->pci_bus_id,
		                      "memory_total", (json_int_t)g->mem_total, "memory_used",
		                      (json_int_t)g->mem_used, "utilization", (int)g->util);
		struct workspace *ws = g->holder[0] ? ws_find_id(g->holder) : NULL;

		if (strcmp(inv->source, "swarm") == 0 && (size_t)g->node < nodes_table()->count)
			json_object_set_new(o, "node",
			                    json_string(nodes_table()->n[g->node].hostname));
		if (g->holder[0] == '\0') {
			/* Free, but its server takes no new workspaces (down, drained). */
			json_object_set_new(o, "state",
			                    json_string(g->unusable ? "unavailable" : "free"));
		} else if (ws != NULL && (req->admin || ws->uid == req->uid)) {
			json_object_set_new(o, "state", json_string("held"));
			json_object_set_new(o, "owner", json_string(ws->owner));
			json_object_set_new(o, "workspace", json_string(ws->name));
			json_object_set_new(o, "workspace_id", json_string(ws->id));
		} else {
			json_object_set_new(o, "state", json_string("busy"));
		}
		json_array_append_new(a, o);
	}
	http_reply_json(req, 200,
	                json_pack("{s:o, s:s, s:s, s:i}", "gpus", a, "source", inv->source, "mode",
	                          ws_context()->gpu_mode, "free", gpu_free_count(inv)));
}

/*
 * The gauges that are a picture of now (workspaces, GPUs) are taken at
 * each scrape; GPU series are rebuilt, since a GPU's holder changes.
 */
static void
metrics_collect(void)
{
	const struct gpu_inventory *inv = gpu_inventory();
	struct workspace *ws;
	int count[WS_STOPPED] = {0};
	size_t held = 0;

	WS_FOREACH(ws) {
		if (ws->state < WS_STOPPED)
			count[ws->state]++;
	}
	for (int i = 0; i < WS_STOPPED; i++)
		metric_set(metric_at(m_workspaces, ws_state_name((enum ws_state)i)), count[i]);
	ws_usage_metrics();
	metric_clear(m_gpu_util);
	metric_clear(m_gpu_mem_used);
	metric_clear(m_gpu_mem_total);
	for (size_t i = 0; i < inv->n; i++) {
		const struct gpu *g = &inv->gpus[i];

		held += g->holder[0] != '\0';
		metric_set(metric_at(m_gpu_util, g->uuid, g->holder), g->util / 100.0);
		metric_set(metric_at(m_gpu_mem_used, g->uuid, g->holder), (double)g->mem_used);
		metric_set(metric_at(m_gpu_mem_total, g->uuid), (double)g->mem_total);
	}
	metric_set(metric_at(m_gpus, "free"), (double)(inv->n - held));
	metric_set(metric_at(m_gpus, "held"), (double)held);
}

void
api_metrics(struct request *req)
{
	size_t len;
	char *text;

	metrics_collect();
	text = metric_render(metrics, &len);
	http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void
get_metrics(struct request *req, route_arg *args)
{
	(void)args;
	api_metrics(req);
}

static const struct route routes[] = {
    {HTTP_GET, "/metrics", get_metrics, 1},
    {HTTP_GET, "/v1/gpus", list_gpus, 0},
    {HTTP_GET, "/v1/info", get_info, 0},
    {HTTP_GET, "/v1/quota", admin_my_quota, 0},
    {HTTP_GET, "/v1/usage", admin_my_usage, 0},
    {HTTP_POST, "/v1/web/link", web_link, 0},
    {HTTP_GET, "/v1/workspaces", list_workspaces, 0},
    {HTTP_POST, "/v1/workspaces", start_workspace, 0},
    {HTTP_GET, "/v1/workspaces/*", show_workspace, 0},
    {HTTP_DELETE, "/v1/workspaces/*", stop_workspace, 0},
    {HTTP_GET, "/v1/workspaces/*/logs", wslogs_get, 0},
    {HTTP_GET, "/v1/workspaces/*/wait", wait_workspace, 0},
    {HTTP_POST, "/v1/workspaces/*/extend", extend_workspace, 0},
    {HTTP_GET, "/v1/queue", list_queue, 0},
    {HTTP_GET, "/v1/admin/queue", admin_list_queue, 1},
    {HTTP_GET, "/v1/admin/nodes", admin_list_nodes, 1},
    {HTTP_DELETE, "/v1/admin/nodes/*", admin_rm_node, 1},
    {HTTP_POST, "/v1/admin/nodes/*/drain", admin_drain_node, 1},
    {HTTP_DELETE, "/v1/admin/nodes/*/drain", admin_undrain_node, 1},
    {HTTP_GET, "/v1/admin/workspaces", admin_list_workspaces, 1},
    {HTTP_DELETE, "/v1/admin/workspaces/*/*", admin_stop_workspace, 1},
    {HTTP_GET, "/v1/admin/workspaces/*/*/logs", wslogs_admin_get, 1},
    {HTTP_GET, "/v1/admin/quotas", admin_list_quotas, 1},
    {HTTP_GET, "/v1/admin/quotas/*/*", admin_show_quota, 1},
    {HTTP_PUT, "/v1/admin/quotas/*/*", admin_set_quota, 1},
    {HTTP_DELETE, "/v1/admin/quotas/*/*", admin_rm_quota, 1},
    {HTTP_GET, "/v1/admin/usage", admin_usage, 1},
    {HTTP_GET, "/v1/admin/audit", admin_audit, 1},
};

/*
 * Match path against pattern segment by segment; each "*" captures one
 * non-empty segment into args. Returns 1 on a match, -1 when it would
 * match but a captured segment is too long.
 */
static int
match(const char *pattern, const char *path, route_arg *args)
{
	int n = 0, toolong = 0;

	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '*') {
			size_t len = strcspn(path, "/");

			if (len == 0 || n == ROUTE_ARGS)
				return 0;
			if (len >= sizeof(args[0]))
				toolong = 1;
			else
				snprintf(args[n], sizeof(args[0]), "%.*s", (int)len, path);
			n++;
			path += len;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*pattern != '\0' || *path != '\0')
		return 0;
	return toolong ? -1 : 1;
}

void
api_handle(struct request *req)
{
	route_arg args[ROUTE_ARGS] = {""};
	int path_known = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		int m = match(routes[i].pattern, req->path, args);

		if (m == 0)
			continue;
		path_known = 1;
		if (routes[i].method != req->method)
			continue;
		req->route = routes[i].pattern;
		if (routes[i].admin && !req->admin) {
			/* Refused before the body or the arguments are looked at. */
			audit_refusal(req->user[0] ? req->user : "?", (unsigned)req->uid, "admin",
			              routes[i].pattern, "denied", "not an admin");
			http_reply_error(req, 403, "forbidden",
			                 "%s is for admins (root and members of the admin group)",
			                 req->path);
			return;
		}
		if (m == -1) {
			http_reply_error(req, 404, "not_found", "no such workspace");
			return;
		}
		routes[i].fn(req, args);
		return;
	}
	if (path_known)
		http_reply_error(req, 405, "method_not_allowed", "%s is not allowed on %s",
		                 http_method_str((enum http_method)req->method), req->path);
	else
		http_reply_error(req, 404, "not_found", "no such endpoint");
}
