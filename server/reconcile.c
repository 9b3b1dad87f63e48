/*
 * Reconcile and adoption. The engine is the truth for what runs, the
 * store for what was decided: a running object on record is adopted with
 * its lifetime and open usage; a running one not on record is adopted
 * and audited; anything else of ours is removed; a record without a
 * running object is released (its usage closed) and audited. What a
 * restarted wsd trusts on adoption is in docs/design.md.
 */
#include "reconcile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gpu.h"
#include "log.h"
#include "nodes.h"
#include "memtrim.h"
#include "ports.h"
#include "store.h"
#include "store_ws.h"
#include "workspace.h"
#include "wsfs.h"
#include "xmalloc.h"

#define ORPHAN_TRIES 30
#define ORPHAN_RETRY_MS 1000

/* Workspaces the store knew at start-up, until the first reconcile. */
struct known {
	char id[13];
	char container_id[65];
	double expires_at, usage_start;
	double extended; /* wsctl extend: the record's deadline wins over the label */
	double idle_since, idle_warned_at; /* 0: none on record */
	int64_t ready_at;                  /* 0: never ready */
	int matched;
};

static struct known *known;
static size_t nknown;
static int first_reconcile = 1;
static void (*reconcile_done)(int, int, const char *);
static int n_adopted, n_removed;

int
reconcile_load(char *err, size_t errlen)
{
	json_t *rows = NULL, *row;
	size_t i;

	if (store_load_workspaces(&rows, err, errlen) == -1)
		return -1;
	known = xcalloc(json_array_size(rows) + 1, sizeof(*known));
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "id"));

		if (id == NULL || strlen(id) != 12)
			continue;
		memcpy(known[nknown].id, id, 13);
		known[nknown].expires_at = json_number_value(json_object_get(row, "expires_at"));
		known[nknown].extended = json_number_value(json_object_get(row, "extended"));
		known[nknown].usage_start = json_number_value(json_object_get(row, "usage_start"));
		known[nknown].idle_since = json_number_value(json_object_get(row, "idle_since"));
		known[nknown].idle_warned_at =
		    json_number_value(json_object_get(row, "idle_warned_at"));
		known[nknown].ready_at =
		    (int64_t)json_number_value(json_object_get(row, "ready_at"));
		snprintf(known[nknown].container_id, sizeof(known[nknown].container_id), "%s",
		         json_string_value(json_object_get(row, "container_id")) ?: "");
		nknown++;
	}
	json_decref(rows);
	return 0;
}

size_t
reconcile_known_count(void)
{
	return nknown;
}

void
reconcile_shutdown(void)
{
	free(known);
	known = NULL;
	nknown = 0;
}

/* ---- orphans ---- */

/*
 * An engine object no workspace owns. Its removal is retried until the
 * engine agrees: a container caught half-started (wsd died during its
 * start) may refuse the first attempt.
 */
struct orphan {
	uv_timer_t timer;
	char ref[65];
	int tries;
};

static void reconcile_orphan_try(struct orphan *o);

static void
reconcile_orphan_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
reconcile_orphan_retry(uv_timer_t *t)
{
	reconcile_orphan_try(t->data);
}

static void
reconcile_orphan_removed(void *arg, const struct engine_result *r)
{
	struct orphan *o = arg;
	int ok = r->status == ENGINE_OK;

	if (ok || ws_shutting_down() || ++o->tries >= ORPHAN_TRIES) {
		if (!ok)
			log_err("container %.12s: not removed (%s); the next reconcile tries again",
			        o->ref, r->message ? r->message : "?");
		uv_close((uv_handle_t *)&o->timer, reconcile_orphan_closed);
		return;
	}
	log_warn("container %.12s: removal failed (%s); retrying", o->ref,
	         r->message ? r->message : "?");
	uv_timer_start(&o->timer, reconcile_orphan_retry, ORPHAN_RETRY_MS, 0);
}

static void
reconcile_orphan_try(struct orphan *o)
{
	if (engine_remove(o->ref, NULL, NULL, NULL, reconcile_orphan_removed, o) == -1) {
		struct engine_result r = {.status = ENGINE_UNREACHABLE,
		                          .message = "cannot start an engine call"};

		reconcile_orphan_removed(o, &r);
	}
}

