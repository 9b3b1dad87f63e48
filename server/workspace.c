/*
 * The workspace lifecycle. All transitions happen in this file, on the
 * loop. Blocking work (user lookup, files, key generation) runs on pool
 * threads through uv_queue_work; engine calls and Jupyter probes go
 * through fetch.c; SSH probes through probe.c. Each step takes a
 * reference on the workspace and drops it when its callback has run.
 */
#include "workspace.h"

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "fetch.h"
#include "gpu.h"
#include "http.h"
#include "jtext.h"
#include "log.h"
#include "probe.h"
#include "spec.h"
#include "store.h"
#include "wsfs.h"

#define PROBE_INTERVAL_MS 50
#define ALIVE_CHECK_EVERY 20 /* probe rounds between container checks */
#define WEEK (7 * 86400.0)

/* Closed usage of the rolling week, for the GPU-hours quota. */
struct usage_rec {
	char owner[33];
	int gpus;
	double start, stop;
};

/* Workspaces the store knew at start-up, until the first reconcile. */
struct known {
	char id[13];
	char container_id[65];
	double expires_at, usage_start;
	int64_t ready_at; /* 0: never ready */
	int matched;
};

static struct ws_ctx ctx;
static struct workspace *list;
static unsigned char *ports_used;  /* one byte per port in the range */
static int64_t *ports_quarantined; /* until when another program holds it */
static int shutting_down;
static struct usage_rec *ledger;
static size_t nledger, capledger;
static struct known *known;
static size_t nknown;
static int first_reconcile = 1;
static uv_timer_t expiry;
static uv_timer_t trim; /* gives freed heap back to the system after a burst */

