/*
 * The queue at run time: queued workspaces in the registry, their rows in
 * the store, and the plan (queue_plan.c) applied on the loop. See
 * queue.h for when it runs and queue_plan.h for the policy.
 *
 * A plan is cheap (a few dozen queued starts at most: quota_queued limits
 * each user), so it is made again from scratch every time something
 * changes, and every few seconds for aging and estimates.
 */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "gpu.h"
#include "idle.h"
#include "log.h"
#include "queue_plan.h"
#include "quotas.h"
#include "store.h"
#include "store_ws.h"
#include "workspace.h"
#include "xmalloc.h"

#define QUEUE_TICK_MS 5000 /* aging and estimates move with time */

static uv_timer_t tick;
static int64_t next_seq = 1;
static size_t nloaded;
static int planning, again;

static void queue_plan_now(void);

static void
queue_tick(uv_timer_t *t)
{
	(void)t;
	queue_changed();
}

void
queue_init(uv_loop_t *loop)
{
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, queue_tick, QUEUE_TICK_MS, QUEUE_TICK_MS);
	uv_unref((uv_handle_t *)&tick);
}

void
queue_shutdown(void)
{
	uv_timer_stop(&tick);
}

/* ---- the store ---- */

/* What a queued start needs to start later, as the store keeps it. */
static json_t *
queue_request_json(const struct workspace *ws)
{
	json_t *keys = json_array(), *mounts = json_array();

	for (size_t i = 0; i < ws->nkeys; i++)
		json_array_append_new(keys, json_string(ws->keys[i]));
	for (size_t i = 0; i < ws->nmounts; i++)
		json_array_append_new(
		    mounts, json_pack("{s:s, s:s, s:b}", "source", ws->mounts[i].source, "target",
		                      ws->mounts[i].target, "read_only", ws->mounts[i].read_only));
	return json_pack("{s:s, s:I, s:I, s:f, s:b, s:b, s:b, s:i, s:o, s:o}", "template",
	                 ws->tmpl->name, "memory", (json_int_t)ws->memory, "shm",
	                 (json_int_t)ws->shm, "cpus", ws->cpus, "memory_given", ws->memory_given,
	                 "shm_given", ws->shm_given, "cpus_given", ws->cpus_given, "gpus",
	                 ws->want_gpus, "ssh_keys", keys, "mounts", mounts);
}

void
queue_add(struct workspace *ws)
{
	json_t *groups = json_array(), *r;
	char *rtext, *gtext;

	ws->queued_at = store_now();
	ws->queue_seq = next_seq++;
	ws->queue_eta = -1;
	ws->created_at = (int64_t)ws->queued_at;
	for (size_t i = 0; i < ws->ngroups; i++)
		json_array_append_new(groups, json_string(ws->groups[i]));
	r = queue_request_json(ws);
	rtext = json_dumps(r, JSON_COMPACT);
	gtext = json_dumps(groups, JSON_COMPACT);
	store_queue_add(ws->id, ws->queue_seq, ws->name, ws->owner, (unsigned)ws->uid,
	                ws->queued_at, ws->queue_wait, gtext ? gtext : "[]", rtext ? rtext : "{}");
	store_audit(ws->owner, (unsigned)ws->uid, "queue", ws->name, "accepted", ws->id);
	log_info("workspace %s (%s/%s) queued for %d GPUs%s", ws->id, ws->owner, ws->name,
	         ws->want_gpus, ws->queue_wait ? " (a client waits)" : "");
	free(rtext);
	free(gtext);
	json_decref(r);
	json_decref(groups);
	/* The row is queued to the store ahead of any dispatch's, so it is never left behind. */
	queue_changed();
}

