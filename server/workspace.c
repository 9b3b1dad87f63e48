/*
 * The workspace lifecycle: the registry, references, waiters, the state
 * machine from a start to ready, and teardown (expiry.c decides when a
 * running one has reached its limits). All transitions
 * happen in this file, on the loop, through ws_set_state. Blocking work
 * (user lookup, files, key generation) runs on pool threads through
 * uv_queue_work; the engine is asked through engine.h; Jupyter probes go
 * through fetch.c and SSH probes through probe.c. Each step takes a
 * reference on the workspace and drops it when its callback has run.
 *
 * The functions below are laid out in the order a start flows through
 * them: ws_start -> ws_recorded -> (pool) ws_prepare_work -> ws_prepared
 * -> ws_create -> ws_created -> ws_started -> ws_inspected ->
 * ws_begin_waiting -> ws_probe_round ... -> ws_became_ready; then the
 * stop: ws_stop -> ws_teardown -> ws_stopped -> ws_remove_object ->
 * ws_removed -> ws_remove_dir -> ws_dir_removed.
 */
#include "workspace.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "engine.h"
#include "fetch.h"
#include "gpu.h"
#include "log.h"
#include "loglines.h"
#include "notice.h"
#include "metrics.h"
#include "nodes.h"
#include "memtrim.h"
#include "path.h"
#include "ports.h"
#include "probe.h"
#include "spec.h"
#include "store.h"
#include "store_ws.h"
#include "usage.h"
#include "wsfs.h"
#include "xmalloc.h"

#define PROBE_INTERVAL_MS 50
#define ALIVE_CHECK_EVERY 20 /* probe rounds between container checks */
#define REMOVE_RETRY_MS 2000
#define PORT_RETRIES 3 /* new ports for a start whose ports were taken meanwhile */

static struct ws_ctx ctx;
static struct ws_list registry = TAILQ_HEAD_INITIALIZER(registry);
static int shutting_down;

/* A start, in the order it happens. */
static void ws_ask(struct quota_ask *ask, int gpus, int64_t memory, int64_t shm, double cpus,
                   int memory_given, int shm_given, int cpus_given);
static void ws_move_keys(struct workspace *ws, struct start_req *req);
static int ws_launch(struct workspace *ws, const struct gpu_request *g, const struct quota *q,
                     struct api_error *err);
static void ws_record(struct workspace *ws);
static void ws_recorded(void *arg, int ok, const char *why, json_t *rows);
static void ws_prepare_work(uv_work_t *w);
static void ws_prepared(uv_work_t *w, int status);
static void ws_boot(struct workspace *ws);
static void ws_boot_go(struct boot_ticket *t);
static void ws_boot_moved(void);
static void ws_create(struct workspace *ws);
static void ws_created(void *arg, const struct engine_result *r);
static void ws_started(void *arg, const struct engine_result *r);
static void ws_port_retry(struct workspace *ws);
static void ws_port_retry_removed(void *arg, const struct engine_result *r);
static void ws_unstage(const struct workspace *ws);
static void ws_inspected(void *arg, const struct engine_result *r);
static void ws_begin_waiting(struct workspace *ws);
static void ws_probe_round(struct workspace *ws);
static void ws_probe_timer(uv_timer_t *t);
static void ws_jupyter_probed(void *arg, const struct fetch_reply *r);
static void ws_ssh_probed(void *arg, int ok, const char *why);
static void ws_alive_checked(void *arg, const struct engine_result *r);
static void ws_logs_read(void *arg, const struct engine_result *r);
static void ws_probes_settled(struct workspace *ws);
static void ws_became_ready(struct workspace *ws);
/* A stop, or the end of a failed start. */
static int ws_stopped_meanwhile(struct workspace *ws);
static void ws_teardown(struct workspace *ws);
static void ws_stopped(void *arg, const struct engine_result *r);
static void ws_remove_object(struct workspace *ws);
static void ws_removed(void *arg, const struct engine_result *r);
static void ws_remove_dir(struct workspace *ws);
static void ws_dir_removed(uv_work_t *w, int status);
static void ws_unqueue(struct workspace *ws);

/* ---- context, registry, references, waiters, state ---- */

/* When this wsd started counting GPU-seconds (its metrics start at 0). */
static double ws_metrics_epoch;
static struct ws_hooks hooks;
static uint64_t arrivals; /* starts accepted, for the order of boots */

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

int
ws_shutting_down(void)
{
	return shutting_down;
}

const char *
ws_state_name(enum ws_state s)
{
	static const char *const names[] = {"queued",   "preparing", "pending", "creating",
	                                    "starting", "waiting",   "ready",   "stopping",
	                                    "stopped",  "failed"};

	return names[s];
}

void
ws_set_hooks(const struct ws_hooks *h)
{
	hooks = *h;
}

static void
ws_changed(void)
{
	if (hooks.changed)
		hooks.changed();
}

/* What a reload may change: the host in URLs, the jump host and the default quotas. */
void
ws_configure(const struct config *cfg)
{
	if (cfg->public_host[0] != '\0')
		snprintf(ctx.public_host, sizeof(ctx.public_host), "%s", cfg->public_host);
	else if (strcmp(cfg->publish_address, "0.0.0.0") == 0 ||
	         strcmp(cfg->publish_address, "::") == 0)
		gethostname(ctx.public_host, sizeof(ctx.public_host) - 1);
	else
		snprintf(ctx.public_host, sizeof(ctx.public_host), "%s", cfg->publish_address);
	/* Ports on loopback are reached from elsewhere through this server. */
	ctx.ports_local = strncmp(cfg->publish_address, "127.", 4) == 0 ||
	                  strcmp(cfg->publish_address, "::1") == 0 ||
	                  strcmp(cfg->publish_address, "localhost") == 0;
	ctx.jump_host[0] = '\0';
	if (cfg->ssh_jump_host[0] != '\0')
		snprintf(ctx.jump_host, sizeof(ctx.jump_host), "%s", cfg->ssh_jump_host);
	else if (ctx.ports_local && cfg->public_host[0] != '\0')
		snprintf(ctx.jump_host, sizeof(ctx.jump_host), "%s", cfg->public_host);
	else if (ctx.ports_local)
		gethostname(ctx.jump_host, sizeof(ctx.jump_host) - 1);
	quotas_init(cfg);
}

void
ws_init(uv_loop_t *loop, const struct config *cfg)
{
	long n;

	ctx.loop = loop;
	ctx.cfg = cfg;
	ws_metrics_epoch = store_now();
	ws_configure(cfg);
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
	/* Swarm mode: the ports are bound on the nodes, not here (no bind test). */
	ports_init((int)cfg->port_min, (int)cfg->port_max,
	           strcmp(cfg->engine_mode, "swarm") == 0 ? "" : cfg->publish_address);
	memtrim_init(loop);
	boot_init(loop, (int)cfg->ntemplates, ctx.host_cpus, cfg->min_booting, cfg->max_booting,
	          ws_boot_moved);
}