static void ws_fail(struct workspace *ws, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void teardown(struct workspace *ws);
static void probe_round(struct workspace *ws);
static void probe_timer(uv_timer_t *t);
static void expiry_tick(uv_timer_t *t);

const struct ws_ctx *
ws_context(void)
{
	return &ctx;
}

void
ws_set_gpu_mode(const char *mode)
{
	ctx.gpu_mode = mode;
}

const char *
ws_state_name(enum ws_state s)
{
	static const char *const names[] = {"preparing", "creating", "starting", "waiting",
	                                    "ready",     "stopping", "stopped",  "failed"};

	return names[s];
}

int
ws_init(uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen)
{
	long n;

	ctx.loop = loop;
	ctx.cfg = cfg;
	if (cfg->public_host[0] != '\0')
		snprintf(ctx.public_host, sizeof(ctx.public_host), "%s", cfg->public_host);
	else if (strcmp(cfg->publish_address, "0.0.0.0") == 0 ||
	         strcmp(cfg->publish_address, "::") == 0)
		gethostname(ctx.public_host, sizeof(ctx.public_host) - 1);
	else
		snprintf(ctx.public_host, sizeof(ctx.public_host), "%s", cfg->publish_address);
	if (strcmp(cfg->publish_address, "0.0.0.0") == 0)
		snprintf(ctx.probe_host, sizeof(ctx.probe_host), "127.0.0.1");
	else if (strcmp(cfg->publish_address, "::") == 0)
		snprintf(ctx.probe_host, sizeof(ctx.probe_host), "::1");
	else
		snprintf(ctx.probe_host, sizeof(ctx.probe_host), "%s", cfg->publish_address);
	/* auto: the nvidia driver of DeviceRequests works on every engine
	 * from 19.03 on; cdi is chosen explicitly where the engine has it. */
	ctx.gpu_mode = strcmp(cfg->gpu_mode, "cdi") == 0 ? "cdi" : "nvidia";
	n = sysconf(_SC_NPROCESSORS_ONLN);
	ctx.host_cpus = n > 0 ? (int)n : 1;
	ctx.deflt.set = (1u << QL_N) - 1;
	ctx.deflt.v[QL_GPUS] = (double)cfg->quota_gpus;
	ctx.deflt.v[QL_WORKSPACES] = (double)cfg->quota_workspaces;
	ctx.deflt.v[QL_MEMORY] = (double)cfg->quota_memory;
	ctx.deflt.v[QL_SHM] = (double)cfg->quota_shm;
	ctx.deflt.v[QL_CPUS] = cfg->quota_cpus;
	ctx.deflt.v[QL_LIFETIME] = (double)cfg->quota_lifetime;
	ctx.deflt.v[QL_GPU_HOURS] = cfg->quota_gpu_hours;
	ports_used = calloc((size_t)(cfg->port_max - cfg->port_min + 1), 1);
	ports_quarantined =
	    calloc((size_t)(cfg->port_max - cfg->port_min + 1), sizeof(*ports_quarantined));
	if (ports_used == NULL || ports_quarantined == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uv_timer_init(loop, &expiry);
	uv_timer_start(&expiry, expiry_tick, 1000, 1000);
	uv_unref((uv_handle_t *)&expiry); /* never what keeps the loop alive */
	uv_timer_init(loop, &trim);
	uv_unref((uv_handle_t *)&trim);
	return 0;
}

/* ---- registry, references, waiters ---- */

static void
timer_closed(uv_handle_t *h)
{
	struct workspace *ws = h->data;

	for (size_t i = 0; i < ws->nkeys; i++)
		free(ws->keys[i]);
	for (size_t i = 0; i < ws->nmounts; i++) {
		free(ws->mounts[i].source);
		free(ws->mounts[i].target);
	}
	free(ws->image);
	free(ws->error);
	free(ws);
}

void
ws_ref(struct workspace *ws)
{
	ws->refs++;
}

void
ws_unref(struct workspace *ws)
{
	if (--ws->refs > 0)
		return;
	uv_close((uv_handle_t *)&ws->timer, timer_closed);
}

static void
list_remove(struct workspace *ws)
{
	struct workspace **pp;

	for (pp = &list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ws) {
			*pp = ws->next;
			ws->next = NULL;
			ws_unref(ws); /* the list's reference */
			return;
		}
	}
}

struct workspace *
ws_first(void)
{
	return list;
}

struct workspace *
ws_find(uid_t uid, const char *key)
{
	for (struct workspace *ws = list; ws; ws = ws->next)
		if (ws->uid == uid && (strcmp(ws->name, key) == 0 || strcmp(ws->id, key) == 0))
			return ws;
	return NULL;
}

void
ws_wait(struct workspace *ws, struct ws_waiter *w)
{
	w->next = ws->waiters;
	ws->waiters = w;
}

void
ws_unwait(struct workspace *ws, struct ws_waiter *w)
{
	for (struct ws_waiter **pp = &ws->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static void
trim_now(uv_timer_t *t)
{
	(void)t;
	malloc_trim(0);
}

/*
 * A start, a stop, a reconcile or a closed connection leaves freed memory
 * in the heap and in the pool threads' arenas; a second after the last of
 * a burst, hand it back. Each call postpones it.
 */
void
ws_trim_soon(void)
{
	if (trim.loop != NULL && !shutting_down) /* after ws_init, before ws_shutdown */
		uv_timer_start(&trim, trim_now, 1000, 0);
}

static void
notify(struct workspace *ws, enum ws_event ev)
{
	struct ws_waiter *w, *next;

	if (ev != WS_EV_PROGRESS) {
		ws_trim_soon();
		/* Final events detach every waiter. */
		w = ws->waiters;
		ws->waiters = NULL;
		for (; w; w = next) {
			next = w->next;
			w->cb(w, ws, ev);
		}
		return;
	}
	for (w = ws->waiters; w; w = next) {
		next = w->next;
		w->cb(w, ws, ev);
	}
}

static void
set_state(struct workspace *ws, enum ws_state s)
{
	ws->state = s;
	if (s < WS_READY)
		notify(ws, WS_EV_PROGRESS);
}

/* ---- ports ---- */

static int
port_take(int want)
{
	const struct config *c = ctx.cfg;

	if (want >= c->port_min && want <= c->port_max) {
		ports_used[want - c->port_min] = 1;
		return want;
	}
	for (int64_t p = c->port_min; p <= c->port_max; p++) {
		if (!ports_used[p - c->port_min] &&
		    ports_quarantined[p - c->port_min] <= (int64_t)time(NULL)) {
			ports_used[p - c->port_min] = 1;
			return (int)p;
		}
	}
	return -1;
}

/* Another program listens on p: hand it out to no start for a while. */
static void
port_quarantine(int p)
{
	if (p >= ctx.cfg->port_min && p <= ctx.cfg->port_max)
		ports_quarantined[p - ctx.cfg->port_min] = (int64_t)time(NULL) + 300;
}

static void
port_free(int p)
{
	if (p >= ctx.cfg->port_min && p <= ctx.cfg->port_max)
		ports_used[p - ctx.cfg->port_min] = 0;
}

/* ---- helpers ---- */

static void
random_hex(char *out, size_t bytes)
{
	unsigned char b[32];

	if (getrandom(b, bytes, 0) != (ssize_t)bytes)
		abort(); /* never hand out a guessable token */
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static long
engine_ms(void)
{
	return (long)ctx.cfg->engine_timeout * 1000;
}

static void
ws_dir(const struct workspace *ws, char *buf, size_t len)
{
	snprintf(buf, len, "%s/workspaces/%s", ctx.cfg->state_dir, ws->id);
}

/* Where its user mounts are staged (see wsfs.c). */
static void
ws_stage_dir(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/mounts/%s", ctx.cfg->state_dir, id);
}

/* Only a failing workspace carries an error (most never do). */
static struct api_error *
error_new(void)
{
	struct api_error *e = calloc(1, sizeof(*e));

	if (e == NULL)
		abort();
	return e;
}

static void
ws_fail(struct workspace *ws, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (ws->error == NULL) {
		ws->error = error_new();
		ws->error->status = status;
		snprintf(ws->error->code, sizeof(ws->error->code), "%s", code);
		va_start(ap, fmt);
		vsnprintf(ws->error->message, sizeof(ws->error->message), fmt, ap);
		va_end(ap);
	}
	log_warn("workspace %s (%s/%s) failed: %s", ws->id, ws->owner, ws->name,
	         ws->error->message);
	teardown(ws);
}

/*
 * The useful part of an engine error. Runtime errors nest many prefixes
 * ("failed to create shim task: OCI runtime create failed: ..."); what a
 * student needs is the innermost reason, e.g. a hook's stderr.
 */
static const char *
engine_reason(const char *msg)
{
	const char *p;

	if (msg == NULL)
		return "engine error";
	if ((p = strstr(msg, "stderr: ")) != NULL && p[8] != '\0')
		return p + 8;
	if ((p = strstr(msg, "error during container init: ")) != NULL)
		return p + 30;
	return msg;
}

static int
engine_failed(struct workspace *ws, const struct docker_reply *r, const char *what)
{
	if (r->status == 0) {
		ws_fail(ws, 503, "engine_unavailable",
		        "%s: the container engine is unreachable (%s)", what, r->error);
		return 1;
	}
	return 0;
}

/* ---- quotas, usage, store ---- */

struct quota_table *
ws_quotas(void)
{
	return &ctx.quotas;
}

static void
ledger_add(const char *owner, int gpus, double start, double stop)
{
	if (gpus <= 0 || stop <= start)
		return;
	if (nledger == capledger) {
		size_t cap = capledger ? capledger * 2 : 64;
		struct usage_rec *n = realloc(ledger, cap * sizeof(*n));

		if (n == NULL)
			return;
		ledger = n;
		capledger = cap;
	}
	snprintf(ledger[nledger].owner, sizeof(ledger[nledger].owner), "%s", owner);
	ledger[nledger].gpus = gpus;
	ledger[nledger].start = start;
	ledger[nledger].stop = stop;
	nledger++;
}

/* GPU-seconds of owner within [since, now]: closed records and running workspaces. */
static double
gpu_seconds(const char *owner, uid_t uid, double since, double now)
{
	double sum = 0;
	size_t i = 0;

	while (i < nledger) {
		struct usage_rec *r = &ledger[i];

		if (r->stop < now - WEEK) { /* out of every window from now on */
			*r = ledger[--nledger];
			continue;
		}
		if (strcmp(r->owner, owner) == 0 && r->stop > since)
			sum += (r->stop - (r->start > since ? r->start : since)) * r->gpus;
		i++;
	}
	for (struct workspace *ws = list; ws; ws = ws->next)
		if (ws->uid == uid && ws->usage_start > 0 && ws->ngpus > 0)
			sum +=
			    (now - (ws->usage_start > since ? ws->usage_start : since)) * ws->ngpus;
	return sum;
}

void
ws_quota_for(const struct ws_who *who, struct quota *q, struct quota_source *src,
             struct quota_use *use)
{
	quota_effective(&ctx.deflt, ctx.quotas.e, ctx.quotas.n, who->user, who->groups,
	                who->ngroups, q, src);
	memset(use, 0, sizeof(*use));
	for (struct workspace *ws = list; ws; ws = ws->next) {
		if (ws->uid != who->uid)
			continue;
		use->workspaces++;
		use->gpus += ws->ngpus;
	}
	use->gpu_seconds = gpu_seconds(who->user, who->uid, store_now() - WEEK, store_now());
}

static void
load_quota_row(json_t *row)
{
	struct quota_entry e = {0};
	struct api_error err;
	const char *kind = json_string_value(json_object_get(row, "kind"));
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *limits = json_string_value(json_object_get(row, "limits"));
	json_t *obj = limits ? json_loads(limits, 0, NULL) : NULL;

	e.kind = kind && strcmp(kind, "group") == 0 ? QUOTA_GROUP : QUOTA_USER;
	if (name != NULL && quota_valid_name(name) && obj != NULL &&
	    quota_apply_json(&e.q, obj, &err) == 0) {
		snprintf(e.name, sizeof(e.name), "%s", name);
		quota_table_put(&ctx.quotas, &e);
	} else {
		log_warn("store: ignoring a bad quota row for %s", name ? name : "?");
	}
	json_decref(obj);
}

int
ws_load(char *err, size_t errlen)
{
	json_t *rows = NULL, *row;
	double now = store_now();
	size_t i;

	if (store_query_sync("SELECT kind, name, limits FROM quotas", NULL, &rows, err, errlen) ==
	    -1)
		return -1;
	json_array_foreach(rows, i, row) load_quota_row(row);
	json_decref(rows);
	/* Usage left open by a wsd that died with no record of its workspace. */
	if (store_query_sync("UPDATE usage SET stopped_at = ? WHERE stopped_at IS NULL AND "
	                     "workspace_id NOT IN (SELECT id FROM workspaces)",
	                     json_pack("[f]", now), NULL, err, errlen) == -1)
		return -1;
	if (store_query_sync("SELECT owner, gpus, started_at, stopped_at FROM usage WHERE "
	                     "stopped_at IS NOT NULL AND stopped_at > ? AND gpus > 0",
	                     json_pack("[f]", now - WEEK), &rows, err, errlen) == -1)
		return -1;
	json_array_foreach(rows, i, row)
	{
		const char *owner = json_string_value(json_object_get(row, "owner"));

		ledger_add(owner ? owner : "?",
		           (int)json_integer_value(json_object_get(row, "gpus")),
		           json_number_value(json_object_get(row, "started_at")),
		           json_number_value(json_object_get(row, "stopped_at")));
	}
	json_decref(rows);
	if (store_query_sync("SELECT w.id AS id, w.expires_at AS expires_at, w.ready_at AS "
	                     "ready_at, w.container_id AS container_id, u.started_at AS "
	                     "usage_start FROM workspaces w LEFT JOIN usage u ON "
	                     "u.workspace_id = w.id AND u.stopped_at IS NULL",
	                     NULL, &rows, err, errlen) == -1)
		return -1;
	known = calloc(json_array_size(rows) + 1, sizeof(*known));
	if (known == NULL) {
		json_decref(rows);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "id"));

		if (id == NULL || strlen(id) != 12)
			continue;
		memcpy(known[nknown].id, id, 13);
		known[nknown].expires_at = json_number_value(json_object_get(row, "expires_at"));
		known[nknown].usage_start = json_number_value(json_object_get(row, "usage_start"));
		known[nknown].ready_at =
		    (int64_t)json_number_value(json_object_get(row, "ready_at"));
		snprintf(known[nknown].container_id, sizeof(known[nknown].container_id), "%s",
		         json_string_value(json_object_get(row, "container_id")) ?: "");
		nknown++;
	}
	json_decref(rows);
	log_info("store: %zu quota entries, %zu workspaces on record, %zu usage records this week",
	         ctx.quotas.n, nknown, nledger);
	return 0;
}

/* The workspace's row and its allocations, as one transaction. */
static void
record_tx(struct store_tx *tx, const struct workspace *ws)
{
	const struct gpu_inventory *inv = gpu_inventory();
	char gpus[GPU_MAX * (GPU_UUID_MAX + 1)] = "", res[GPU_UUID_MAX + 8];
	size_t off = 0;

	for (int i = 0; i < ws->ngpus; i++)
		off += (size_t)snprintf(gpus + off, sizeof(gpus) - off, "%s%s", i ? "," : "",
		                        inv->gpus[ws->gpu_pos[i]].uuid);
	store_tx_add(
	    tx,
	    "INSERT OR REPLACE INTO workspaces (id, name, owner, uid, template, created_at, "
	    "expires_at, ready_at, container_id, gpus) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    json_pack("[s, s, s, i, s, I, o, o, s, s]", ws->id, ws->name, ws->owner, (int)ws->uid,
	              ws->tmpl->name, (json_int_t)ws->created_at,
	              ws->expires_at ? json_integer(ws->expires_at) : json_null(),
	              ws->ready_at ? json_integer(ws->ready_at) : json_null(), ws->container_id,
	              gpus));
	store_tx_add(tx, "DELETE FROM allocations WHERE workspace_id = ?",
	             json_pack("[s]", ws->id));
	for (int i = 0; i < ws->ngpus; i++) {
		snprintf(res, sizeof(res), "gpu:%s", inv->gpus[ws->gpu_pos[i]].uuid);
		store_tx_add(
		    tx, "INSERT OR REPLACE INTO allocations (resource, workspace_id) VALUES (?, ?)",
		    json_pack("[s, s]", res, ws->id));
	}
	for (int i = 0; i < 2; i++) {
		int port = i ? ws->ssh_port : ws->jupyter_port;

		if (port <= 0)
			continue;
		snprintf(res, sizeof(res), "port:%d", port);
		store_tx_add(
		    tx, "INSERT OR REPLACE INTO allocations (resource, workspace_id) VALUES (?, ?)",
		    json_pack("[s, s]", res, ws->id));
	}
}

static void
record(const struct workspace *ws)
{
	struct store_tx *tx = store_tx_new();

	record_tx(tx, ws);
	store_tx_run(tx, NULL, NULL);
}

/* The workspace is gone: its row and allocations go; its usage is closed. */
static void
unrecord(const char *id, double when)
{
	struct store_tx *tx = store_tx_new();

	store_tx_add(tx, "DELETE FROM workspaces WHERE id = ?", json_pack("[s]", id));
	store_tx_add(
	    tx, "UPDATE usage SET stopped_at = ? WHERE workspace_id = ? AND stopped_at IS NULL",
	    json_pack("[f, s]", when, id));
	store_tx_run(tx, NULL, NULL);
}

/* Usage stops counting when the workspace stops being usable. */
static void
usage_stop(struct workspace *ws)
{
	double now = store_now();

	if (ws->usage_start <= 0)
		return;
	ledger_add(ws->owner, ws->ngpus, ws->usage_start, now);
	store_run("UPDATE usage SET stopped_at = ? WHERE workspace_id = ? AND stopped_at IS NULL",
	          json_pack("[f, s]", now, ws->id), NULL, NULL);
	ws->usage_start = 0;
}

static void
expiry_tick(uv_timer_t *t)
{
	int64_t now = (int64_t)store_now();

	(void)t;
	for (struct workspace *ws = list; ws; ws = ws->next) {
		if (ws->expires_at == 0 || now < ws->expires_at || ws->stop_requested ||
		    ws->state >= WS_STOPPING)
			continue;
		log_info("workspace %s (%s/%s) reached the end of its lifetime", ws->id, ws->owner,
		         ws->name);
		ws_stop_by(ws, "wsd", 0, "expire");
	}
}

/* ---- stop / teardown ---- */

static void
dir_removed(uv_work_t *w, int status)
{
	struct workspace *ws = w->data;

	(void)status;
	free(w);
	port_free(ws->jupyter_port);
	port_free(ws->ssh_port);
	ws->jupyter_port = ws->ssh_port = 0;
	if (ws->ngpus > 0) {
		gpu_release(gpu_inventory(), ws->id);
		ws->ngpus = 0;
	}
	if (ws->recorded)
		unrecord(ws->id, store_now());
	if (ws->error != NULL) {
		store_audit(ws->owner, (unsigned)ws->uid, "workspace_failed", ws->name, "failed",
		            ws->error->message);
		ws->state = WS_FAILED;
		list_remove(ws);
		notify(ws, WS_EV_FAILED);
	} else {
		ws->state = WS_STOPPED;
		log_info("workspace %s (%s/%s) stopped; home kept", ws->id, ws->owner, ws->name);
		list_remove(ws);
		notify(ws, WS_EV_STOPPED);
	}
	ws_unref(ws);
}

static void
dir_remove_work(uv_work_t *w)
{
	struct workspace *ws = w->data;
	char dir[512];

	ws_stage_dir(ws->id, dir, sizeof(dir));
	wsfs_unstage(dir);
	ws_dir(ws, dir, sizeof(dir));
	wsfs_remove(dir);
}

static void
remove_dir(struct workspace *ws)
{
	uv_work_t *w = calloc(1, sizeof(*w));

	if (w == NULL)
		abort();
	w->data = ws;
	if (uv_queue_work(ctx.loop, w, dir_remove_work, dir_removed) != 0) {
		dir_remove_work(w);
		dir_removed(w, 0);
	}
}

static void remove_container(struct workspace *ws);

static void
retry_remove(uv_timer_t *t)
{
	remove_container(t->data);
}

static void
container_removed(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;

	if (r->status != 204 && r->status != 404) {
		/*
		 * The container may still run and hold its GPUs: keep them, say so
		 * to whoever waits, and try again until the engine agrees.
		 */
		log_err("workspace %s: cannot remove container %.12s: %s; retrying", ws->id,
		        ws->container_id, r->error ? r->error : "?");
		if (ws->error == NULL) {
			ws->error = error_new();
			api_error_set(ws->error, 503, "engine_unavailable",
			              "cannot remove the container: %s",
			              r->error ? r->error : "engine error");
		}
		notify(ws, WS_EV_FAILED);
		if (!shutting_down)
			uv_timer_start(&ws->timer, retry_remove, 2000, 0);
		ws_unref(ws);
		return;
	}
	ws->container_id[0] = '\0';
	remove_dir(ws); /* keeps our reference */
}

static void
remove_container(struct workspace *ws)
{
	char path[160];

	/*
	 * A create that timed out may still have made the container: without
	 * its id, remove it by its name.
	 */
	if (ws->container_id[0] != '\0')
		snprintf(path, sizeof(path), "/containers/%s?force=1", ws->container_id);
	else
		snprintf(path, sizeof(path), "/containers/wslab-%s-%s?force=1", ws->owner,
		         ws->name);
	ws_ref(ws);
	if (docker_call("DELETE", path, NULL, engine_ms(), container_removed, ws) == -1) {
		struct docker_reply r = {.status = 0, .error = "cannot start an engine call"};

		container_removed(ws, &r);
	}
}

static void
container_stopped(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;

	(void)r; /* removal with force follows whatever stop said */
	remove_container(ws);
	ws_unref(ws);
}

/* Remove what the start made. Runs once per workspace. */
static void
teardown(struct workspace *ws)
{
	if (ws->state == WS_STOPPING || ws->state >= WS_STOPPED)
		return;
	uv_timer_stop(&ws->timer);
	ws->state = WS_STOPPING;
	if (shutting_down) { /* it keeps running: a restarted wsd adopts it */
		list_remove(ws);
		notify(ws, ws->error ? WS_EV_FAILED : WS_EV_STOPPED);
		return;
	}
	usage_stop(ws);
	if (ws->container_id[0] == '\0' && !ws->create_sent) {
		ws_ref(ws);
		remove_dir(ws);
		return;
	}
	if (ws->error == NULL && ws->container_id[0] != '\0') {
		char path[160];

		/* A graceful stop first: Jupyter and sshd get SIGTERM. */
		snprintf(path, sizeof(path), "/containers/%s/stop?t=%lld", ws->container_id,
		         (long long)ctx.cfg->stop_timeout);
		ws_ref(ws);
		if (docker_call("POST", path, NULL, (ctx.cfg->stop_timeout + 30) * 1000,
		                container_stopped, ws) == 0)
			return;
		ws_unref(ws);
	}
	remove_container(ws);
}

void
ws_stop(struct workspace *ws)
{
	ws->stop_requested = 1;
	/* A step in flight sees stop_requested when it returns. */
	if (ws->state == WS_READY || ws->state == WS_WAITING)
		teardown(ws);
}

void
ws_stop_by(struct workspace *ws, const char *actor, unsigned actor_uid, const char *why)
{
	char target[80];

	snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
	store_audit(actor, actor_uid, why, target, "ok", ws->id);
	ws_stop(ws);
}

/* Called at every step boundary: a stop asked for meanwhile wins. */
static int
stopped_meanwhile(struct workspace *ws)
{
	if (!ws->stop_requested && !shutting_down)
		return 0;
	teardown(ws);
	return 1;
}

/* ---- readiness ---- */

static void
became_ready(struct workspace *ws)
{
	struct timespec now;

	uv_timer_stop(&ws->timer);
	clock_gettime(CLOCK_REALTIME, &now);
	if (!ws->adopted || ws->ready_at == 0)
		ws->ready_at = now.tv_sec;
	ws->state = WS_READY;
	if (ws->usage_start <= 0) {
		ws->usage_start = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
		store_run("INSERT OR REPLACE INTO usage (workspace_id, owner, uid, name, gpus, "
		          "started_at) VALUES (?, ?, ?, ?, ?, ?)",
		          json_pack("[s, s, i, s, i, f]", ws->id, ws->owner, (int)ws->uid, ws->name,
		                    ws->ngpus, ws->usage_start),
		          NULL, NULL);
	}
	record(ws);
	ws->recorded = 1;
	log_info("workspace %s (%s/%s) ready: jupyter port %d, ssh port %d%s", ws->id, ws->owner,
	         ws->name, ws->jupyter_port, ws->ssh_port, ws->adopted ? " (adopted)" : "");
	notify(ws, WS_EV_READY);
}

static void
probes_settled(struct workspace *ws)
{
	if (ws->probes_out > 0 || ws->state != WS_WAITING)
		return;
	if (stopped_meanwhile(ws))
		return;
	if (ws->jupyter_ok && ws->ssh_ok) {
		became_ready(ws);
		return;
	}
	if (uv_now(ctx.loop) >= ws->deadline) {
		ws_fail(ws, 504, "timeout",
		        "not ready within %llds (jupyter %s, ssh %s); see the container's log",
		        (long long)ctx.cfg->ready_timeout, ws->jupyter_ok ? "up" : "not answering",
		        ws->ssh_ok ? "up" : "not answering");
		return;
	}
	uv_timer_start(&ws->timer, probe_timer, PROBE_INTERVAL_MS, 0);
}

static void
probe_timer(uv_timer_t *t)
{
	probe_round(t->data);
}

static void
jupyter_probed(void *arg, const struct fetch_reply *r)
{
	struct workspace *ws = arg;

	ws->probes_out--;
	if (r->status == 200)
		ws->jupyter_ok = 1;
	probes_settled(ws);
	ws_unref(ws);
}

static void
ssh_probed(void *arg, int ok, const char *why)
{
	struct workspace *ws = arg;

	(void)why;
	ws->probes_out--;
	if (ok)
		ws->ssh_ok = 1;
	probes_settled(ws);
	ws_unref(ws);
}

static void
logs_read(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;
	char line[200] = "";

	if (r->status == 200)
		docker_last_log_line(r->body, r->len, line, sizeof(line));
	ws_fail(ws, 502, "start_failed", "the workspace exited during start-up%s%s",
	        line[0] ? ": " : "", line);
	ws_unref(ws);
}

static void
alive_checked(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;
	json_t *st = json_object_get(r->json, "State");

	ws->probes_out--;
	if (ws->state == WS_WAITING && r->status == 404) {
		ws_fail(ws, 502, "start_failed", "the container disappeared during start-up");
	} else if (ws->state == WS_WAITING && r->status == 200 &&
	           !json_is_true(json_object_get(st, "Running"))) {
		char path[160];

		uv_timer_stop(&ws->timer);
		snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=20",
		         ws->container_id);
		ws_ref(ws);
		ws->probes_out++; /* keeps probes_settled quiet until the logs are read */
		if (docker_call("GET", path, NULL, 10000, logs_read, ws) == -1) {
			ws->probes_out--;
			ws_unref(ws);
			ws_fail(ws, 502, "start_failed", "the workspace exited during start-up");
		}
	} else {
		probes_settled(ws);
	}
	ws_unref(ws);
}