static void
reconcile_remove_orphan(const char *ref, const char *why)
{
	struct orphan *o = xcalloc(1, sizeof(*o));

	log_warn("removing container %.12s: %s", ref, why);
	n_removed++;
	snprintf(o->ref, sizeof(o->ref), "%s", ref);
	uv_timer_init(ws_context()->loop, &o->timer);
	o->timer.data = o;
	reconcile_orphan_try(o);
}

/* ---- adoption ---- */

/* Hold an adopted workspace's GPUs again; -1 when one is held already. */
static int
reconcile_adopt_gpus(struct workspace *ws, const char *uuids)
{
	struct gpu_inventory *inv = gpu_inventory();
	char *copy, *save = NULL, *tok;

	if (uuids == NULL || uuids[0] == '\0')
		return 0;
	copy = xstrdup(uuids);
	for (tok = strtok_r(copy, ",", &save); tok && ws->ngpus < GPU_MAX;
	     tok = strtok_r(NULL, ",", &save)) {
		int p = gpu_lookup(inv, tok);

		if (p < 0) {
			log_warn("workspace %s: GPU %s is no longer in the inventory", ws->id, tok);
			continue;
		}
		if (inv->gpus[p].holder[0] != '\0') {
			gpu_release(inv, ws->id);
			ws->ngpus = 0;
			free(copy);
			return -1;
		}
		ws->gpu_pos[ws->ngpus++] = p;
		gpu_hold(inv, &p, 1, ws->id);
	}
	free(copy);
	return 0;
}

/* The mounts it was started with, as its label says (shown, not rebound). */
static void
reconcile_adopt_mounts(struct workspace *ws, const char *label)
{
	json_t *a = label ? json_loads(label, 0, NULL) : NULL, *m;
	size_t i;

	json_array_foreach(a, i, m)
	{
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *dst = json_string_value(json_object_get(m, "target"));
		struct mount_req *r;

		if (ws->nmounts == WS_MOUNTS_MAX || src == NULL || dst == NULL)
			break;
		r = &ws->mounts[ws->nmounts];
		r->source = xstrdup(src);
		r->target = xstrdup(dst);
		r->read_only = json_is_true(json_object_get(m, "read_only"));
		ws->nmounts++;
	}
	json_decref(a);
}

/* What the store says of it, when it is on record. */
static void
reconcile_match_record(struct workspace *ws, const char *ref)
{
	for (size_t k = 0; k < nknown; k++) {
		if (strcmp(known[k].id, ws->id) != 0)
			continue;
		known[k].matched = 1;
		/* The record's deadline: an extension moved it, the label cannot change. */
		if (known[k].expires_at > 0)
			ws->expires_at = (int64_t)known[k].expires_at;
		ws->extended = (int64_t)known[k].extended;
		ws->usage_start = known[k].usage_start;
		/* The idle clock goes on from where it was: a restart gives no fresh hour. */
		ws->idle_since = ws->idle_stored = known[k].idle_since;
		ws->idle_warned_at = known[k].idle_warned_at;
		ws->recorded = 1;
		/* Ready on record, and the same container ran all along. */
		if (known[k].ready_at > 0 && strcmp(known[k].container_id, ref) == 0)
			ws->ready_at = known[k].ready_at;
	}
}