struct ws_list *
ws_registry(void)
{
	return &registry;
}

static void
ws_timer_closed(uv_handle_t *h)
{
	ws_free_unregistered(h->data);
}

/* Free a workspace whose timer was never started or is closed. */
void
ws_free_unregistered(struct workspace *ws)
{
	for (size_t i = 0; i < ws->nkeys; i++)
		free(ws->keys[i]);
	for (size_t i = 0; i < ws->nmounts; i++) {
		free(ws->mounts[i].source);
		free(ws->mounts[i].target);
	}
	config_template_unref(ws->tmpl);
	free(ws->groups);
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
	uv_close((uv_handle_t *)&ws->timer, ws_timer_closed);
}

static void
ws_register(struct workspace *ws)
{
	uv_timer_init(ctx.loop, &ws->timer);
	ws->timer.data = ws;
	TAILQ_INSERT_HEAD(&registry, ws, link);
}

static void
ws_unregister(struct workspace *ws)
{
	TAILQ_REMOVE(&registry, ws, link);
	ws_unref(ws); /* the registry's reference */
}

struct workspace *
ws_find(uid_t uid, const char *key)
{
	struct workspace *ws;

	WS_FOREACH(ws)
		if (ws->uid == uid && (strcmp(ws->name, key) == 0 || strcmp(ws->id, key) == 0))
			return ws;
	return NULL;
}

struct workspace *
ws_find_id(const char *id)
{
	struct workspace *ws;

	WS_FOREACH(ws)
		if (strcmp(ws->id, id) == 0)
			return ws;
	return NULL;
}

struct workspace *
ws_find_ref(const char *container_id)
{
	struct workspace *ws;

	WS_FOREACH(ws)
		if (strcmp(ws->container_id, container_id) == 0)
			return ws;
	return NULL;
}

void
ws_wait(struct workspace *ws, struct ws_waiter *w)
{
	LIST_INSERT_HEAD(&ws->waiters, w, link);
}

void
ws_unwait(struct workspace *ws, struct ws_waiter *w)
{
	(void)ws;
	LIST_REMOVE(w, link);
}

static void
ws_notify(struct workspace *ws, enum ws_event ev)
{
	struct ws_waiter *w, *next;

	if (ev != WS_EV_PROGRESS) {
		memtrim_soon();
		/* Final events detach every waiter. */
		while ((w = LIST_FIRST(&ws->waiters)) != NULL) {
			LIST_REMOVE(w, link);
			w->cb(w, ws, ev);
		}
		return;
	}
	for (w = LIST_FIRST(&ws->waiters); w; w = next) {
		next = LIST_NEXT(w, link);
		w->cb(w, ws, ev);
	}
}

/*
 * A start's phases and its outcome, observed as it leaves them (only
 * starts accepted by this wsd: an adopted workspace has no start_ns).
 */
static void
ws_timing(struct workspace *ws, enum ws_state next, uint64_t now)
{
	const char *outcome = NULL;

	if (ws->start_ns == 0 || ws->start_timed)
		return;
	if (ws->state_ns != 0 && ws->state <= WS_WAITING)
		metric_observe(metric_at(m_phase_duration, ws_state_name(ws->state)),
		               (double)(now - ws->state_ns) / 1e9);
	if (next == WS_READY)
		outcome = "ready";
	else if (next == WS_FAILED)
		outcome = "failed";
	else if (next == WS_STOPPED || next == WS_STOPPING)
		outcome = ws->error != NULL ? "failed" : "stopped";
	if (outcome == NULL)
		return;
	ws->start_timed = 1;
	metric_observe(metric_at(m_start_duration, ws->tmpl != NULL ? ws->tmpl->name : "", outcome),
	               (double)(now - ws->start_ns) / 1e9);
}

/*
 * The one place a workspace changes state (curl's mstate): logged at
 * debug level, and the phases before ready are progress for its waiters.
 */
static void
ws_set_state(struct workspace *ws, enum ws_state s)
{
	uint64_t now = uv_hrtime();

	if (ws->state != s) {
		log_debug("workspace %s: %s -> %s", ws->id, ws_state_name(ws->state),
		          ws_state_name(s));
		ws_timing(ws, s, now);
	}
	ws->state = s;
	ws->state_ns = now;
	if (s < WS_READY)
		ws_notify(ws, WS_EV_PROGRESS);
}

/* ---- helpers ---- */