static void
probe_round(struct workspace *ws)
{
	char url[512];
	struct fetch_opts o = {0};

	if (ws->state != WS_WAITING || ws->probes_out > 0)
		return;
	ws->attempts++;
	if (!ws->jupyter_ok) {
		snprintf(url, sizeof(url), "http://%s%s%s:%d/api/status?token=%s",
		         strchr(ctx.probe_host, ':') ? "[" : "", ctx.probe_host,
		         strchr(ctx.probe_host, ':') ? "]" : "", ws->jupyter_port, ws->token);
		o.url = url;
		o.timeout_ms = 2000;
		o.max_body = 65536;
		ws_ref(ws);
		ws->probes_out++;
		if (fetch_start(&o, jupyter_probed, ws) == -1) {
			ws->probes_out--;
			ws_unref(ws);
		}
		explicit_bzero(url, sizeof(url));
	}
	if (!ws->ssh_ok) {
		ws_ref(ws);
		ws->probes_out++;
		if (probe_ssh(ctx.loop, ctx.probe_host, ws->ssh_port, ws->host_key_pub, ssh_probed,
		              ws) == -1) {
			ws->probes_out--;
			ws_unref(ws);
		}
	}
	if (ws->attempts % ALIVE_CHECK_EVERY == 0) {
		char path[160];

		snprintf(path, sizeof(path), "/containers/%s/json", ws->container_id);
		ws_ref(ws);
		ws->probes_out++;
		if (docker_call("GET", path, NULL, 10000, alive_checked, ws) == -1) {
			ws->probes_out--;
			ws_unref(ws);
		}
	}
	if (ws->probes_out == 0)
		probes_settled(ws);
}