/* Adopt one listed object, or remove it. */
static void
reconcile_adopt(const struct engine_ws *c)
{
	const struct ws_labels *l = &c->labels;
	const struct config *cfg = ws_context()->cfg;
	const struct template *t = l->tmpl ? config_template(cfg, l->tmpl) : NULL;
	struct workspace *ws;
	char dir[512], path[600];

	if (c->ref == NULL)
		return;
	if (l->id != NULL && (ws = ws_find_id(l->id)) != NULL) {
		ws->seen = 1; /* already ours: a second reconcile */
		return;
	}
	if (l->id == NULL || l->name == NULL || l->owner == NULL || l->uid == NULL ||
	    l->tmpl == NULL || strlen(l->tmpl) > 64 || strlen(l->id) != 12 ||
	    !valid_ws_name(l->name) || strlen(l->owner) > UNIX_NAME_MAX) {
		reconcile_remove_orphan(c->ref, "wslab labels incomplete");
		return;
	}
	if (!c->running) {
		reconcile_remove_orphan(c->ref, "not running");
		return;
	}
	ws = ws_new();
	snprintf(ws->id, sizeof(ws->id), "%s", l->id);
	ws_dir(ws->id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/jupyter_token", dir);
	if (wsfs_read(path, ws->token, sizeof(ws->token)) == -1) {
		ws_free_unregistered(ws);
		reconcile_remove_orphan(c->ref, "its workspace directory is gone");
		return;
	}
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key.pub", dir);
	wsfs_read(path, ws->host_key_pub, sizeof(ws->host_key_pub));
	snprintf(ws->name, sizeof(ws->name), "%s", l->name);
	snprintf(ws->owner, sizeof(ws->owner), "%s", l->owner);
	snprintf(ws->container_id, sizeof(ws->container_id), "%s", c->ref);
	if (c->node_id != NULL)
		ws->node = nodes_find(nodes_table(), c->node_id);
	ws->uid = (uid_t)strtoul(l->uid, NULL, 10);
	if (t != NULL) {
		ws->tmpl = config_template_ref(t);
	} else {
		/* Its template was dropped from the file: the workspace runs on as it is. */
		ws->tmpl =
		    config_template_detached(l->tmpl, c->image ? c->image : "?", l->url_path);
		log_warn("workspace %s (%s/%s): template %s is no longer configured; adopted as it "
		         "runs",
		         l->id, l->owner, l->name, l->tmpl);
	}
	t = ws->tmpl;
	ws->image = xstrdup(c->image ? c->image : t->image);
	ws->created_at = l->created;
	ws->memory = l->memory ? l->memory : t->memory;
	ws->shm = l->shm ? l->shm : t->shm;
	ws->cpus = (double)(l->nanocpus ? l->nanocpus : (int64_t)(t->cpus * 1e9)) / 1e9;
	if (c->jupyter_port > 0)
		ws->jupyter_port = ports_take(c->jupyter_port);
	if (c->ssh_port > 0)
		ws->ssh_port = ports_take(c->ssh_port);
	if (reconcile_adopt_gpus(ws, l->gpus) == -1) {
		ports_free(ws->jupyter_port);
		ports_free(ws->ssh_port);
		ws_free_unregistered(ws);
		reconcile_remove_orphan(c->ref, "one of its GPUs is held by another workspace");
		return;
	}
	ws->expires_at = l->expires;
	ws->gpu_hours = l->gpu_hours;
	ws->idle_timeout = l->idle_timeout;
	reconcile_adopt_mounts(ws, l->mounts);
	reconcile_match_record(ws, c->ref);
	if (!ws->recorded) {
		/* Running and labelled ours, but not on record: adopted, and said so. */
		log_warn("workspace %s (%s/%s): container %.12s was not on record; adopted", ws->id,
		         ws->owner, ws->name, c->ref);
		store_audit("wsd", 0, "adopt", ws->name, "ok", "a running container not on record");
	}
	n_adopted++;
	ws_adopt(ws);
}

/* ---- leftover directories ---- */

struct sweep {
	uv_work_t work;
	char state_dir[512];
	char shared_dir[512];  /* workspace directories there when set (swarm mode) */
	struct timespec taken; /* when the list below was taken */
	size_t n;
	struct {
		char id[13];
		char staged; /* its container is not started yet: its staging stays */
	} ws[];
};

/*
 * Remove with rm() every entry of state_dir/SUB that belongs to no listed
 * workspace (with staging: to none whose container is still to start).
 * Entries made since the list was taken belong to starts that began
 * meanwhile and are left alone.
 */
static void
reconcile_sweep_sub(const struct sweep *sw, const char *sub, int (*rm)(const char *), int staging)
{
	char base[600], path[900];
	struct dirent *e;
	struct stat st;
	DIR *d;

	snprintf(base, sizeof(base), "%s/%s",
	         strcmp(sub, "workspaces") == 0 && sw->shared_dir[0] ? sw->shared_dir
	                                                             : sw->state_dir,
	         sub);
	d = opendir(base);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t i;

		if (e->d_name[0] == '.')
			continue;
		for (i = 0; i < sw->n; i++)
			if (strcmp(sw->ws[i].id, e->d_name) == 0 && (!staging || sw->ws[i].staged))
				break;
		if (i < sw->n)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		if (lstat(path, &st) == -1 || st.st_ctim.tv_sec > sw->taken.tv_sec ||
		    (st.st_ctim.tv_sec == sw->taken.tv_sec &&
		     st.st_ctim.tv_nsec >= sw->taken.tv_nsec))
			continue;
		rm(path);
	}
	closedir(d);
}