/* One row back into a queued workspace; NULL (and why) when it cannot be. */
static struct workspace *
queue_row(json_t *row, char *why, size_t whylen)
{
	const struct ws_ctx *ctx = ws_context();
	json_t *r = NULL, *g = NULL, *v;
	const char *id = json_string_value(json_object_get(row, "id"));
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *owner = json_string_value(json_object_get(row, "owner"));
	const struct template *t;
	struct workspace *ws = NULL;
	size_t i;

	r = json_loads(json_string_value(json_object_get(row, "request")) ?: "", 0, NULL);
	g = json_loads(json_string_value(json_object_get(row, "groups")) ?: "", 0, NULL);
	if (id == NULL || strlen(id) != 12 || name == NULL || owner == NULL ||
	    strlen(name) > WS_NAME_MAX || strlen(owner) > UNIX_NAME_MAX || !json_is_object(r) ||
	    !json_is_array(g)) {
		snprintf(why, whylen, "a malformed row");
		goto out;
	}
	t = config_template(ctx->cfg, json_string_value(json_object_get(r, "template")) ?: "");
	if (t == NULL) {
		snprintf(why, whylen, "its template is no longer offered");
		goto out;
	}
	ws = ws_new();
	memcpy(ws->id, id, 13);
	snprintf(ws->name, sizeof(ws->name), "%s", name);
	snprintf(ws->owner, sizeof(ws->owner), "%s", owner);
	ws->uid = (uid_t)json_integer_value(json_object_get(row, "uid"));
	ws->state = WS_QUEUED;
	ws->tmpl = config_template_ref(t);
	ws->image = xstrdup(t->image);
	ws->memory = json_integer_value(json_object_get(r, "memory"));
	ws->shm = json_integer_value(json_object_get(r, "shm"));
	ws->cpus = json_number_value(json_object_get(r, "cpus"));
	ws->memory_given = json_is_true(json_object_get(r, "memory_given"));
	ws->shm_given = json_is_true(json_object_get(r, "shm_given"));
	ws->cpus_given = json_is_true(json_object_get(r, "cpus_given"));
	ws->want_gpus = (int)json_integer_value(json_object_get(r, "gpus"));
	ws->queued_at = json_number_value(json_object_get(row, "queued_at"));
	ws->created_at = (int64_t)ws->queued_at;
	ws->queue_seq = json_integer_value(json_object_get(row, "seq"));
	ws->queue_wait = (int)json_integer_value(json_object_get(row, "wait"));
	ws->queue_eta = -1;
	json_array_foreach(json_object_get(r, "ssh_keys"), i,
	                   v) if (ws->nkeys < WS_KEYS_MAX && json_is_string(v))
	    ws->keys[ws->nkeys++] = xstrdup(json_string_value(v));
	json_array_foreach(json_object_get(r, "mounts"), i, v)
	{
		const char *s = json_string_value(json_object_get(v, "source"));
		const char *d = json_string_value(json_object_get(v, "target"));

		if (ws->nmounts == WS_MOUNTS_MAX || s == NULL || d == NULL)
			continue;
		ws->mounts[ws->nmounts].source = xstrdup(s);
		ws->mounts[ws->nmounts].target = xstrdup(d);
		ws->mounts[ws->nmounts++].read_only = json_is_true(json_object_get(v, "read_only"));
	}
	if (json_array_size(g) > 0) {
		ws->groups = xcalloc(json_array_size(g), sizeof(ws->groups[0]));
		json_array_foreach(g, i, v)
		    snprintf(ws->groups[ws->ngroups++], sizeof(ws->groups[0]), "%s",
		             json_string_value(v) ?: "");
	}
out:
	json_decref(r);
	json_decref(g);
	return ws;
}

int
queue_load(char *err, size_t errlen)
{
	json_t *rows = NULL, *row;
	size_t i;

	if (store_load_queue(&rows, err, errlen) == -1)
		return -1;
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "id")) ?: "?";
		int64_t seq = json_integer_value(json_object_get(row, "seq"));
		char why[128];
		struct workspace *ws = queue_row(row, why, sizeof(why));

		if (seq >= next_seq)
			next_seq = seq + 1;
		if (ws == NULL) {
			log_warn("queued start %s dropped: %s", id, why);
			store_query_sync("DELETE FROM queue WHERE id = ?", json_pack("[s]", id),
			                 NULL, why, sizeof(why));
			continue;
		}
		ws_requeue(ws);
		nloaded++;
	}
	json_decref(rows);
	/* Places now; starts only after the first reconcile (api_engine_ready). */
	queue_changed();
	return 0;
}