static void
begin_waiting(struct workspace *ws)
{
	set_state(ws, WS_WAITING);
	ws->deadline = uv_now(ctx.loop) + (uint64_t)ctx.cfg->ready_timeout * 1000;
	probe_round(ws);
}

/* ---- create, start, inspect ---- */

static int
host_port(json_t *ports, const char *key)
{
	json_t *b = json_array_get(json_object_get(ports, key), 0);
	const char *p = json_string_value(json_object_get(b, "HostPort"));

	return p ? atoi(p) : 0; /* NOLINT: the engine's own decimal text */
}

static void
inspected(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;
	json_t *ports;
	int jp, sp;

	if (stopped_meanwhile(ws) || engine_failed(ws, r, "inspect"))
		goto out;
	if (r->status != 200) {
		ws_fail(ws, 502, "start_failed", "cannot inspect the container: %s", r->error);
		goto out;
	}
	/* The engine is the truth for ports. */
	ports = json_object_get(json_object_get(r->json, "NetworkSettings"), "Ports");
	jp = host_port(ports, "8888/tcp");
	sp = host_port(ports, "2222/tcp");
	if (jp > 0 && sp > 0) {
		ws->jupyter_port = jp;
		ws->ssh_port = sp;
	}
	begin_waiting(ws);
out:
	ws_unref(ws);
}