static void
reconcile_sweep_work(uv_work_t *w)
{
	struct sweep *sw = w->data;

	/* A start killed before it made a container. */
	reconcile_sweep_sub(sw, "workspaces", wsfs_remove, 0);
	/* Staged mounts of containers that run (or never will). */
	reconcile_sweep_sub(sw, "mounts", wsfs_unstage, 1);
}

static void
reconcile_sweep_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

/* Remove workspace directories and staged mounts that belong to no container. */
static void
reconcile_sweep(void)
{
	struct workspace *ws;
	struct sweep *sw;
	size_t n = 0;

	WS_FOREACH(ws)
		n++;
	sw = xcalloc(1, sizeof(*sw) + n * sizeof(sw->ws[0]));
	snprintf(sw->state_dir, sizeof(sw->state_dir), "%s", ws_context()->cfg->state_dir);
	snprintf(sw->shared_dir, sizeof(sw->shared_dir), "%s", ws_context()->cfg->shared_dir);
	clock_gettime(CLOCK_REALTIME_COARSE, &sw->taken); /* the clock of file times */
	WS_FOREACH(ws) {
		memcpy(sw->ws[sw->n].id, ws->id, 13);
		sw->ws[sw->n++].staged = ws->state < WS_WAITING;
	}
	sw->work.data = sw;
	if (uv_queue_work(ws_context()->loop, &sw->work, reconcile_sweep_work,
	                  reconcile_sweep_done) != 0)
		free(sw);
}

/* ---- the reconcile ---- */

/* On record but not running: a start cut short, or a container gone while wsd was down. */
static void
reconcile_release_unmatched(void)
{
	for (size_t k = 0; k < nknown; k++) {
		if (known[k].matched)
			continue;
		log_info("workspace %s: on record but its container is gone; released",
		         known[k].id);
		store_ws_unrecord(known[k].id, store_now());
		store_audit("wsd", 0, "release", known[k].id, "ok",
		            "on record but no container at start-up");
	}
	reconcile_shutdown();
	first_reconcile = 0;
}

static void
reconcile_listed(void *arg, const struct engine_result *r)
{
	struct workspace *ws, *next;

	(void)arg;
	if (r->status != ENGINE_OK) {
		reconcile_done(0, 0, r->message ? r->message : "cannot list containers");
		return;
	}
	WS_FOREACH(ws)
		ws->seen = 0;
	for (size_t i = 0; i < r->n; i++)
		reconcile_adopt(&r->all[i]);
	/* Ours, past creation, and not on the engine any more: gone behind our back. */
	for (ws = TAILQ_FIRST(ws_registry()); ws; ws = next) {
		next = TAILQ_NEXT(ws, link);
		if (!ws->seen && ws->container_id[0] != '\0' &&
		    (ws->state == WS_READY || ws->state == WS_WAITING))
			ws_fail(ws, 410, "gone", "its container disappeared from the engine");
	}
	if (first_reconcile)
		reconcile_release_unmatched();
	reconcile_sweep();
	memtrim_soon();
	reconcile_done(n_adopted, n_removed, NULL);
}

void
reconcile(void (*done_cb)(int, int, const char *))
{
	reconcile_done = done_cb;
	n_adopted = n_removed = 0;
	if (engine_list(reconcile_listed, NULL) == -1)
		done_cb(0, 0, "cannot start an engine call");
}

/*
 * An engine event about a workspace object. A ready workspace whose
 * container died without wsd stopping it is torn down: its GPUs and
 * ports are freed and its home stays. An object that no workspace owns,
 * made by a create that wsd had given up on (engine frozen, then
 * thawed), is removed.
 */
void
reconcile_event(const struct engine_event *ev)
{
	struct workspace *ws;

	if (ev->kind == ENGINE_EV_CREATED) {
		if (ev->ws_id == NULL || ws_find_id(ev->ws_id) == NULL)
			reconcile_remove_orphan(ev->ref, "no workspace owns it (a late create)");
		return;
	}
	WS_FOREACH(ws) {
		if (strcmp(ws->container_id, ev->ref) != 0 || ws->state != WS_READY ||
		    ws->stop_requested)
			continue;
		ws_fail(ws, 410, "gone", "its container %s (exit code %s) without wsd; removed",
		        ev->kind == ENGINE_EV_DIED ? "exited" : "was removed",
		        ev->exit_code ? ev->exit_code : "?");
		return;
	}
}