static void
ws_random_hex(char *out, size_t bytes)
{
	unsigned char b[32];

	if (getrandom(b, bytes, 0) != (ssize_t)bytes)
		abort(); /* never hand out a guessable token */
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void
ws_dir(const char *id, char *buf, size_t len)
{
	/* In swarm mode the nodes must see it: the shared directory. */
	snprintf(buf, len, "%s/workspaces/%s",
	         ctx.cfg->shared_dir[0] != '\0' ? ctx.cfg->shared_dir : ctx.cfg->state_dir, id);
}

/* Its node, when it has one (swarm mode). */
static const struct node *
ws_node(const struct workspace *ws)
{
	const struct nodes *t = nodes_table();

	return ws->node >= 0 && (size_t)ws->node < t->count ? &t->n[ws->node] : NULL;
}

const char *
ws_public_host(const struct workspace *ws)
{
	const struct node *n = ws_node(ws);

	return n != NULL && n->addr[0] != '\0' ? n->addr : ctx.public_host;
}

const char *
ws_probe_host(const struct workspace *ws)
{
	const struct node *n = ws_node(ws);

	return n != NULL && n->addr[0] != '\0' ? n->addr : ctx.probe_host;
}

/* Where its user mounts are staged (see wsfs.c). */
static void
ws_stage_dir(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/mounts/%s", ctx.cfg->state_dir, id);
}

/* Only a failing workspace carries an error (most never do). */
static struct api_error *
ws_error_new(void)
{
	return xcalloc(1, sizeof(struct api_error));
}

void
ws_fail(struct workspace *ws, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (ws->error == NULL) {
		ws->error = ws_error_new();
		ws->error->status = status;
		snprintf(ws->error->code, sizeof(ws->error->code), "%s", code);
		va_start(ap, fmt);
		vsnprintf(ws->error->message, sizeof(ws->error->message), fmt, ap);
		va_end(ap);
	}
	log_warn("workspace %s (%s/%s) failed: %s", ws->id, ws->owner, ws->name,
	         ws->error->message);
	ws_teardown(ws);
}

/*
 * An engine call was asked for on ws's behalf: on success its callback
 * holds a reference; when it could not even be sent, the start fails.
 */
static int
ws_sent(struct workspace *ws, int rc)
{
	if (rc == 0) {
		ws_ref(ws);
		return 0;
	}
	ws_fail(ws, 500, "internal", "cannot start an engine call");
	return -1;
}

/* The engine did not answer: say so, and fail. */
static int
ws_engine_unreachable(struct workspace *ws, const struct engine_result *r, const char *what)
{
	if (r->status != ENGINE_UNREACHABLE)
		return 0;
	ws_fail(ws, 503, "engine_unavailable", "%s: the container engine is unreachable (%s)", what,
	        r->message);
	return 1;
}

/* The record the store keeps of it. */
static void
ws_row(const struct workspace *ws, struct store_ws_row *row, const char **uuids)
{
	const struct gpu_inventory *inv = gpu_inventory();

	for (int i = 0; i < ws->ngpus; i++)
		uuids[i] = inv->gpus[ws->gpu_pos[i]].uuid;
	memset(row, 0, sizeof(*row));
	row->id = ws->id;
	row->name = ws->name;
	row->owner = ws->owner;
	row->uid = (unsigned)ws->uid;
	row->tmpl = ws->tmpl->name;
	row->container_id = ws->container_id;
	row->created_at = ws->created_at;
	row->expires_at = ws->expires_at;
	row->extended = ws->extended;
	row->ready_at = ws->ready_at;
	row->gpu_uuids = uuids;
	row->ngpus = (size_t)ws->ngpus;
	row->ports[0] = ws->jupyter_port;
	row->ports[1] = ws->ssh_port;
}

/* ---- quota use ---- */

void
ws_quota_use(const struct ws_who *who, struct quota_use *use)
{
	double now = store_now(), since = now - USAGE_WEEK;
	struct workspace *ws;

	memset(use, 0, sizeof(*use));
	use->gpu_seconds = usage_closed_seconds(who->user, since, now);
	WS_FOREACH(ws) {
		if (ws->uid != who->uid)
			continue;
		if (ws->state == WS_QUEUED) {
			use->queued++; /* it holds nothing yet */
			continue;
		}
		use->workspaces++;
		use->gpus += ws->ngpus;
		if (ws->usage_start > 0 && ws->ngpus > 0)
			use->gpu_seconds +=
			    (now - (ws->usage_start > since ? ws->usage_start : since)) * ws->ngpus;
	}
}

/* ---- a start ---- */

static void
ws_refused(const struct ws_who *who, const char *name, const struct api_error *err)
{
	audit_refusal(who->user, (unsigned)who->uid, "start", name, "refused", err->message);
}

struct workspace *
ws_start(struct start_req *req, const struct ws_who *who, struct api_error *err)
{
	struct workspace *ws;
	struct quota q;
	struct quota_source src;
	struct quota_use use;
	struct quota_ask ask;
	int ngpus, queue_it;

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
	quotas_effective(who, &q, &src);
	ws_quota_use(who, &use);
	ws_ask(&ask, req->gpu.count, req->memory, req->shm, req->cpus, req->memory_given,
	       req->shm_given, req->cpus_given);
	if (quota_check(&q, &src, &use, &ask, err) == -1) {
		if (ask.refused < QL_N)
			metric_inc(metric_at(m_quota_refusals, quota_limit_name(ask.refused)), 1);
		ws_refused(who, req->name, err);
		return NULL;
	}
	ngpus = req->gpu.nids > 0 ? (int)req->gpu.nids : req->gpu.count;
	queue_it = ngpus > 0 && (size_t)ngpus <= gpu_inventory()->n && hooks.would_start &&
	           !hooks.would_start(ngpus, q.v[QL_LIFETIME]);
	if (queue_it && hooks.gpu_demand)
		hooks.gpu_demand(); /* GPUs are wanted: idle holders get less time */
	if (queue_it && !req->queue && !req->wait) {
		hooks.refuse(ngpus, err);
		ws_refused(who, req->name, err);
		return NULL;
	}
	if (queue_it) {
		/* Everything but the free GPUs, and one more queued start. */
		ask.queue = 1;
		if (quota_check(&q, &src, &use, &ask, err) == -1) {
			ws_refused(who, req->name, err);
			return NULL;
		}
	}
	ws = ws_new();
	ws_random_hex(ws->id, 6);
	snprintf(ws->name, sizeof(ws->name), "%s", req->name);
	ws->uid = who->uid;
	ws->tmpl = config_template_ref(req->tmpl);
	ws->image = xstrdup(req->tmpl->image);
	ws->memory = ask.memory;
	ws->shm = ask.shm;
	ws->cpus = ask.cpus;
	ws->memory_given = req->memory_given;
	ws->shm_given = req->shm_given;
	ws->cpus_given = req->cpus_given;
	snprintf(ws->owner, sizeof(ws->owner), "%s", who->user);
	if (who->ngroups > 0) {
		ws->groups = xcalloc(who->ngroups, sizeof(ws->groups[0]));
		memcpy(ws->groups, who->groups, who->ngroups * sizeof(ws->groups[0]));
		ws->ngroups = who->ngroups;
	}
	if (queue_it) {
		ws->want_gpus = ngpus;
		ws->queue_wait = req->wait;
		ws_move_keys(ws, req);
		ws->refs = 2; /* the registry and the caller */
		ws_register(ws);
		hooks.enqueue(ws);
		return ws;
	}
	if (ws_launch(ws, &req->gpu, &q, err) == -1) {
		ws_free_unregistered(ws);
		ws_refused(who, req->name, err);
		return NULL;
	}
	ws_move_keys(ws, req);
	ws->refs = 2; /* the registry and the caller */
	ws_register(ws);
	ws_record(ws);
	return ws;
}

static void
ws_ask(struct quota_ask *ask, int gpus, int64_t memory, int64_t shm, double cpus, int memory_given,
       int shm_given, int cpus_given)
{
	memset(ask, 0, sizeof(*ask));
	ask->gpus = gpus;
	ask->memory = memory;
	ask->shm = shm;
	ask->cpus = cpus;
	ask->memory_given = memory_given;
	ask->shm_given = shm_given;
	ask->cpus_given = cpus_given;
}

/* The request's keys and mounts become the workspace's. */
static void
ws_move_keys(struct workspace *ws, struct start_req *req)
{
	memcpy(ws->keys, req->ssh_keys, sizeof(ws->keys));
	ws->nkeys = req->nkeys;
	req->nkeys = 0;
	memcpy(ws->mounts, req->mounts, sizeof(ws->mounts));
	ws->nmounts = req->nmounts;
	req->nmounts = 0;
}

/*
 * Swarm mode: its node is its GPUs' node; without GPUs, the usable node
 * with the fewest workspaces.
 */
static int
ws_place(struct workspace *ws, struct api_error *err)
{
	const struct nodes *t = nodes_table();
	int load[NODES_MAX] = {0};
	struct workspace *o;

	if (ws->ngpus > 0) {
		ws->node = gpu_inventory()->gpus[ws->gpu_pos[0]].node;
		return 0;
	}
	TAILQ_FOREACH(o, &registry, link)
		if (o->node >= 0 && o->node < NODES_MAX && o->state != WS_STOPPED &&
		    o->state != WS_FAILED)
			load[o->node]++;
	if ((ws->node = nodes_pick_cpu(t, load)) < 0) {
		api_error_set(err, 503, "no_nodes",
		              "no server of the lab takes new workspaces now (%zu known); nothing "
		              "was created",
		              t->count);
		return -1;
	}
	return 0;
}

/*
 * Take its ports and GPUs and set its limits from q. Returns 0, or -1
 * with err and nothing taken.
 */
static int
ws_launch(struct workspace *ws, const struct gpu_request *g, const struct quota *q,
          struct api_error *err)
{
	struct timespec now;
	int jp, sp;

	jp = ports_take(0);
	sp = ports_take(0);
	if (jp < 0 || sp < 0) {
		ports_free(jp);
		ports_free(sp);
		api_error_set(err, 503, "no_ports", "no free ports left in %lld..%lld",
		              (long long)ctx.cfg->port_min, (long long)ctx.cfg->port_max);
		return -1;
	}
	ws->ngpus = gpu_pick(gpu_inventory(), g, ws->gpu_pos, err);
	if (ws->ngpus < 0) {
		if (strcmp(err->code, "no_gpus") == 0 && hooks.gpu_demand)
			hooks.gpu_demand(); /* idle holders of GPUs now get the shorter timeout */
		ws->ngpus = 0;
		ports_free(jp);
		ports_free(sp);
		return -1;
	}
	if (engine_remote() && ws_place(ws, err) == -1) {
		ws->ngpus = 0;
		ports_free(jp);
		ports_free(sp);
		return -1;
	}
	gpu_hold(gpu_inventory(), ws->gpu_pos, ws->ngpus, ws->id);
	ws->jupyter_port = jp;
	ws->ssh_port = sp;
	ws_random_hex(ws->token, 32); /* 256 bits */
	clock_gettime(CLOCK_REALTIME, &now);
	ws->created_at = now.tv_sec;
	if (q->v[QL_LIFETIME] >= 0)
		ws->expires_at = now.tv_sec + (int64_t)q->v[QL_LIFETIME];
	ws->gpu_hours = q->v[QL_GPU_HOURS];
	ws->idle_timeout = q->v[QL_IDLE_TIMEOUT] >= 0 ? (int64_t)q->v[QL_IDLE_TIMEOUT] : -1;
	ws->start_ns = uv_hrtime();
	return 0;
}

/* On record, audited, before anything is made; a dispatched start leaves the queue. */
static void
ws_record(struct workspace *ws)
{
	struct store_ws_row row;
	const char *uuids[GPU_MAX];
	struct store_tx *tx;

	ws_set_state(ws, WS_PREPARING);
	tx = store_tx_new();
	ws_row(ws, &row, uuids);
	store_ws_record_tx(tx, &row);
	store_ws_accepted_tx(tx, &row);
	if (ws->queued_at > 0)
		store_queue_remove_tx(tx, ws->id);
	ws_ref(ws);
	if (store_tx_run(tx, ws_recorded, ws) == -1) {
		ws_unref(ws);
		ws_fail(ws, 503, "state_unavailable", "wsd's state store is not running");
		return;
	}
	if (hooks.name_taken) /* the name's last failure is history now */
		hooks.name_taken(ws->uid, ws->name);
	/* Boots are paced in this order (boot.c), whenever each preparation ends. */
	ws->boot.seq = ++arrivals;
	log_info("workspace %s (%s/%s) starting: template %s, %d GPUs%s", ws->id, ws->owner,
	         ws->name, ws->tmpl->name, ws->ngpus, ws->queued_at > 0 ? " (from the queue)" : "");
}

int
ws_queued_quota(struct workspace *ws, struct api_error *err)
{
	struct ws_who who = {ws->uid, ws->owner, (const char(*)[UNIX_NAME_MAX + 1]) ws->groups,
	                     ws->ngroups};
	struct quota q;
	struct quota_source src;
	struct quota_use use;
	struct quota_ask ask;

	quotas_effective(&who, &q, &src);
	ws_quota_use(&who, &use);
	ws_ask(&ask, ws->want_gpus, ws->memory, ws->shm, ws->cpus, ws->memory_given, ws->shm_given,
	       ws->cpus_given);
	return quota_check(&q, &src, &use, &ask, err);
}

int
ws_dispatch(struct workspace *ws)
{
	struct ws_who who = {ws->uid, ws->owner, (const char(*)[UNIX_NAME_MAX + 1]) ws->groups,
	                     ws->ngroups};
	struct gpu_request g = {0};
	struct api_error err;
	struct quota q;

	g.count = ws->want_gpus;
	quotas_effective(&who, &q, NULL);
	if (ws_queued_quota(ws, &err) == -1 || ws_launch(ws, &g, &q, &err) == -1) {
		ws_fail(ws, err.status, err.code, "%s", err.message);
		return -1;
	}
	log_info("workspace %s (%s/%s) leaves the queue after %.1f s", ws->id, ws->owner, ws->name,
	         store_now() - ws->queued_at);
	notice_post(NOTICE_DISPATCHED, ws, 0, NULL);
	ws_record(ws);
	return 0;
}

void
ws_requeue(struct workspace *ws)
{
	ws->refs = 1; /* the registry's */
	ws_register(ws);
}

void
ws_progress(struct workspace *ws)
{
	ws_notify(ws, WS_EV_PROGRESS);
}

/* Preparing on a pool thread: the user, the home, the workspace's files, the mounts. */
struct ws_prep {
	uv_work_t work;
	struct workspace *ws;
	char dir[512];
	char stage_dir[512];
	/* The config's, copied on the loop: a reload may free the originals meanwhile. */
	char *home_root, *mount_roots, *shared_mount_roots, *mount_points;
	struct wsfs_out out;
};

static void
ws_prep_free(struct ws_prep *p)
{
	free(p->home_root);
	free(p->mount_roots);
	free(p->shared_mount_roots);
	free(p->mount_points);
	free(p);
}

/* The record is in the store: now the start may make things. */
static void
ws_recorded(void *arg, int ok, const char *why, json_t *rows)
{
	struct workspace *ws = arg;
	struct ws_prep *p;

	(void)rows;
	if (!ok) {
		ws_fail(
		    ws, 503, "state_unavailable",
		    "cannot record the workspace in wsd's state store (%s); nothing was created",
		    why);
		goto out;
	}
	ws->recorded = 1;
	if (ws_stopped_meanwhile(ws))
		goto out;
	p = xcalloc(1, sizeof(*p));
	p->ws = ws;
	ws_dir(ws->id, p->dir, sizeof(p->dir));
	ws_stage_dir(ws->id, p->stage_dir, sizeof(p->stage_dir));
	p->home_root = xstrdup(ctx.cfg->home_root);
	p->mount_roots = xstrdup(ctx.cfg->mount_roots);
	p->shared_mount_roots = xstrdup(ctx.cfg->shared_mount_roots);
	p->mount_points = xstrdup(ctx.cfg->mount_points);
	p->work.data = p;
	ws_ref(ws);
	if (uv_queue_work(ctx.loop, &p->work, ws_prepare_work, ws_prepared) != 0) {
		ws_prep_free(p);
		ws_unref(ws);
		ws_fail(ws, 500, "internal", "cannot queue work");
	}
out:
	ws_unref(ws);
}

static void
ws_prepare_work(uv_work_t *w)
{
	struct ws_prep *p = w->data;
	struct wsfs_in in = {0};

	in.uid = p->ws->uid;
	in.home_root = p->home_root;
	in.ws_dir = p->dir;
	in.stage_dir = p->stage_dir;
	in.token = p->ws->token;
	in.keys = p->ws->keys;
	in.nkeys = p->ws->nkeys;
	in.mount_roots = p->mount_roots;
	in.shared_mount_roots = p->shared_mount_roots;
	in.mount_points = p->mount_points;
	in.mounts = p->ws->mounts;
	in.nmounts = p->ws->nmounts;
	in.direct = engine_remote();
	if (wsfs_prepare(&in, &p->out) == -1)
		p->out.status = p->out.status ? p->out.status : 500;
	else
		p->out.status = 0;
}

static void
ws_prepared(uv_work_t *w, int status)
{
	struct ws_prep *p = w->data;
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
			ws->mounts[i].source = xstrdup(p->out.mount_real[i]);
		}
		if (!ws_stopped_meanwhile(ws))
			ws_boot(ws);
	} else {
		ws_fail(ws, p->out.status,
		        p->out.status == 500   ? "internal"
		        : p->out.status == 400 ? "invalid_value"
		                               : "forbidden",
		        "%s", p->out.err);
	}
	ws_prep_free(p);
	ws_unref(ws);
}