static void
inspect(struct workspace *ws)
{
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/json", ws->container_id);
	ws_ref(ws);
	if (docker_call("GET", path, NULL, 10000, inspected, ws) == -1) {
		ws_unref(ws);
		ws_fail(ws, 500, "internal", "cannot start an engine call");
	}
}

struct unstage {
	uv_work_t work;
	char dir[512];
};

static void
unstage_work(uv_work_t *w)
{
	struct unstage *u = w->data;

	if (wsfs_unstage(u->dir) == -1)
		log_warn("cannot remove the staged mounts in %s: %s", u->dir, strerror(errno));
}

static void
unstage_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

/*
 * The container runs: its mount namespace holds its own copies of the
 * staged mounts, so the staging points can go.
 */
static void
unstage(const struct workspace *ws)
{
	struct unstage *u;

	if (ws->nmounts == 0 || (u = calloc(1, sizeof(*u))) == NULL)
		return; /* the stop or the next sweep removes them */
	ws_stage_dir(ws->id, u->dir, sizeof(u->dir));
	u->work.data = u;
	if (uv_queue_work(ctx.loop, &u->work, unstage_work, unstage_done) != 0)
		free(u);
}

static void
started(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;

	if (stopped_meanwhile(ws) || engine_failed(ws, r, "start"))
		goto out;
	if (r->status != 204 && r->status != 304) {
		if (r->error && strstr(r->error, "address already in use")) {
			/* The next start gets other ports. */
			port_quarantine(ws->jupyter_port);
			port_quarantine(ws->ssh_port);
			ws_fail(ws, 409, "start_failed",
			        "host port %d or %d is already taken by another program; try again",
			        ws->jupyter_port, ws->ssh_port);
		} else
			ws_fail(ws, 502, "start_failed", "the engine could not start it: %s",
			        engine_reason(r->error));
		goto out;
	}
	unstage(ws);
	if (ws->adopted)
		begin_waiting(ws);
	else
		inspect(ws);
out:
	ws_unref(ws);
}

static void
created(void *arg, const struct docker_reply *r)
{
	struct workspace *ws = arg;
	const char *id = json_string_value(json_object_get(r->json, "Id"));
	char path[160];

	if (r->status == 201 && id != NULL)
		snprintf(ws->container_id, sizeof(ws->container_id), "%s", id);
	else if (r->status != 0)
		ws->create_sent = 0; /* a definite no: nothing of ours exists by that name */
	if (stopped_meanwhile(ws) || engine_failed(ws, r, "create"))
		goto out;
	if (r->status == 404) {
		ws_fail(ws, 502, "start_failed",
		        "image %s is not on the engine (an admin must build it; see templates/)",
		        ws->image);
		goto out;
	}
	if (r->status != 201 || id == NULL) {
		ws_fail(ws, 502, "start_failed", "the engine refused the container: %s",
		        engine_reason(r->error));
		goto out;
	}
	set_state(ws, WS_STARTING);
	snprintf(path, sizeof(path), "/containers/%s/start", ws->container_id);
	ws_ref(ws);
	if (docker_call("POST", path, NULL, engine_ms(), started, ws) == -1) {
		ws_unref(ws);
		ws_fail(ws, 500, "internal", "cannot start an engine call");
	}
out:
	ws_unref(ws);
}

static void
create(struct workspace *ws)
{
	char home[512], etc[512], sdir[512], path[160], stage[WS_MOUNTS_MAX][560];
	const char *mount_src[WS_MOUNTS_MAX];
	struct spec_in in = {0};
	json_t *body;
	int rc;

	snprintf(home, sizeof(home), "%s/%s", ctx.cfg->home_root, ws->owner);
	ws_dir(ws, etc, sizeof(etc));
	in.id = ws->id;
	in.name = ws->name;
	in.owner = ws->owner;
	in.uid = ws->uid;
	in.gid = ws->gid;
	in.tmpl = ws->tmpl;
	in.memory = ws->memory;
	in.shm = ws->shm;
	in.cpus = ws->cpus;
	in.home_src = home;
	in.etc_src = etc;
	in.publish_address = ctx.cfg->publish_address;
	in.jupyter_port = ws->jupyter_port;
	in.ssh_port = ws->ssh_port;
	in.created_at = ws->created_at;
	in.expires_at = ws->expires_at;
	{
		const char *uuids[GPU_MAX];

		for (int i = 0; i < ws->ngpus; i++)
			uuids[i] = gpu_inventory()->gpus[ws->gpu_pos[i]].uuid;
		in.gpu_uuids = uuids;
		in.ngpus = (size_t)ws->ngpus;
		in.gpu_mode = ctx.gpu_mode;
		in.instance = ctx.cfg->instance;
		in.mounts = ws->mounts;
		in.nmounts = ws->nmounts;
		ws_stage_dir(ws->id, sdir, sizeof(sdir));
		for (size_t i = 0; i < ws->nmounts; i++) {
			snprintf(stage[i], sizeof(stage[i]), "%s/%zu", sdir, i);
			mount_src[i] = stage[i];
		}
		in.mount_src = mount_src;
		body = spec_build(&in);
	}
	set_state(ws, WS_CREATING);
	ws->create_sent = 1;
	snprintf(path, sizeof(path), "/containers/create?name=wslab-%s-%s", ws->owner, ws->name);
	ws_ref(ws);
	rc = body ? docker_call("POST", path, body, engine_ms(), created, ws) : -1;
	json_decref(body);
	if (rc == -1) {
		ws_unref(ws);
		ws_fail(ws, 500, "internal", "cannot start an engine call");
	}
}

/* ---- prepare (pool thread) ---- */

struct prep {
	uv_work_t work;
	struct workspace *ws;
	char dir[512];
	char stage_dir[512];
	struct wsfs_out out;
};

static void
prepare_work(uv_work_t *w)
{
	struct prep *p = w->data;
	struct wsfs_in in = {0};

	in.uid = p->ws->uid;
	in.home_root = ctx.cfg->home_root;
	in.ws_dir = p->dir;
	in.stage_dir = p->stage_dir;
	in.token = p->ws->token;
	in.keys = p->ws->keys;
	in.nkeys = p->ws->nkeys;
	in.cfg = ctx.cfg;
	in.mounts = p->ws->mounts;
	in.nmounts = p->ws->nmounts;
	if (wsfs_prepare(&in, &p->out) == -1)
		p->out.status = p->out.status ? p->out.status : 500;
	else
		p->out.status = 0;
}

static void
prepared(uv_work_t *w, int status)
{
	struct prep *p = w->data;
	struct workspace *ws = p->ws;

	if (status != 0 && p->out.status == 0) {
		p->out.status = 500;
		snprintf(p->out.err, sizeof(p->out.err), "cancelled");
	}
	/* The keys are in authorized_keys now (or never will be). */
	for (size_t i = 0; i < ws->nkeys; i++)
		free(ws->keys[i]);
	ws->nkeys = 0;
	if (p->out.status == 0) {
		snprintf(ws->owner, sizeof(ws->owner), "%s", p->out.user);
		ws->gid = p->out.gid;
		snprintf(ws->host_key_pub, sizeof(ws->host_key_pub), "%s", p->out.host_key_pub);
		/*
		 * Shown as the real path that was checked; the engine binds the
		 * staged object itself (wsfs.c).
		 */
		for (size_t i = 0; i < ws->nmounts; i++) {
			free(ws->mounts[i].source);
			ws->mounts[i].source = strdup(p->out.mount_real[i]);
			if (ws->mounts[i].source == NULL)
				abort();
		}
		if (!stopped_meanwhile(ws))
			create(ws);
	} else {
		ws_fail(ws, p->out.status,
		        p->out.status == 500   ? "internal"
		        : p->out.status == 400 ? "invalid_value"
		                               : "forbidden",
		        "%s", p->out.err);
	}
	free(p);
	ws_unref(ws);
}