size_t
queue_loaded_count(void)
{
	return nloaded;
}

/* ---- the plan ---- */

struct plan {
	struct queue_item *items;
	size_t n;
	struct queue_release *rel;
	size_t nrel;
	int nfree;
	double now;
};

static double
queue_lifetime(const struct workspace *ws)
{
	struct ws_who who = {ws->uid, ws->owner, (const char(*)[UNIX_NAME_MAX + 1]) ws->groups,
	                     ws->ngroups};
	struct quota q;

	quotas_effective(&who, &q, NULL);
	return q.v[QL_LIFETIME];
}

/* What the plan needs: queued starts (in any order), holders' ends, free GPUs. */
static void
plan_gather(struct plan *p)
{
	struct workspace *ws;
	size_t n = 0, nh = 0;

	memset(p, 0, sizeof(*p));
	p->now = store_now();
	p->nfree = gpu_free_count(gpu_inventory());
	WS_FOREACH(ws) {
		if (ws->state == WS_QUEUED)
			n++;
		else if (ws->ngpus > 0)
			nh++;
	}
	p->items = xcalloc(n + 1, sizeof(*p->items));
	p->rel = xcalloc(nh + 1, sizeof(*p->rel));
	WS_FOREACH(ws) {
		if (ws->state == WS_QUEUED) {
			struct queue_item *it = &p->items[p->n++];
			struct ws_who who = {ws->uid, ws->owner,
			                     (const char(*)[UNIX_NAME_MAX + 1]) ws->groups,
			                     ws->ngroups};
			struct quota_use use;
			struct api_error err;

			ws_quota_use(&who, &use);
			it->ngpus = ws->want_gpus;
			it->gpu_seconds = use.gpu_seconds;
			it->queued_at = ws->queued_at;
			it->seq = ws->queue_seq;
			it->lifetime = queue_lifetime(ws);
			it->eligible = ws_queued_quota(ws, &err) == 0;
			it->reserved = ws->queue_reserved && it->eligible;
			it->ref = ws;
		} else if (ws->ngpus > 0) {
			/*
			 * A stopping one frees its GPUs in moments; otherwise at the
			 * earlier of its expiry and its idle reclaim (if it stays idle).
			 */
			double idle_at = idle_workspace_reclaim_at(ws),
			       end = (double)ws->expires_at;

			if (idle_at > 0 && (end <= 0 || idle_at < end))
				end = idle_at;
			if (ws->state == WS_STOPPING)
				p->rel[p->nrel++] = (struct queue_release){p->now, ws->ngpus};
			else if (end > 0)
				p->rel[p->nrel++] = (struct queue_release){end, ws->ngpus};
		}
	}
	queue_plan_order(p->items, p->n, p->now, (double)ws_context()->cfg->queue_max_wait);
}

static void
plan_free(struct plan *p)
{
	free(p->items);
	free(p->rel);
}

int
queue_would_start(int ngpus, double lifetime)
{
	struct plan p;
	int go;

	plan_gather(&p);
	/* The newcomer goes behind everyone queued: nobody is overtaken. */
	p.items[p.n] = (struct queue_item){.ngpus = ngpus,
	                                   .lifetime = lifetime,
	                                   .eligible = 1,
	                                   .seq = INT64_MAX,
	                                   .queued_at = p.now};
	queue_plan_dispatch(p.items, p.n + 1, p.nfree, p.rel, p.nrel, p.now);
	go = p.items[p.n].go;
	plan_free(&p);
	return go;
}