/*
 * Its boot (create, start, readiness) takes a slot of the pacing: at once
 * when one is free, else in order of arrival ("pending").
 */
static void
ws_boot(struct workspace *ws)
{
	ws->boot.go = ws_boot_go;
	ws->boot.tmpl = ws->tmpl->seq;
	boot_request(&ws->boot);
	if (ws->boot.state == 1)
		ws_set_state(ws, WS_PENDING);
}

#define WS_OF_TICKET(t) ((struct workspace *)((char *)(t)-offsetof(struct workspace, boot)))

static void
ws_boot_go(struct boot_ticket *t)
{
	ws_create(WS_OF_TICKET(t));
}

/* The queue moved: every pending start hears where it stands now. */
static void
ws_boot_moved(void)
{
	struct workspace *ws, *next;

	for (ws = TAILQ_FIRST(&registry); ws; ws = next) {
		next = TAILQ_NEXT(ws, link);
		if (ws->state == WS_PENDING)
			ws_notify(ws, WS_EV_PROGRESS);
	}
}

/* Ask the engine for this workspace's container, as spec.c describes it. */
static void
ws_create(struct workspace *ws)
{
	char home[512], etc[512], sdir[512], stage[WS_MOUNTS_MAX][560];
	const char *mount_src[WS_MOUNTS_MAX], *uuids[GPU_MAX];
	struct spec_in in = {0};

	snprintf(home, sizeof(home), "%s/%s", ctx.cfg->home_root, ws->owner);
	ws_dir(ws->id, etc, sizeof(etc));
	ws_stage_dir(ws->id, sdir, sizeof(sdir));
	for (int i = 0; i < ws->ngpus; i++)
		uuids[i] = gpu_inventory()->gpus[ws->gpu_pos[i]].uuid;
	/*
	 * Targets in the home are mounted by wsd inside the staged home
	 * (wsfs.c), which the engine then gets as the home.
	 */
	for (size_t i = 0; i < ws->nmounts; i++) {
		snprintf(stage[i], sizeof(stage[i]), "%s/%zu", sdir, i);
		mount_src[i] = stage[i];
		/* Swarm mode: the node binds the checked real path (wsfs.h, direct). */
		if (engine_remote()) {
			mount_src[i] = ws->mounts[i].source;
			continue;
		}
		if (path_under(ws->mounts[i].target, "/home")) {
			mount_src[i] = NULL;
			snprintf(home, sizeof(home), "%s/home", sdir);
		}
	}
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
	in.gpu_hours = ws->gpu_hours;
	in.idle_timeout = ws->idle_timeout;
	in.gpu_uuids = uuids;
	in.ngpus = (size_t)ws->ngpus;
	in.gpu_mode = ctx.gpu_mode;
	in.instance = ctx.cfg->instance;
	in.network = ctx.cfg->network;
	in.node_id = ws_node(ws) != NULL ? ws_node(ws)->id : NULL;
	in.mounts = ws->mounts;
	in.nmounts = ws->nmounts;
	in.mount_src = mount_src;
	ws_set_state(ws, WS_CREATING);
	ws->create_sent = 1;
	ws_sent(ws, engine_create(&in, ws_created, ws));
}