/* The record is in the store: now the start may make things. */
static void
recorded(void *arg, int ok, const char *why, json_t *rows)
{
	struct workspace *ws = arg;
	struct prep *p;

	(void)rows;
	if (!ok) {
		ws_fail(
		    ws, 503, "state_unavailable",
		    "cannot record the workspace in wsd's state store (%s); nothing was created",
		    why);
		goto out;
	}
	ws->recorded = 1;
	if (stopped_meanwhile(ws))
		goto out;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		ws_fail(ws, 500, "internal", "out of memory");
		goto out;
	}
	p->ws = ws;
	ws_dir(ws, p->dir, sizeof(p->dir));
	ws_stage_dir(ws->id, p->stage_dir, sizeof(p->stage_dir));
	p->work.data = p;
	ws_ref(ws);
	if (uv_queue_work(ctx.loop, &p->work, prepare_work, prepared) != 0) {
		free(p);
		ws_unref(ws);
		ws_fail(ws, 500, "internal", "cannot queue work");
	}
out:
	ws_unref(ws);
}

static void
refused(const struct ws_who *who, const char *name, const struct api_error *err)
{
	store_audit(who->user, (unsigned)who->uid, "start", name, "refused", err->message);
}

struct workspace *
ws_start(struct start_req *req, const struct ws_who *who, struct api_error *err)
{
	struct workspace *ws;
	struct timespec now;
	struct quota q;
	struct quota_source src;
	struct quota_use use;
	struct quota_ask ask = {0};
	struct store_tx *tx;

	if (shutting_down) {
		api_error_set(err, 503, "engine_unavailable", "wsd is shutting down");
		return NULL;
	}
	if (who->user == NULL || who->user[0] == '\0') {
		api_error_set(err, 403, "forbidden", "uid %u has no entry in the user database",
		              (unsigned)who->uid);
		return NULL;
	}
	if (req->name[0] == '\0') {
		for (int i = 1; i < 1000; i++) {
			snprintf(req->name, sizeof(req->name), "ws%d", i);
			if (ws_find(who->uid, req->name) == NULL)
				break;
		}
	}
	if (ws_find(who->uid, req->name) != NULL) {
		api_error_set(err, 409, "conflict", "you already have a workspace named %s",
		              req->name);
		return NULL;
	}
	/*
	 * Quota check, GPU pick and hold, and registration are one step on the
	 * loop: no other start runs in between, so none can pass on the same
	 * remaining quota or take the same GPU.
	 */
	ws_quota_for(who, &q, &src, &use);
	ask.gpus = req->gpu.count;
	ask.memory = req->memory;
	ask.shm = req->shm;
	ask.cpus = req->cpus;
	ask.memory_given = req->memory_given;
	ask.shm_given = req->shm_given;
	ask.cpus_given = req->cpus_given;
	if (quota_check(&q, &src, &use, &ask, err) == -1) {
		refused(who, req->name, err);
		return NULL;
	}
	ws = calloc(1, sizeof(*ws));
	if (ws == NULL) {
		api_error_set(err, 500, "internal", "out of memory");
		return NULL;
	}
	ws->jupyter_port = port_take(0);
	ws->ssh_port = port_take(0);
	if (ws->jupyter_port < 0 || ws->ssh_port < 0) {
		port_free(ws->jupyter_port);
		port_free(ws->ssh_port);
		free(ws);
		api_error_set(err, 503, "no_ports", "no free ports left in %lld..%lld",
		              (long long)ctx.cfg->port_min, (long long)ctx.cfg->port_max);
		refused(who, req->name, err);
		return NULL;
	}
	random_hex(ws->id, 6);
	ws->ngpus = gpu_pick(gpu_inventory(), &req->gpu, ws->gpu_pos, err);
	if (ws->ngpus < 0) {
		port_free(ws->jupyter_port);
		port_free(ws->ssh_port);
		free(ws);
		refused(who, req->name, err);
		return NULL;
	}
	gpu_hold(gpu_inventory(), ws->gpu_pos, ws->ngpus, ws->id);
	uv_timer_init(ctx.loop, &ws->timer);
	ws->timer.data = ws;
	ws->refs = 2;              /* the list and the caller */
	random_hex(ws->token, 32); /* 256 bits */
	snprintf(ws->name, sizeof(ws->name), "%s", req->name);
	ws->uid = who->uid;
	ws->tmpl = req->tmpl;
	ws->image = strdup(req->tmpl->image);
	ws->memory = ask.memory;
	ws->shm = ask.shm;
	ws->cpus = ask.cpus;
	memcpy(ws->keys, req->ssh_keys, sizeof(ws->keys));
	ws->nkeys = req->nkeys;
	req->nkeys = 0;
	memcpy(ws->mounts, req->mounts, sizeof(ws->mounts));
	ws->nmounts = req->nmounts;
	req->nmounts = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	ws->created_at = now.tv_sec;
	if (q.v[QL_LIFETIME] >= 0)
		ws->expires_at = now.tv_sec + (int64_t)q.v[QL_LIFETIME];
	snprintf(ws->owner, sizeof(ws->owner), "%s", who->user);
	ws->state = WS_PREPARING;
	ws->next = list;
	list = ws;

	tx = store_tx_new();
	record_tx(tx, ws);
	store_tx_add(
	    tx,
	    "INSERT INTO audit (at, actor, actor_uid, action, target, result, detail) "
	    "VALUES (?, ?, ?, 'start', ?, 'accepted', ?)",
	    json_pack("[f, s, i, s, s]", store_now(), ws->owner, (int)ws->uid, ws->name, ws->id));
	ws_ref(ws);
	if (store_tx_run(tx, recorded, ws) == -1) {
		ws_unref(ws);
		ws_fail(ws, 503, "state_unavailable", "wsd's state store is not running");
		return ws;
	}
	log_info("workspace %s (%s/%s) starting: template %s, %d GPUs", ws->id, ws->owner, ws->name,
	         ws->tmpl->name, ws->ngpus);
	return ws;
}

/* ---- JSON ---- */

void
ws_json_text(struct jtext *b, const struct workspace *ws, uid_t viewer_uid)
{
	const struct gpu_inventory *inv = gpu_inventory();
	char url[512];

	jt_key(b, "id", 1);
	jt_str(b, ws->id);
	jt_key(b, "name", 0);
	jt_str(b, ws->name);
	jt_key(b, "owner", 0);
	jt_str(b, ws->owner);
	jt_key(b, "uid", 0);
	jt_int(b, (int64_t)ws->uid);
	jt_key(b, "state", 0);
	jt_str(b, ws_state_name(ws->state));
	jt_key(b, "template", 0);
	jt_str(b, ws->tmpl->name);
	jt_key(b, "image", 0);
	jt_str(b, ws->image);
	jt_key(b, "created_at", 0);
	jt_time(b, ws->created_at);
	jt_key(b, "memory", 0);
	jt_int(b, ws->memory);
	jt_key(b, "shm", 0);
	jt_int(b, ws->shm);
	jt_key(b, "cpus", 0);
	jt_real(b, ws->cpus);
	jt_key(b, "container_id", 0);
	jt_str(b, ws->container_id);
	jt_key(b, "ready_at", 0);
	if (ws->ready_at)
		jt_time(b, ws->ready_at);
	else
		jt_lit(b, "null");
	jt_key(b, "ssh_host", 0);
	jt_str(b, ctx.public_host);
	jt_key(b, "ssh_port", 0);
	jt_int(b, ws->ssh_port);
	jt_key(b, "ssh_user", 0);
	jt_str(b, ws->owner);
	jt_key(b, "ssh_host_key", 0);
	jt_str(b, ws->host_key_pub);
	jt_key(b, "jupyter_port", 0);
	jt_int(b, ws->jupyter_port);
	jt_key(b, "jupyter_url", 0);
	if (viewer_uid == ws->uid && ws->state == WS_READY) {
		snprintf(url, sizeof(url), "http://%s:%d%s?token=%s", ctx.public_host,
		         ws->jupyter_port, ws->tmpl->url_path, ws->token);
		jt_str(b, url);
		explicit_bzero(url, sizeof(url));
	} else {
		jt_lit(b, "null");
	}
	jt_key(b, "gpus", 0);
	jt_lit(b, "[");
	for (int i = 0; i < ws->ngpus; i++) {
		const struct gpu *g = &inv->gpus[ws->gpu_pos[i]];

		jt_lit(b, i ? ",{" : "{");
		jt_key(b, "index", 1);
		jt_int(b, g->index);
		jt_key(b, "uuid", 0);
		jt_str(b, g->uuid);
		jt_key(b, "name", 0);
		jt_str(b, g->name);
		jt_lit(b, "}");
	}
	jt_lit(b, "]");
	jt_key(b, "mounts", 0);
	jt_lit(b, "[");
	for (size_t i = 0; i < ws->nmounts; i++) {
		jt_lit(b, i ? ",{" : "{");
		jt_key(b, "source", 1);
		jt_str(b, ws->mounts[i].source);
		jt_key(b, "target", 0);
		jt_str(b, ws->mounts[i].target);
		jt_key(b, "read_only", 0);
		jt_lit(b, ws->mounts[i].read_only ? "true" : "false");
		jt_lit(b, "}");
	}
	jt_lit(b, "]");
	jt_key(b, "expires_at", 0);
	if (ws->expires_at > 0)
		jt_time(b, ws->expires_at);
	else
		jt_lit(b, "null");
	if (ws->error != NULL) {
		jt_key(b, "error", 0);
		jt_str(b, ws->error->message);
	}
}