void
queue_refusal(int ngpus, struct api_error *err)
{
	const struct gpu_inventory *inv = gpu_inventory();
	struct workspace *ws;
	int nq = 0, nfree = gpu_free_count(inv);

	WS_FOREACH(ws)
		if (ws->state == WS_QUEUED)
			nq++;
	if (nq > 0 && ngpus <= nfree)
		api_error_set(err, 409, "no_gpus",
		              "%d GPUs asked for; %d of %zu are free but kept for %d queued "
		              "start%s; nothing was created (--wait waits your turn, --queue "
		              "queues the start and returns)",
		              ngpus, nfree, inv->n, nq, nq == 1 ? "" : "s");
	else
		api_error_set(err, 409, "no_gpus",
		              "%d GPUs asked for, but only %d of %zu are free now%s; nothing was "
		              "created (--wait waits for them, --queue queues the start and "
		              "returns)",
		              ngpus, nfree, inv->n, nq > 0 ? " and others are queued" : "");
}

/* Start what can start; the rest learn their place and estimate. */
static void
queue_plan_now(void)
{
	struct plan p;
	int started = 0;

	plan_gather(&p);
	if (p.n == 0) {
		plan_free(&p);
		return;
	}
	/* Not before the first reconcile: only then are the holders known. */
	if (queue_plan_dispatch(p.items, p.n, p.nfree, p.rel, p.nrel, p.now) > 0 &&
	    api_engine_ready && !ws_shutting_down()) {
		for (size_t i = 0; i < p.n; i++) {
			struct workspace *ws = p.items[i].ref;

			if (p.items[i].go && ws->state == WS_QUEUED) {
				ws->queue_reserved = 0;
				ws_dispatch(ws);
				started++;
			}
		}
	}
	if (started > 0) {
		/* Places moved: plan again for the rest (nothing more can go). */
		plan_free(&p);
		plan_gather(&p);
		queue_plan_dispatch(p.items, p.n, p.nfree, p.rel, p.nrel, p.now);
	}
	queue_plan_estimate(p.items, p.n, p.nfree, p.rel, p.nrel, p.now);
	for (size_t i = 0, pos = 0; i < p.n; i++) {
		struct workspace *ws = p.items[i].ref;
		int moved;

		if (ws->state != WS_QUEUED)
			continue;
		ws->queue_reserved = p.items[i].head;
		moved = ws->queue_pos != (int)++pos;
		ws->queue_pos = (int)pos;
		ws->queue_eta = p.items[i].estimate;
		if (moved)
			ws_progress(ws);
	}
	plan_free(&p);
}

void
queue_changed(void)
{
	/* A dispatch that fails cancels a queued start, which calls here again. */
	if (planning) {
		again = 1;
		return;
	}
	planning = 1;
	do {
		again = 0;
		queue_plan_now();
	} while (again);
	planning = 0;
}

/* ---- what users see ---- */

json_t *
queue_json(uid_t viewer, int admin)
{
	struct workspace *ws;
	json_t *a = json_array();
	int n = 0;

	WS_FOREACH(ws)
		if (ws->state == WS_QUEUED)
			n++;
	for (int pos = 1; pos <= n; pos++) {
		WS_FOREACH(ws) {
			json_t *o;

			if (ws->state != WS_QUEUED || ws->queue_pos != pos)
				continue;
			o = json_pack("{s:i, s:i, s:f, s:o, s:b}", "position", pos, "gpus",
			              ws->want_gpus, "queued_at", ws->queued_at, "estimated_start",
			              ws->queue_eta >= 0 ? json_real(ws->queue_eta) : json_null(),
			              "mine", ws->uid == viewer);
			if (admin || ws->uid == viewer) {
				json_object_set_new(o, "name", json_string(ws->name));
				json_object_set_new(o, "id", json_string(ws->id));
			}
			if (admin)
				json_object_set_new(o, "owner", json_string(ws->owner));
			json_array_append_new(a, o);
		}
	}
	return json_pack("{s:o, s:i, s:i}", "queue", a, "free_gpus",
	                 gpu_free_count(gpu_inventory()), "gpus", (int)gpu_inventory()->n);
}