static void
ws_created(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	if (r->status == ENGINE_OK)
		snprintf(ws->container_id, sizeof(ws->container_id), "%s", r->ref);
	else if (r->status != ENGINE_UNREACHABLE)
		ws->create_sent = 0; /* a definite no: nothing of ours exists by that name */
	if (ws_stopped_meanwhile(ws) || ws_engine_unreachable(ws, r, "create"))
		goto out;
	if (r->status == ENGINE_GONE) {
		ws_fail(ws, 502, "start_failed",
		        "image %s is not on the engine (an admin must build it; see templates/)",
		        ws->image);
		goto out;
	}
	if (r->status != ENGINE_OK) {
		ws_fail(ws, 502, "start_failed", "the engine refused the container: %s",
		        r->message);
		goto out;
	}
	ws_set_state(ws, WS_STARTING);
	ws_sent(ws, engine_start(ws->container_id, ws_started, ws));
out:
	ws_unref(ws);
}

static void
ws_started(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	if (ws_stopped_meanwhile(ws) || ws_engine_unreachable(ws, r, "start"))
		goto out;
	if (r->status == ENGINE_PORT_TAKEN && ws->port_retries < PORT_RETRIES) {
		ws_port_retry(ws);
		goto out;
	}
	if (r->status == ENGINE_PORT_TAKEN) {
		/* The next start gets other ports. */
		ports_quarantine(ws->jupyter_port);
		ports_quarantine(ws->ssh_port);
		ws_fail(ws, 409, "start_failed",
		        "host port %d or %d is already taken by another program; try again",
		        ws->jupyter_port, ws->ssh_port);
		goto out;
	}
	if (r->status != ENGINE_OK) {
		ws_fail(ws, 502, "start_failed", "the engine could not start it: %s",
		        r->message ? r->message : "engine error");
		goto out;
	}
	ws_unstage(ws);
	if (ws->adopted)
		ws_begin_waiting(ws);
	else
		ws_sent(ws, engine_inspect(ws->container_id, ws_inspected, ws));
out:
	ws_unref(ws);
}