void
ws_reply_list(struct request *req, int (*keep)(const struct workspace *, uid_t))
{
	struct jtext b = {0};
	int n = 0;

	jt_reserve(&b, 64 * 1024);
	jt_lit(&b, "{\"workspaces\":[");
	for (struct workspace *ws = list; ws; ws = ws->next) {
		if (keep != NULL && !keep(ws, req->uid))
			continue;
		jt_lit(&b, n++ ? ",{" : "{");
		ws_json_text(&b, ws, req->uid);
		jt_lit(&b, "}");
	}
	jt_lit(&b, "]}\n");
	http_reply_owned(req, 200, b.p, b.len); /* zeroed there: it may hold tokens */
}

json_t *
ws_json(const struct workspace *ws, uid_t viewer_uid)
{
	struct jtext b = {0};
	json_t *o;

	jt_lit(&b, "{");
	ws_json_text(&b, ws, viewer_uid);
	jt_lit(&b, "}");
	o = json_loadb(b.p, b.len, 0, NULL);
	explicit_bzero(b.p, b.len); /* it may hold the token */
	free(b.p);
	if (o == NULL)
		abort(); /* jtext writes valid JSON, or it is a bug */
	return o;
}

/* ---- reconcile after a restart ---- */

static void (*reconcile_done)(int, int, const char *);
static int n_adopted, n_removed;

/*
 * A container no workspace owns. Its removal is retried until the engine
 * agrees: a container caught half-started (wsd died during its start)
 * may refuse the first attempt.
 */
struct orphan {
	uv_timer_t timer;
	char cid[65];
	int tries;
};

static void orphan_try(struct orphan *o);

static void
orphan_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
orphan_retry(uv_timer_t *t)
{
	orphan_try(t->data);
}

static void
orphan_removed(void *arg, const struct docker_reply *r)
{
	struct orphan *o = arg;

	if (r->status == 204 || r->status == 404 || shutting_down || ++o->tries >= 30) {
		if (r->status != 204 && r->status != 404)
			log_err("container %.12s: not removed (%s); the next reconcile tries again",
			        o->cid, r->error ? r->error : "?");
		uv_close((uv_handle_t *)&o->timer, orphan_closed);
		return;
	}
	log_warn("container %.12s: removal failed (%s); retrying", o->cid,
	         r->error ? r->error : "?");
	uv_timer_start(&o->timer, orphan_retry, 1000, 0);
}

static void
orphan_try(struct orphan *o)
{
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s?force=1", o->cid);
	if (docker_call("DELETE", path, NULL, 30000, orphan_removed, o) == -1) {
		struct docker_reply r = {.status = 0, .error = "cannot start an engine call"};

		orphan_removed(o, &r);
	}
}

static void
remove_orphan(const char *cid, const char *why)
{
	struct orphan *o = calloc(1, sizeof(*o));

	log_warn("removing container %.12s: %s", cid, why);
	n_removed++;
	if (o == NULL)
		return;
	snprintf(o->cid, sizeof(o->cid), "%s", cid);
	uv_timer_init(ctx.loop, &o->timer);
	o->timer.data = o;
	orphan_try(o);
}

static int64_t
label_int(json_t *labels, const char *key, int64_t def)
{
	const char *v = json_string_value(json_object_get(labels, key));
	char *end;
	long long n;

	if (v == NULL)
		return def;
	n = strtoll(v, &end, 10);
	return (*end == '\0' && n > 0) ? n : def;
}

/* Hold an adopted workspace's GPUs again; -1 when one is held already. */
static int
adopt_gpus(struct workspace *ws, const char *uuids)
{
	struct gpu_inventory *inv = gpu_inventory();
	char *copy, *save = NULL, *tok;

	if (uuids == NULL || uuids[0] == '\0')
		return 0;
	copy = strdup(uuids);
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

/* Adopt one listed container, or remove it. */
/* The mounts it was started with, as its label says (shown, not rebound). */
static void
adopt_mounts(struct workspace *ws, const char *label)
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
		r->source = strdup(src);
		r->target = strdup(dst);
		if (r->source == NULL || r->target == NULL)
			abort();
		r->read_only = json_is_true(json_object_get(m, "read_only"));
		ws->nmounts++;
	}
	json_decref(a);
}