/*
 * Another program took one of its ports between the bind test and the
 * engine's bind: give the ports up for a while, take others, and make the
 * container again with them.
 */
static void
ws_port_retry(struct workspace *ws)
{
	struct store_ws_row row;
	const char *uuids[GPU_MAX];
	int jp, sp;

	ws->port_retries++;
	ports_quarantine(ws->jupyter_port);
	ports_quarantine(ws->ssh_port);
	jp = ports_take(0);
	sp = ports_take(0);
	if (jp < 0 || sp < 0) {
		ports_free(jp);
		ports_free(sp);
		ws_fail(ws, 503, "no_ports",
		        "host ports %d and %d are taken and no others are free", ws->jupyter_port,
		        ws->ssh_port);
		return;
	}
	log_info("workspace %s: host port %d or %d taken by another program; retrying on %d, %d",
	         ws->id, ws->jupyter_port, ws->ssh_port, jp, sp);
	ports_free(ws->jupyter_port);
	ports_free(ws->ssh_port);
	ws->jupyter_port = jp;
	ws->ssh_port = sp;
	ws_row(ws, &row, uuids);
	store_ws_record(&row);
	ws_sent(ws, engine_remove(ws->container_id, ws->id, ws->owner, ws->name,
	                          ws_port_retry_removed, ws));
}

static void
ws_port_retry_removed(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	if (r->status == ENGINE_OK) {
		ws->container_id[0] = '\0';
		ws->create_sent = 0;
	}
	if (ws_stopped_meanwhile(ws) || ws_engine_unreachable(ws, r, "remove"))
		goto out;
	if (r->status != ENGINE_OK) {
		ws_fail(ws, 502, "start_failed", "cannot remove the container to retry: %s",
		        r->message ? r->message : "engine error");
		goto out;
	}
	ws_create(ws);
out:
	ws_unref(ws);
}

struct ws_unstage {
	uv_work_t work;
	char dir[512];
};

static void
ws_unstage_work(uv_work_t *w)
{
	struct ws_unstage *u = w->data;

	if (wsfs_unstage(u->dir) == -1)
		log_warn("cannot remove the staged mounts in %s: %s", u->dir, strerror(errno));
}

static void
ws_unstage_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

/*
 * The container runs: its mount namespace holds its own copies of the
 * staged mounts, so the staging points can go.
 */
static void
ws_unstage(const struct workspace *ws)
{
	struct ws_unstage *u;

	if (ws->nmounts == 0)
		return;
	u = xcalloc(1, sizeof(*u));
	ws_stage_dir(ws->id, u->dir, sizeof(u->dir));
	u->work.data = u;
	if (uv_queue_work(ctx.loop, &u->work, ws_unstage_work, ws_unstage_done) != 0)
		free(u);
}

static void
ws_inspected(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	if (ws_stopped_meanwhile(ws) || ws_engine_unreachable(ws, r, "inspect"))
		goto out;
	if (r->status != ENGINE_OK) {
		ws_fail(ws, 502, "start_failed", "cannot inspect the container: %s",
		        r->message ? r->message : "engine error");
		goto out;
	}
	/* The engine is the truth for ports. */
	if (r->ws.jupyter_port > 0 && r->ws.ssh_port > 0) {
		ws->jupyter_port = r->ws.jupyter_port;
		ws->ssh_port = r->ws.ssh_port;
	}
	ws_begin_waiting(ws);
out:
	ws_unref(ws);
}

/* ---- readiness ---- */

static void
ws_begin_waiting(struct workspace *ws)
{
	ws_set_state(ws, WS_WAITING);
	ws->deadline = uv_now(ctx.loop) + (uint64_t)ctx.cfg->ready_timeout * 1000;
	ws_probe_round(ws);
}

/*
 * One round: Jupyter's /api/status with the token, an SSH key exchange
 * that must show the host key the workspace was given, and now and then
 * whether the container still runs.
 */
static void
ws_probe_round(struct workspace *ws)
{
	char url[512];
	struct fetch_opts o = {0};

	if (ws->state != WS_WAITING || ws->probes_out > 0)
		return;
	ws->attempts++;
	if (!ws->jupyter_ok) {
		const char *ph = ws_probe_host(ws);

		snprintf(url, sizeof(url), "http://%s%s%s:%d/api/status?token=%s",
		         strchr(ph, ':') ? "[" : "", ph, strchr(ph, ':') ? "]" : "",
		         ws->jupyter_port, ws->token);
		o.url = url;
		o.timeout_ms = 2000;
		o.max_body = 65536;
		if (fetch_start(&o, ws_jupyter_probed, ws) == 0) {
			ws_ref(ws);
			ws->probes_out++;
		}
		explicit_bzero(url, sizeof(url));
	}
	if (!ws->ssh_ok && probe_ssh(ctx.loop, ws_probe_host(ws), ws->ssh_port, ws->host_key_pub,
	                             ws_ssh_probed, ws) == 0) {
		ws_ref(ws);
		ws->probes_out++;
	}
	if (ws->attempts % ALIVE_CHECK_EVERY == 0 &&
	    engine_inspect(ws->container_id, ws_alive_checked, ws) == 0) {
		ws_ref(ws);
		ws->probes_out++;
	}
	if (ws->probes_out == 0)
		ws_probes_settled(ws);
}

static void
ws_probe_timer(uv_timer_t *t)
{
	ws_probe_round(t->data);
}

static void
ws_jupyter_probed(void *arg, const struct fetch_reply *r)
{
	struct workspace *ws = arg;

	ws->probes_out--;
	if (r->status == 200)
		ws->jupyter_ok = 1;
	ws_probes_settled(ws);
	ws_unref(ws);
}

static void
ws_ssh_probed(void *arg, int ok, const char *why)
{
	struct workspace *ws = arg;

	(void)why;
	ws->probes_out--;
	if (ok)
		ws->ssh_ok = 1;
	ws_probes_settled(ws);
	ws_unref(ws);
}

static void
ws_alive_checked(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	ws->probes_out--;
	if (ws->state == WS_WAITING && r->status == ENGINE_GONE) {
		ws_fail(ws, 502, "start_failed", "the container disappeared during start-up");
	} else if (ws->state == WS_WAITING && r->status == ENGINE_OK && !r->ws.running) {
		/* It exited: its last words are the reason. */
		uv_timer_stop(&ws->timer);
		if (engine_logs_tail(ws->container_id, ws_logs_read, ws) == 0) {
			ws_ref(ws);
			ws->probes_out++; /* keeps ws_probes_settled quiet until the logs are read
			                   */
		} else {
			ws_fail(ws, 502, "start_failed", "the workspace exited during start-up");
		}
	} else {
		ws_probes_settled(ws);
	}
	ws_unref(ws);
}

static void
ws_logs_read(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;
	char line[256];
	size_t n;

	/*
	 * The reason goes to the log, the audit and the store: an image that
	 * prints its Jupyter URL last must not leave the token there.
	 */
	n = (size_t)snprintf(line, sizeof(line), "%s", r->log_line ? r->log_line : "");
	n = n < sizeof(line) ? n : sizeof(line) - 1;
	/* The engine's line is at most 199 bytes: a longer one was cut, maybe in a token. */
	n = logline_filter(line, n, sizeof(line), ws->token, n >= 199);
	line[n] = '\0';
	ws_fail(ws, 502, "start_failed", "the workspace exited during start-up%s%s",
	        line[0] ? ": " : "", line);
	ws_unref(ws);
}

static void
ws_probes_settled(struct workspace *ws)
{
	if (ws->probes_out > 0 || ws->state != WS_WAITING)
		return;
	if (ws_stopped_meanwhile(ws))
		return;
	if (ws->jupyter_ok && ws->ssh_ok) {
		ws_became_ready(ws);
		return;
	}
	if (uv_now(ctx.loop) >= ws->deadline) {
		ws_fail(ws, 504, "timeout",
		        "not ready within %llds (jupyter %s, ssh %s); see the container's log",
		        (long long)ctx.cfg->ready_timeout, ws->jupyter_ok ? "up" : "not answering",
		        ws->ssh_ok ? "up" : "not answering");
		return;
	}
	uv_timer_start(&ws->timer, ws_probe_timer, PROBE_INTERVAL_MS, 0);
}

static void
ws_became_ready(struct workspace *ws)
{
	struct store_ws_row row;
	const char *uuids[GPU_MAX];
	struct timespec now;

	uv_timer_stop(&ws->timer);
	boot_done(&ws->boot, 1);
	clock_gettime(CLOCK_REALTIME, &now);
	if (!ws->adopted || ws->ready_at == 0)
		ws->ready_at = now.tv_sec;
	ws_set_state(ws, WS_READY);
	if (ws->idle_since <= 0) /* the idle clock starts at ready (adopted: where it was) */
		ws->idle_since = (double)ws->ready_at;
	if (ws->usage_start <= 0) {
		ws->usage_start = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
		store_usage_open(ws->id, ws->owner, (unsigned)ws->uid, ws->name, ws->ngpus,
		                 ws->usage_start);
	}
	ws_row(ws, &row, uuids);
	store_ws_record(&row);
	ws->recorded = 1;
	log_info("workspace %s (%s/%s) ready: jupyter port %d, ssh port %d%s", ws->id, ws->owner,
	         ws->name, ws->jupyter_port, ws->ssh_port, ws->adopted ? " (adopted)" : "");
	/* Its owner may have gone home: a queued start tells them it is ready. */
	if (ws->queued_at > 0)
		notice_post(NOTICE_READY, ws, 0, NULL);
	ws_notify(ws, WS_EV_READY);
}

/* ---- stop and teardown ---- */