static void
adopt(json_t *c)
{
	json_t *labels = json_object_get(c, "Labels");
	const char *cid = json_string_value(json_object_get(c, "Id"));
	const char *id = json_string_value(json_object_get(labels, "wslab.workspace"));
	const char *name = json_string_value(json_object_get(labels, "wslab.name"));
	const char *owner = json_string_value(json_object_get(labels, "wslab.owner"));
	const char *uid = json_string_value(json_object_get(labels, "wslab.uid"));
	const char *tname = json_string_value(json_object_get(labels, "wslab.template"));
	const char *created = json_string_value(json_object_get(labels, "wslab.created"));
	const char *state = json_string_value(json_object_get(c, "State"));
	const struct template *t = tname ? config_template(ctx.cfg, tname) : NULL;
	struct workspace *ws;
	char dir[512], path[600];
	json_t *p;
	size_t i;

	if (cid == NULL)
		return;
	for (struct workspace *w = list; id != NULL && w; w = w->next) {
		if (strcmp(w->id, id) == 0) {
			w->seen = 1; /* already ours: a second reconcile */
			return;
		}
	}
	if (id == NULL || name == NULL || owner == NULL || uid == NULL || t == NULL ||
	    strlen(id) != 12 || !valid_ws_name(name) || strlen(owner) > 32) {
		remove_orphan(cid, "wslab labels incomplete or template gone");
		return;
	}
	if (state == NULL || strcmp(state, "running") != 0) {
		remove_orphan(cid, "not running");
		return;
	}
	ws = calloc(1, sizeof(*ws));
	if (ws == NULL)
		return;
	snprintf(ws->id, sizeof(ws->id), "%s", id);
	ws_dir(ws, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/jupyter_token", dir);
	if (wsfs_read(path, ws->token, sizeof(ws->token)) == -1) {
		free(ws);
		remove_orphan(cid, "its workspace directory is gone");
		return;
	}
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key.pub", dir);
	wsfs_read(path, ws->host_key_pub, sizeof(ws->host_key_pub));
	snprintf(ws->name, sizeof(ws->name), "%s", name);
	snprintf(ws->owner, sizeof(ws->owner), "%s", owner);
	snprintf(ws->container_id, sizeof(ws->container_id), "%s", cid);
	ws->uid = (uid_t)strtoul(uid, NULL, 10);
	ws->tmpl = t;
	ws->image = strdup(json_string_value(json_object_get(c, "Image")) ?: t->image);
	ws->created_at = created ? strtoll(created, NULL, 10) : 0;
	ws->memory = label_int(labels, "wslab.memory", t->memory);
	ws->shm = label_int(labels, "wslab.shm", t->shm);
	ws->cpus = (double)label_int(labels, "wslab.nanocpus", (int64_t)(t->cpus * 1e9)) / 1e9;
	json_array_foreach(json_object_get(c, "Ports"), i, p)
	{
		json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));

		if (priv == 8888 && pub > 0)
			ws->jupyter_port = port_take((int)pub);
		else if (priv == 2222 && pub > 0)
			ws->ssh_port = port_take((int)pub);
	}
	if (adopt_gpus(ws, json_string_value(json_object_get(labels, "wslab.gpus"))) == -1) {
		port_free(ws->jupyter_port);
		port_free(ws->ssh_port);
		free(ws->image);
		free(ws);
		remove_orphan(cid, "one of its GPUs is held by another workspace");
		return;
	}
	ws->expires_at = label_int(labels, "wslab.expires", 0);
	adopt_mounts(ws, json_string_value(json_object_get(labels, "wslab.mounts")));
	for (size_t k = 0; k < nknown; k++) {
		if (strcmp(known[k].id, ws->id) != 0)
			continue;
		known[k].matched = 1;
		if (known[k].expires_at > 0)
			ws->expires_at = (int64_t)known[k].expires_at;
		ws->usage_start = known[k].usage_start;
		ws->recorded = 1;
		/* Ready on record, and the same container ran all along. */
		if (known[k].ready_at > 0 && strcmp(known[k].container_id, cid) == 0)
			ws->ready_at = known[k].ready_at;
	}
	if (!ws->recorded) {
		/* Running and labelled ours, but not on record: adopted, and said so. */
		log_warn("workspace %s (%s/%s): container %.12s was not on record; adopted", ws->id,
		         ws->owner, ws->name, cid);
		store_audit("wsd", 0, "adopt", ws->name, "ok", "a running container not on record");
	}
	uv_timer_init(ctx.loop, &ws->timer);
	ws->timer.data = ws;
	ws->refs = 1;
	ws->adopted = 1;
	ws->seen = 1;
	ws->next = list;
	list = ws;
	n_adopted++;
	/*
	 * A workspace that was ready, in a container that kept running, is
	 * ready: its entrypoint ends the container when Jupyter or sshd dies.
	 * Any other is probed again (it was running, but was it ready?): no
	 * key exchange with hundreds of sshds after a restart of wsd.
	 */
	if (ws->ready_at > 0) {
		ws->state = WS_WAITING;
		became_ready(ws);
	} else {
		begin_waiting(ws);
	}
}

struct sweep {
	uv_work_t work;
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
sweep_sub(const struct sweep *sw, const char *sub, int (*rm)(const char *), int staging)
{
	char base[512], path[800];
	struct dirent *e;
	struct stat st;
	DIR *d;

	snprintf(base, sizeof(base), "%s/%s", ctx.cfg->state_dir, sub);
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
sweep_work(uv_work_t *w)
{
	struct sweep *sw = w->data;

	/* A start killed before it made a container. */
	sweep_sub(sw, "workspaces", wsfs_remove, 0);
	/* Staged mounts of containers that run (or never will). */
	sweep_sub(sw, "mounts", wsfs_unstage, 1);
}

static void
sweep_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

/* Remove workspace directories and staged mounts that belong to no container. */
static void
sweep_dirs(void)
{
	struct sweep *sw;
	size_t n = 0;

	for (struct workspace *ws = list; ws; ws = ws->next)
		n++;
	sw = calloc(1, sizeof(*sw) + n * sizeof(sw->ws[0]));
	if (sw == NULL)
		return;
	clock_gettime(CLOCK_REALTIME_COARSE, &sw->taken); /* the clock of file times */
	for (struct workspace *ws = list; ws; ws = ws->next) {
		memcpy(sw->ws[sw->n].id, ws->id, 13);
		sw->ws[sw->n++].staged = ws->state < WS_WAITING;
	}
	sw->work.data = sw;
	if (uv_queue_work(ctx.loop, &sw->work, sweep_work, sweep_done) != 0)
		free(sw);
}

static void
listed(void *arg, const struct docker_reply *r)
{
	json_t *c;
	size_t i;

	(void)arg;
	if (r->status != 200 || !json_is_array(r->json)) {
		reconcile_done(0, 0, r->error ? r->error : "cannot list containers");
		return;
	}
	for (struct workspace *w = list; w; w = w->next)
		w->seen = 0;
	json_array_foreach(r->json, i, c) adopt(c);
	/* Ours, past creation, and not on the engine any more: gone behind our back. */
	for (struct workspace *w = list, *next; w; w = next) {
		next = w->next;
		if (!w->seen && w->container_id[0] != '\0' &&
		    (w->state == WS_READY || w->state == WS_WAITING))
			ws_fail(w, 410, "gone", "its container disappeared from the engine");
	}
	if (first_reconcile) {
		/* On record but not running: a start that was cut short, or a container
		 * that went away while wsd was down. Its GPUs and ports are free. */
		for (size_t k = 0; k < nknown; k++) {
			if (known[k].matched)
				continue;
			log_info("workspace %s: on record but its container is gone; released",
			         known[k].id);
			unrecord(known[k].id, store_now());
			store_audit("wsd", 0, "release", known[k].id, "ok",
			            "on record but no container at start-up");
		}
		free(known);
		known = NULL;
		nknown = 0;
		first_reconcile = 0;
	}
	sweep_dirs();
	ws_trim_soon();
	reconcile_done(n_adopted, n_removed, NULL);
}

void
ws_reconcile(void (*done_cb)(int, int, const char *))
{
	char path[512];

	reconcile_done = done_cb;
	n_adopted = n_removed = 0;
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=");
	docker_label_filter(ctx.cfg->instance, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, 30000, listed, NULL) == -1)
		done_cb(0, 0, "cannot start an engine call");
}

/*
 * An engine event about a wslab container. A ready workspace whose
 * container died without wsd stopping it is torn down: its GPUs and ports
 * are freed and its home stays.
 */
void
ws_engine_event(json_t *ev)
{
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *actor = json_object_get(ev, "Actor");
	const char *cid = json_string_value(json_object_get(actor, "ID"));
	const char *code =
	    json_string_value(json_object_get(json_object_get(actor, "Attributes"), "exitCode"));

	if (action == NULL || cid == NULL)
		return;
	if (strcmp(action, "create") == 0 || strcmp(action, "start") == 0) {
		/*
		 * A container of this instance that no workspace knows: made by a
		 * create that wsd had given up on (engine frozen, then thawed).
		 */
		const char *id = json_string_value(
		    json_object_get(json_object_get(actor, "Attributes"), "wslab.workspace"));

		for (struct workspace *ws = list; id != NULL && ws; ws = ws->next)
			if (strcmp(ws->id, id) == 0)
				return;
		remove_orphan(cid, "no workspace owns it (a late create)");
		return;
	}
	if (strcmp(action, "die") != 0 && strcmp(action, "destroy") != 0)
		return;
	for (struct workspace *ws = list; ws; ws = ws->next) {
		if (strcmp(ws->container_id, cid) != 0 || ws->state != WS_READY ||
		    ws->stop_requested)
			continue;
		ws_fail(ws, 410, "gone", "its container %s (exit code %s) without wsd; removed",
		        strcmp(action, "die") == 0 ? "exited" : "was removed", code ? code : "?");
		return;
	}
}

void
ws_shutdown(void)
{
	shutting_down = 1;
	while (list != NULL) {
		struct workspace *ws = list;

		uv_timer_stop(&ws->timer);
		list_remove(ws);
		notify(ws, WS_EV_STOPPED);
	}
	free(ports_used);
	ports_used = NULL;
	free(ports_quarantined);
	ports_quarantined = NULL;
	uv_timer_stop(&expiry);
	uv_timer_stop(&trim);
	free(ledger);
	ledger = NULL;
	nledger = capledger = 0;
	free(known);
	known = NULL;
	nknown = 0;
	quota_table_free(&ctx.quotas);
}