void
ws_stop(struct workspace *ws)
{
	ws->stop_requested = 1;
	/* A step in flight sees stop_requested when it returns; a pending one has none. */
	if (ws->state == WS_READY || ws->state == WS_WAITING || ws->state == WS_PENDING ||
	    ws->state == WS_QUEUED)
		ws_teardown(ws);
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
ws_stopped_meanwhile(struct workspace *ws)
{
	if (!ws->stop_requested && !shutting_down)
		return 0;
	ws_teardown(ws);
	return 1;
}

/*
 * The metrics' GPU-seconds counter, per owner: what a ready workspace used
 * since it was last counted (or since wsd started), so that it only rises.
 */
static void
ws_usage_count(struct workspace *ws, double now)
{
	double from = ws->usage_start;

	if (ws->usage_start <= 0 || ws->ngpus <= 0)
		return;
	if (from < ws->usage_counted)
		from = ws->usage_counted;
	if (from < ws_metrics_epoch)
		from = ws_metrics_epoch;
	if (now > from)
		metric_inc(metric_at(m_gpu_seconds, ws->owner), (now - from) * ws->ngpus);
	ws->usage_counted = now;
}

void
ws_usage_metrics(void)
{
	struct workspace *ws;
	double now = store_now();

	WS_FOREACH(ws)
		ws_usage_count(ws, now);
}

/* Usage stops counting when the workspace stops being usable. */
static void
ws_usage_stop(struct workspace *ws)
{
	double now = store_now();

	if (ws->usage_start <= 0)
		return;
	ws_usage_count(ws, now);
	usage_add(ws->owner, ws->ngpus, ws->usage_start, now);
	store_usage_close(ws->id, now);
	ws->usage_start = 0;
}

/* Remove what the start made. Runs once per workspace. */
static void
ws_teardown(struct workspace *ws)
{
	if (ws->state == WS_STOPPING || ws->state >= WS_STOPPED)
		return;
	if (ws->state == WS_QUEUED) {
		ws_unqueue(ws);
		return;
	}
	uv_timer_stop(&ws->timer);
	boot_done(&ws->boot, 0);
	ws_set_state(ws, WS_STOPPING);
	if (shutting_down) { /* it keeps running: a restarted wsd adopts it */
		ws_unregister(ws);
		ws_notify(ws, ws->error ? WS_EV_FAILED : WS_EV_STOPPED);
		return;
	}
	ws_usage_stop(ws);
	if (ws->container_id[0] == '\0' && !ws->create_sent) {
		ws_ref(ws);
		ws_remove_dir(ws);
		return;
	}
	/* A graceful stop first: Jupyter and sshd get SIGTERM. */
	if (ws->error == NULL && ws->container_id[0] != '\0' &&
	    engine_stop(ws->container_id, ctx.cfg->stop_timeout, ws_stopped, ws) == 0) {
		ws_ref(ws);
		return;
	}
	/* A failure's last lines outlive its container (wsctl logs). */
	if (ws->error != NULL && ws->container_id[0] != '\0' && !ws->logs_kept && hooks.keep_logs &&
	    hooks.keep_logs(ws, ws_remove_object) == 0) {
		ws->logs_kept = 1;
		return;
	}
	ws_remove_object(ws);
}

static void
ws_stopped(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	(void)r; /* removal with force follows whatever stop said */
	ws_remove_object(ws);
	ws_unref(ws);
}

static void
ws_retry_remove(uv_timer_t *t)
{
	ws_remove_object(t->data);
}

/*
 * Remove its container, by reference, or by what a create that timed out
 * would have made when there is none.
 */
static void
ws_remove_object(struct workspace *ws)
{
	ws_ref(ws);
	if (engine_remove(ws->container_id, ws->id, ws->owner, ws->name, ws_removed, ws) == -1) {
		struct engine_result r = {.status = ENGINE_UNREACHABLE,
		                          .message = "cannot start an engine call"};

		ws_removed(ws, &r);
	}
}

static void
ws_removed(void *arg, const struct engine_result *r)
{
	struct workspace *ws = arg;

	if (r->status != ENGINE_OK) {
		/*
		 * The container may still run and hold its GPUs: keep them, say so
		 * to whoever waits, and try again until the engine agrees.
		 */
		log_err("workspace %s: cannot remove container %.12s: %s; retrying", ws->id,
		        ws->container_id, r->message ? r->message : "?");
		if (ws->error == NULL) {
			ws->error = ws_error_new();
			api_error_set(ws->error, 503, "engine_unavailable",
			              "cannot remove the container: %s",
			              r->message ? r->message : "engine error");
		}
		ws_notify(ws, WS_EV_FAILED);
		if (!shutting_down)
			uv_timer_start(&ws->timer, ws_retry_remove, REMOVE_RETRY_MS, 0);
		ws_unref(ws);
		return;
	}
	ws->container_id[0] = '\0';
	ws_remove_dir(ws); /* keeps our reference */
}

static void
ws_dir_remove_work(uv_work_t *w)
{
	struct workspace *ws = w->data;
	char dir[512];

	ws_stage_dir(ws->id, dir, sizeof(dir));
	wsfs_unstage(dir);
	ws_dir(ws->id, dir, sizeof(dir));
	wsfs_remove(dir);
}

static void
ws_remove_dir(struct workspace *ws)
{
	uv_work_t *w = xcalloc(1, sizeof(*w));

	w->data = ws;
	if (uv_queue_work(ctx.loop, w, ws_dir_remove_work, ws_dir_removed) != 0) {
		ws_dir_remove_work(w);
		ws_dir_removed(w, 0);
	}
}

/* Everything it made is gone: free what it held and say so. */
static void
ws_dir_removed(uv_work_t *w, int status)
{
	struct workspace *ws = w->data;

	(void)status;
	free(w);
	ports_free(ws->jupyter_port);
	ports_free(ws->ssh_port);
	ws->jupyter_port = ws->ssh_port = 0;
	if (ws->ngpus > 0) {
		gpu_release(gpu_inventory(), ws->id);
		ws->ngpus = 0;
	}
	if (ws->recorded)
		store_ws_unrecord(ws->id, store_now());
	if (ws->error != NULL) {
		if (!ws->logs_kept && hooks.keep_reason) /* no container to read: the reason */
			hooks.keep_reason(ws);
		store_audit(ws->owner, (unsigned)ws->uid, "workspace_failed", ws->name, "failed",
		            ws->error->message);
		ws_set_state(ws, WS_FAILED);
		ws_unregister(ws);
		ws_notify(ws, WS_EV_FAILED);
	} else {
		ws_set_state(ws, WS_STOPPED);
		log_info("workspace %s (%s/%s) stopped; home kept", ws->id, ws->owner, ws->name);
		ws_unregister(ws);
		ws_notify(ws, WS_EV_STOPPED);
	}
	ws_unref(ws);
	/* GPUs or a quota came free: the queue's head takes them in this same step. */
	ws_changed();
}

/*
 * A queued start cancelled (stop, a --wait client gone) or failed at
 * dispatch: it made nothing, so it only leaves the queue. At shutdown it
 * stays on record for the next wsd.
 */
static void
ws_unqueue(struct workspace *ws)
{
	ws_set_state(ws, WS_STOPPING);
	if (!shutting_down) {
		store_queue_remove(ws->id);
		store_audit(ws->owner, (unsigned)ws->uid, ws->error ? "queue_failed" : "unqueue",
		            ws->name, ws->error ? "failed" : "ok", ws->id);
		log_info("workspace %s (%s/%s) left the queue: %s", ws->id, ws->owner, ws->name,
		         ws->error ? ws->error->message : "cancelled");
	}
	ws_set_state(ws, ws->error ? WS_FAILED : WS_STOPPED);
	ws_unregister(ws);
	ws_notify(ws, ws->error ? WS_EV_FAILED : WS_EV_STOPPED);
	if (!shutting_down)
		ws_changed();
}

/* ---- adoption (reconcile.c) ---- */

struct workspace *
ws_new(void)
{
	struct workspace *ws = xcalloc(1, sizeof(*ws));

	LIST_INIT(&ws->waiters);
	ws->idle_timeout = -1;
	ws->node = -1;
	return ws;
}

void
ws_adopt(struct workspace *ws)
{
	ws->refs = 1; /* the registry's */
	ws->adopted = 1;
	ws->seen = 1;
	ws_register(ws);
	/*
	 * A workspace that was ready, in a container that kept running, is
	 * ready: its entrypoint ends the container when Jupyter or sshd dies.
	 * Any other is probed again (it was running, but was it ready?): no
	 * key exchange with hundreds of sshds after a restart of wsd.
	 */
	if (ws->ready_at > 0) {
		ws_set_state(ws, WS_WAITING);
		ws_became_ready(ws);
	} else {
		ws_begin_waiting(ws);
	}
}

/* ---- shutdown ---- */

void
ws_shutdown(void)
{
	struct workspace *ws;

	shutting_down = 1;
	while ((ws = TAILQ_FIRST(&registry)) != NULL) {
		uv_timer_stop(&ws->timer);
		ws_unregister(ws);
		ws_notify(ws, WS_EV_STOPPED);
	}
	ports_shutdown();
	boot_shutdown();
	memtrim_stop();
	usage_shutdown();
	quotas_shutdown();
}
