/*
 * The engine seam's backend for a Docker Swarm (engine_mode = swarm):
 * wsd talks to a manager's Engine API; a workspace is one service named
 * wslab-ID with one task, placed on the node wsd chose (node.id==), its
 * image given by ID, restart condition none. wsd decides (node, GPUs,
 * ports, limits); the Swarm runs it.
 *
 * How a container setting travels (docs/scale-out.md has the table):
 * spec_build makes today's container body and swarm_spec.c carries every
 * setting a service can: user, env, labels, mounts, CapDrop ALL, init,
 * memory, CPUs, pids, ulimits, log options, and /dev/shm as a sized tmpfs.
 * What a service cannot carry on Engine 20.10 (no-new-privileges, swap) is
 * the node's daemon setting; the workspace entrypoint refuses to run
 * without NoNewPrivs, and a start that fails so marks the node unfit.
 * GPUs travel as NVIDIA_VISIBLE_DEVICES (the node's default runtime is
 * nvidia), never as a Swarm reservation: Swarm would pick the UUID.
 *
 * The Swarm has no task events: a timer (swarm_poll) reads the nodes
 * (the GPU inventory and node states, nodes.c) and the tasks of this
 * instance's services, and reports a task that stopped running as DIED.
 * Every call goes through docker.c (curl multi on the loop).
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <uv.h>

#include "docker.h"
#include "engine_common.h"
#include "gpu.h"
#include "log.h"
#include "node_agent.h"
#include "nodes.h"
#include "swarm_spec.h"
#include "xmalloc.h"

#define READ_MS 10000
#define LIST_MS 30000
#define WATCH_MS 100 /* how often a start or stop looks at its task */

static const struct config *cfg;
static uv_loop_t *loop;

/* ---- small helpers ---- */

static long
change_ms(void)
{
	return (long)cfg->engine_timeout * 1000;
}

static void
service_filter(const char *ref, char *out, size_t len)
{
	char json[200], *e;

	snprintf(json, sizeof(json), "{\"service\":[\"%s\"]}", ref);
	e = curl_easy_escape(NULL, json, 0);
	snprintf(out, len, "%s", e ? e : "");
	curl_free(e);
}

static enum engine_status
status_of(long st)
{
	if (st == 0)
		return ENGINE_UNREACHABLE;
	if (st == 404)
		return ENGINE_GONE;
	return st >= 400 ? ENGINE_REFUSED : ENGINE_OK;
}

/* A task's state: still on its way, running, or over. */
enum task_phase { TASK_COMING, TASK_RUNNING, TASK_OVER };

static enum task_phase
task_phase(const json_t *task)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(task, "Status"), "State"));

	if (s == NULL)
		return TASK_COMING;
	if (strcmp(s, "running") == 0)
		return TASK_RUNNING;
	if (strcmp(s, "complete") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "shutdown") == 0 ||
	    strcmp(s, "rejected") == 0 || strcmp(s, "orphaned") == 0 || strcmp(s, "remove") == 0)
		return TASK_OVER;
	return TASK_COMING;
}

/* The newest task of a list (tasks of one service). */
static const json_t *
task_newest(const json_t *tasks, const char *service)
{
	const json_t *t, *best = NULL;
	size_t i;

	json_array_foreach(tasks, i, t)
	{
		const char *sid = json_string_value(json_object_get(t, "ServiceID"));
		const char *ts = json_string_value(json_object_get(t, "CreatedAt"));
		const char *bs =
		    best ? json_string_value(json_object_get(best, "CreatedAt")) : NULL;

		if (service != NULL && (sid == NULL || strcmp(sid, service) != 0))
			continue;
		if (best == NULL || (ts != NULL && bs != NULL && strcmp(ts, bs) > 0))
			best = t;
	}
	return best;
}

/* The task's error, innermost part (a hook's stderr, an entrypoint's refusal). */
static const char *
task_error(const json_t *task)
{
	const json_t *st = json_object_get(task, "Status");
	const char *e = json_string_value(json_object_get(st, "Err"));

	if (e == NULL || e[0] == '\0')
		e = json_string_value(json_object_get(st, "Message"));
	return e != NULL ? engine_reason(e) : "the task ended";
}

/* Published ports of a service spec (what wsd chose) or a task's PortStatus. */
static void
ports_read(const json_t *ports, struct engine_ws *w)
{
	const json_t *p;
	size_t i;

	json_array_foreach(ports, i, p)
	{
		json_int_t target = json_integer_value(json_object_get(p, "TargetPort"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublishedPort"));

		if (target == SPEC_JUPYTER_PORT && pub > 0)
			w->jupyter_port = (int)pub;
		else if (target == SPEC_SSH_PORT && pub > 0)
			w->ssh_port = (int)pub;
	}
}

/* The node a service is placed on, from its constraint "node.id==ID". */
static const char *
service_node(const json_t *svc, char *buf, size_t len)
{
	const json_t *c = json_object_get(
	    json_object_get(json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"),
	                    "Placement"),
	    "Constraints");
	const json_t *v;
	size_t i;

	json_array_foreach(c, i, v)
	{
		const char *s = json_string_value(v);

		if (s != NULL && strncmp(s, "node.id==", 9) == 0) {
			snprintf(buf, len, "%s", s + 9);
			return buf;
		}
	}
	return NULL;
}

/* ---- the service spec ---- */

/* ---- one operation: a call, or a chain of calls, then the callback ---- */

enum op_kind {
	OP_CREATE,
	OP_START,
	OP_INSPECT,
	OP_STOP,
	OP_REMOVE,
	OP_LIST,
	OP_LOGS,
};

struct op {
	enum op_kind kind;
	engine_cb *cb;
	void *arg;
	json_t *body;        /* create: the spec, until the image is known */
	char ref[80];        /* the service */
	char node[40];       /* create: its node */
	json_t *services;    /* list: the services, until the tasks come */
	uv_timer_t timer;    /* start, stop: the next look at the task */
	LIST_ENTRY(op) link; /* in watching, while it has a timer */
	uint64_t deadline;   /* loop time */
	char msg[512];
};

static void
op_free(struct op *o)
{
	json_decref(o->body);
	json_decref(o->services);
	free(o);
}

/* Operations with a timer: at shutdown the loop closed their timers unasked. */
static LIST_HEAD(, op) watching = LIST_HEAD_INITIALIZER(watching);

static void
op_timer_closed(uv_handle_t *h)
{
	struct op *o = h->data;

	LIST_REMOVE(o, link);
	op_free(o);
}

/* Report and free (a timer of its own is closed first). */
static void
op_finish(struct op *o, struct engine_result *res, int timer)
{
	o->cb(o->arg, res);
	if (timer) {
		o->timer.data = o;
		uv_close((uv_handle_t *)&o->timer, op_timer_closed);
	} else {
		op_free(o);
	}
}

static void
op_fail(struct op *o, long st, const char *why, int timer)
{
	struct engine_result res = {0};

	res.status = status_of(st);
	if (res.status == ENGINE_OK)
		res.status = ENGINE_REFUSED;
	snprintf(o->msg, sizeof(o->msg), "%s", why != NULL ? why : "engine error");
	res.message = o->msg;
	op_finish(o, &res, timer);
}

/* ---- create: the image's ID, then the service ---- */

static void
created(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};

	if (r->status != 201) {
		op_fail(o, r->status, r->error, 0);
		return;
	}
	res.status = ENGINE_OK;
	res.ref = json_string_value(json_object_get(r->json, "ID"));
	if (res.ref == NULL) {
		op_fail(o, 500, "the engine named no service", 0);
		return;
	}
	op_finish(o, &res, 0);
}

static void
image_found(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	const char *id = json_string_value(json_object_get(r->json, "Id"));
	json_t *cs;

	if (r->status != 200 || id == NULL) {
		struct engine_result res = {0};

		res.status = r->status == 404 ? ENGINE_GONE : status_of(r->status);
		if (res.status == ENGINE_OK)
			res.status = ENGINE_REFUSED;
		snprintf(o->msg, sizeof(o->msg),
		         "the template's image is not on the Swarm manager: load it on every node "
		         "(docs/scale-out.md)");
		res.message = o->msg;
		op_finish(o, &res, 0);
		return;
	}
	cs = json_object_get(json_object_get(o->body, "TaskTemplate"), "ContainerSpec");
	json_object_set_new(cs, "Image", json_string(id));
	if (docker_call("POST", "/services/create", o->body, change_ms(), created, o) == -1)
		op_fail(o, 0, "cannot call the engine", 0);
}

static int
s_create(const struct spec_in *in, engine_cb *cb, void *arg)
{
	struct op *o;
	char path[400], *e;

	if (in->node_id == NULL || in->node_id[0] == '\0')
		return -1;
	o = xcalloc(1, sizeof(*o));
	o->kind = OP_CREATE;
	o->cb = cb;
	o->arg = arg;
	o->body = swarm_service_spec(in, in->tmpl->image, cfg, docker_version_at_least("1.44"));
	if (o->body == NULL) {
		free(o);
		return -1;
	}
	e = curl_easy_escape(NULL, in->tmpl->image, 0);
	snprintf(path, sizeof(path), "/images/%s/json", e ? e : "");
	curl_free(e);
	if (docker_call("GET", path, NULL, READ_MS, image_found, o) == -1) {
		op_free(o);
		return -1;
	}
	return 0;
}

/* ---- start: the service runs on create; wait for its task ---- */

/*
 * The workspace entrypoint's exit status when the engine started it with
 * privileges a workspace must not have (NoNewPrivs 0 or any capability):
 * on a Swarm node that lacks the daemon setting no-new-privileges.
 */
#define ENTRY_UNSAFE 78

static long long
task_exit_code(const json_t *task)
{
	const json_t *c = json_object_get(
	    json_object_get(json_object_get(task, "Status"), "ContainerStatus"), "ExitCode");

	return json_is_integer(c) ? json_integer_value(c) : -1;
}

/*
 * A task that ended for a fault of its node rather than of the workspace:
 * the short reason for the student, or NULL. The node gets no more
 * workspaces (nodes_set_unfit) and the admin is told the fix, once.
 */
/*
 * A task that found no image on its node: the template's image was not
 * loaded there (images travel by ID and are never pulled). Not a fault
 * of the node for other templates, so the node stays in use.
 */
static int
image_missing(const char *why)
{
	return strstr(why, "bind source") == NULL &&
	       (strstr(why, "No such image") != NULL || strstr(why, "pull access denied") != NULL ||
	        strstr(why, "repository does not exist") != NULL ||
	        strstr(why, "manifest unknown") != NULL ||
	        strstr(why, "invalid reference format") != NULL);
}

static void
image_missing_say(const json_t *task, char *msg, size_t len)
{
	const char *id = json_string_value(json_object_get(task, "NodeID"));
	const char *image = json_string_value(json_object_get(
	    json_object_get(json_object_get(task, "Spec"), "ContainerSpec"), "Image"));
	struct nodes *t = nodes_table();
	int pos = id ? nodes_find(t, id) : -1;
	const char *host = pos >= 0 ? t->n[pos].hostname : "?";

	log_warn("node %s (%s) does not have image %s of a template: load it there (docker save "
	         "IMAGE | ssh NODE docker load; docs/scale-out.md)",
	         host, id ? id : "?", image ? image : "?");
	snprintf(msg, len,
	         "its server %s does not have this template's image (an admin must load it "
	         "there); nothing was kept: start again, or ask for other GPUs",
	         host);
}

static const char *
node_fault(const json_t *task)
{
	const char *id = json_string_value(json_object_get(task, "NodeID"));
	const char *err = task_error(task);
	struct nodes *t = nodes_table();
	int pos = id ? nodes_find(t, id) : -1;
	const char *why, *fix, *brief;

	if (task_exit_code(task) == ENTRY_UNSAFE) {
		brief = "its engine does not set no-new-privileges";
		why = "its engine runs containers without no-new-privileges";
		fix = "set \"no-new-privileges\": true in its /etc/docker/daemon.json and restart "
		      "its engine";
	} else if (strncmp(err, "network ", 8) == 0 && strstr(err, " exists") != NULL) {
		/* Docker 20.10 after an unclean stop of the node's engine. */
		brief = "its engine's network store is stale";
		why = "its engine's network store is stale after an unclean stop (\"network ... "
		      "exists\")";
		fix = "stop its engine, remove /var/lib/docker/network/files/local-kv.db, start it "
		      "and make its config-only ports network again";
	} else if (strstr(err, "bind source path does not exist") != NULL) {
		/* wsd made the home and /etc/wslab before the create: the node does not see them.
		 */
		brief = "it does not see the shared home_root, shared_dir or shared_mount_roots";
		why = "it does not see home_root, shared_dir or a shared mount root (not the "
		      "shared file system at the same path?)";
		fix =
		    "mount the lab's shared home_root, shared_dir and shared_mount_roots there at "
		    "the same paths as on the control host";
	} else {
		return NULL;
	}
	if (pos >= 0 && t->n[pos].unfit[0] == '\0') {
		log_err("node %s (%s): %s; wsd places no workspaces there. To fix: %s; wsd tries "
		        "it again after a reload (SIGHUP), once it saw the node down, or after a "
		        "restart (docs/scale-out.md)",
		        t->n[pos].hostname, t->n[pos].id, why, fix);
		nodes_set_unfit(t, gpu_inventory(), pos, why);
	}
	return brief;
}

static void watch_look(uv_timer_t *t);

static void
watch_read(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};
	const json_t *task;

	task = r->status == 200 ? task_newest(r->json, o->kind == OP_STOP ? o->ref : NULL) : NULL;
	if (r->status == 404 || (r->status == 200 && task == NULL && o->kind == OP_STOP)) {
		res.status = o->kind == OP_STOP ? ENGINE_OK : ENGINE_GONE;
		op_finish(o, &res, 1);
		return;
	}
	if (task != NULL) {
		enum task_phase ph = task_phase(task);

		if (o->kind == OP_START && ph == TASK_RUNNING) {
			res.status = ENGINE_OK;
			op_finish(o, &res, 1);
			return;
		}
		if (ph == TASK_OVER) {
			const char *why = task_error(task), *fault;

			if (o->kind == OP_STOP) {
				res.status = ENGINE_OK;
				op_finish(o, &res, 1);
				return;
			}
			res.status = strstr(why, "address already in use") ? ENGINE_PORT_TAKEN
			                                                   : ENGINE_REFUSED;
			snprintf(o->msg, sizeof(o->msg), "%s", why);
			if ((fault = node_fault(task)) == NULL && image_missing(why))
				image_missing_say(task, o->msg, sizeof(o->msg));
			else if (fault != NULL)
				snprintf(o->msg, sizeof(o->msg),
				         "the server chosen for it could not run it (%s); wsd "
				         "places no more workspaces there and the admin is told: "
				         "start again",
				         fault);
			res.message = o->msg;
			op_finish(o, &res, 1);
			return;
		}
	}
	if (o->kind == OP_STOP && task != NULL) {
		const char *nid = json_string_value(json_object_get(task, "NodeID"));
		int pos = nid ? nodes_find(nodes_table(), nid) : -1;
		const struct node *n = pos >= 0 ? &nodes_table()->n[pos] : NULL;

		/* Its node was removed: the task is no more. */
		if (n != NULL && !n->listed) {
			res.status = ENGINE_OK;
			op_finish(o, &res, 1);
			return;
		}
		/* Its node is down: it may run there still, so its GPUs stay held. */
		if (n != NULL && strcmp(n->state, "ready") != 0) {
			snprintf(
			    o->msg, sizeof(o->msg),
			    "its server %s is down: its GPUs and ports stay held until the server "
			    "is back or an admin removes it",
			    n->hostname);
			res.status = ENGINE_UNREACHABLE;
			res.message = o->msg;
			op_finish(o, &res, 1);
			return;
		}
	}
	if (uv_now(loop) >= o->deadline) {
		const char *why =
		    task
		        ? json_string_value(json_object_get(json_object_get(task, "Status"), "Err"))
		        : NULL;

		snprintf(o->msg, sizeof(o->msg), "the Swarm did not %s it in time%s%s",
		         o->kind == OP_START ? "run" : "stop", why ? ": " : "", why ? why : "");
		res.status = ENGINE_UNREACHABLE;
		res.message = o->msg;
		op_finish(o, &res, 1);
		return;
	}
	uv_timer_start(&o->timer, watch_look, WATCH_MS, 0);
}

static void
watch_look(uv_timer_t *t)
{
	struct op *o = t->data;
	char path[400];

	/* A removed service's tasks stay listed until they ended, but no filter finds them. */
	snprintf(path, sizeof(path), "/tasks%s", o->kind == OP_STOP ? "" : "?filters=");
	if (o->kind != OP_STOP)
		service_filter(o->ref, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, o->kind == OP_STOP ? LIST_MS : READ_MS, watch_read, o) ==
	    -1)
		op_fail(o, 0, "cannot call the engine", 1);
}

static int
watch(enum op_kind kind, const char *ref, int64_t ms, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));

	o->kind = kind;
	o->cb = cb;
	o->arg = arg;
	snprintf(o->ref, sizeof(o->ref), "%s", ref);
	uv_timer_init(loop, &o->timer);
	o->timer.data = o;
	LIST_INSERT_HEAD(&watching, o, link);
	o->deadline = uv_now(loop) + (uint64_t)ms;
	uv_timer_start(&o->timer, watch_look, 0, 0);
	return 0;
}

static int
s_start(const char *ref, engine_cb *cb, void *arg)
{
	return watch(OP_START, ref, change_ms(), cb, arg);
}

/* ---- inspect: the service, then its newest task ---- */

static void
inspect_tasks(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};
	const json_t *task = r->status == 200 ? task_newest(r->json, NULL) : NULL;

	if (r->status != 200) {
		op_fail(o, r->status, r->error, 0);
		return;
	}
	if (task != NULL && task_phase(task) == TASK_OVER)
		node_fault(task); /* before the failed start removes the service */
	res.status = ENGINE_OK;
	res.ws.ref = o->ref;
	res.ws.exists = 1;
	res.ws.running = task != NULL && task_phase(task) == TASK_RUNNING;
	ports_read(json_object_get(json_object_get(o->services, "Endpoint"), "Ports"), &res.ws);
	res.ws.node_id = o->node[0] ? o->node : NULL;
	op_finish(o, &res, 0);
}

static void
inspect_service(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	char path[400];

	if (r->status != 200) {
		struct engine_result res = {0};

		res.status = status_of(r->status);
		res.message = r->error;
		op_finish(o, &res, 0);
		return;
	}
	o->services = json_incref(r->json);
	service_node(r->json, o->node, sizeof(o->node));
	snprintf(path, sizeof(path), "/tasks?filters=");
	service_filter(o->ref, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, READ_MS, inspect_tasks, o) == -1)
		op_fail(o, 0, "cannot call the engine", 0);
}

static int
s_inspect(const char *ref, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[200];

	o->kind = OP_INSPECT;
	o->cb = cb;
	o->arg = arg;
	snprintf(o->ref, sizeof(o->ref), "%s", ref);
	snprintf(path, sizeof(path), "/services/%s", ref);
	if (docker_call("GET", path, NULL, READ_MS, inspect_service, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

/*
 * ---- stop and remove: the service is removed, then its task watched
 * until it is over (or its node removed), so that its GPUs are free when
 * they are handed out again. The task got StopGracePeriod (stop_timeout)
 * to end. A service known only by name (a create whose answer was lost)
 * is removed without the wait: its ID, which tasks name, is unknown.
 */

static void
removed(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};

	if (r->status != 200 && r->status != 404) {
		op_fail(o, r->status, r->error, 0);
		return;
	}
	if (o->ref[0] != '\0') {
		watch(OP_STOP, o->ref, (int64_t)o->deadline, o->cb, o->arg);
		op_free(o);
		return;
	}
	res.status = ENGINE_OK;
	op_finish(o, &res, 0);
}

static int
remove_service(const char *ref, const char *ws_id, int64_t wait_ms, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[200], sname[64];

	o->kind = OP_REMOVE;
	o->cb = cb;
	o->arg = arg;
	o->deadline = (uint64_t)wait_ms;
	if (ref != NULL && ref[0] != '\0') {
		snprintf(o->ref, sizeof(o->ref), "%s", ref);
		snprintf(path, sizeof(path), "/services/%s", ref);
	} else {
		swarm_service_name(ws_id, sname, sizeof(sname));
		snprintf(path, sizeof(path), "/services/%s", sname);
	}
	if (docker_call("DELETE", path, NULL, change_ms(), removed, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

static int
s_stop(const char *ref, int64_t grace_s, engine_cb *cb, void *arg)
{
	return remove_service(ref, NULL, (grace_s + 30) * 1000, cb, arg);
}

static int
s_remove(const char *ref, const char *ws_id, const char *owner, const char *name, engine_cb *cb,
         void *arg)
{
	(void)owner;
	(void)name;
	return remove_service(ref, ws_id, change_ms(), cb, arg);
}

/* ---- list: the instance's services, then every task ---- */

static void
list_tasks(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};
	struct engine_ws *all;
	char(*nodes)[40];
	const json_t *svc;
	size_t i, n = json_array_size(o->services);

	if (r->status != 200 || !json_is_array(r->json)) {
		op_fail(o, r->status, r->error ? r->error : "cannot list tasks", 0);
		return;
	}
	all = xcalloc(n + 1, sizeof(*all));
	nodes = xcalloc(n + 1, sizeof(*nodes));
	json_array_foreach(o->services, i, svc)
	{
		const char *id = json_string_value(json_object_get(svc, "ID"));
		const json_t *task = id ? task_newest(r->json, id) : NULL;
		const json_t *cs = json_object_get(
		    json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"), "ContainerSpec");

		all[i].ref = id;
		all[i].image = json_string_value(json_object_get(cs, "Image"));
		all[i].exists = 1;
		all[i].running = task != NULL && task_phase(task) == TASK_RUNNING;
		all[i].node_id = service_node(svc, nodes[i], sizeof(nodes[i]));
		ports_read(json_object_get(json_object_get(svc, "Endpoint"), "Ports"), &all[i]);
		labels_read(json_object_get(json_object_get(svc, "Spec"), "Labels"),
		            &all[i].labels);
	}
	res.status = ENGINE_OK;
	res.all = all;
	res.n = n;
	o->cb(o->arg, &res);
	free(nodes);
	free(all);
	op_free(o);
}

/*
 * GET /tasks of these services only: the Swarm keeps the tasks of every
 * service, wsd's or not, and an unfiltered list grows with all of them.
 * With no service, cb gets an empty list at once (an empty filter would
 * list every task). A service removed since it was listed makes the
 * engine refuse the filter (404): then every task is read, once.
 */
struct tasks_call {
	docker_cb *cb;
	void *arg;
};

static void
tasks_reply(void *a, const struct docker_reply *r)
{
	struct tasks_call *c = a;

	if (r->status == 404 && docker_call("GET", "/tasks", NULL, LIST_MS, c->cb, c->arg) == 0) {
		free(c);
		return;
	}
	c->cb(c->arg, r);
	free(c);
}

static int
tasks_of(const json_t *services, docker_cb *cb, void *arg)
{
	json_t *ids = json_array(), *filter;
	const json_t *svc;
	struct tasks_call *c;
	char *text, *esc, *path;
	size_t i;
	int rc;

	json_array_foreach(services, i, svc)
	{
		const char *id = json_string_value(json_object_get(svc, "ID"));

		if (id != NULL)
			json_array_append_new(ids, json_string(id));
	}
	if (json_array_size(ids) == 0) {
		json_t *none = json_array();
		struct docker_reply r = {.status = 200, .json = none};

		json_decref(ids);
		cb(arg, &r);
		json_decref(none);
		return 0;
	}
	filter = json_pack("{s:o}", "service", ids);
	text = json_dumps(filter, JSON_COMPACT);
	esc = text ? curl_easy_escape(NULL, text, 0) : NULL;
	json_decref(filter);
	free(text);
	if (esc == NULL)
		return -1;
	path = xmalloc(strlen(esc) + 32);
	sprintf(path, "/tasks?filters=%s", esc);
	curl_free(esc);
	c = xmalloc(sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	if ((rc = docker_call("GET", path, NULL, LIST_MS, tasks_reply, c)) == -1)
		free(c);
	free(path);
	return rc;
}

static void
list_services(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;

	if (r->status != 200 || !json_is_array(r->json)) {
		op_fail(o, r->status, r->error ? r->error : "cannot list services", 0);
		return;
	}
	o->services = json_incref(r->json);
	if (tasks_of(o->services, list_tasks, o) == -1)
		op_fail(o, 0, "cannot call the engine", 0);
}

static int
s_list(engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[512];

	o->kind = OP_LIST;
	o->cb = cb;
	o->arg = arg;
	snprintf(path, sizeof(path), "/services?filters=");
	engine_instance_filter(cfg->instance, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, LIST_MS, list_services, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

/* ---- logs: the task's error when it ended, else the service's last line ---- */

static void
tail_logs(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};
	char line[200] = "";

	res.status = status_of(r->status);
	if (res.status == ENGINE_OK)
		docker_last_log_line(r->body, r->len, line, sizeof(line));
	if (line[0] == '\0' && o->msg[0] != '\0')
		snprintf(line, sizeof(line), "%s", o->msg);
	res.log_line = line;
	if (line[0] != '\0')
		res.status = ENGINE_OK;
	op_finish(o, &res, 0);
}

static void
tail_task(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	const json_t *task = r->status == 200 ? task_newest(r->json, NULL) : NULL;
	char path[200];

	if (task != NULL && task_phase(task) == TASK_OVER) {
		snprintf(o->msg, sizeof(o->msg), "%s", task_error(task));
		node_fault(task);
	}
	snprintf(path, sizeof(path), "/services/%s/logs?stdout=1&stderr=1&tail=20", o->ref);
	if (docker_call("GET", path, NULL, READ_MS, tail_logs, o) == -1)
		op_fail(o, 0, "cannot call the engine", 0);
}

static int
s_logs_tail(const char *ref, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[400];

	o->kind = OP_LOGS;
	o->cb = cb;
	o->arg = arg;
	snprintf(o->ref, sizeof(o->ref), "%s", ref);
	snprintf(path, sizeof(path), "/tasks?filters=");
	service_filter(ref, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, READ_MS, tail_task, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

/*
 * A workspace's processes are on its node's engine, out of the manager's
 * reach: wsnode there reports its containers' SSH session lines
 * (node_agent.c). Answered on the next loop turn, as a call would be.
 */
struct top_op {
	uv_timer_t timer;
	engine_cb *cb;
	void *arg;
	json_t *lines;
	LIST_ENTRY(top_op) link;
};
static LIST_HEAD(, top_op) tops = LIST_HEAD_INITIALIZER(tops);

static void
top_closed(uv_handle_t *h)
{
	struct top_op *t = h->data;

	json_decref(t->lines);
	free(t);
}

static void
top_answer(uv_timer_t *h)
{
	struct top_op *t = h->data;
	size_t n = json_array_size(t->lines);
	const char **procs = xmalloc((n + 1) * sizeof(*procs));
	struct engine_result res = {.status = ENGINE_OK, .procs = procs, .nprocs = n};

	for (size_t i = 0; i < n; i++)
		procs[i] = json_string_value(json_array_get(t->lines, i));
	LIST_REMOVE(t, link);
	t->cb(t->arg, &res);
	free(procs);
	uv_close((uv_handle_t *)&t->timer, top_closed);
}

static int
s_top(const char *ref, engine_cb *cb, void *arg)
{
	const json_t *lines = node_agent_procs(ref);
	struct top_op *t;

	if (lines == NULL)
		return -1;
	t = xmalloc(sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->lines = json_deep_copy(lines);
	LIST_INSERT_HEAD(&tops, t, link);
	uv_timer_init(loop, &t->timer);
	t->timer.data = t;
	uv_timer_start(&t->timer, top_answer, 0, 0);
	return 0;
}

/* ---- logs, whole or followed: the service's ---- */

static int
s_logs(const char *ref, int tail, int follow, engine_data_cb *data, engine_cb *done, void *arg,
       struct engine_logs **handle)
{
	char path[200];

	snprintf(path, sizeof(path), "/services/%s/logs?stdout=1&stderr=1&timestamps=0&tail=%d%s",
	         ref, tail, follow ? "&follow=1" : "");
	return engine_logs_open(path, follow, data, done, arg, handle);
}

/*
 * ---- the poll: nodes and tasks, every swarm_poll ----
 *
 * One GET /nodes (the inventory and node states) and, for the services of
 * this instance, one GET /services and one GET /tasks. A service whose
 * newest task was running at the last poll and is over now is reported
 * DIED; a service that was there and is gone, REMOVED.
 */

static uv_timer_t poll_timer;
static int polling, poll_started;
static void (*ev_cb)(const struct engine_event *ev);
static void (*ev_done)(const char *why);

struct seen {
	char ref[80];
	char ws_id[16];
	int running;
	int over; /* its newest task was over at the last poll */
	int mark;
};
static struct seen *seen;
static size_t nseen, seen_cap;

static struct seen *
seen_find(const char *ref)
{
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i].ref, ref) == 0)
			return &seen[i];
	return NULL;
}

static void
poll_report(const char *ref, const char *ws_id, enum engine_event_kind kind, const char *code)
{
	struct engine_event ev = {.kind = kind, .ref = ref, .ws_id = ws_id, .exit_code = code};

	if (ev_cb != NULL)
		ev_cb(&ev);
}

static void
poll_tasks(void *arg, const struct docker_reply *r)
{
	json_t *services = arg;
	const json_t *svc;
	size_t i;

	polling = 0;
	if (r->status != 200 || !json_is_array(r->json)) {
		json_decref(services);
		return;
	}
	for (i = 0; i < nseen; i++)
		seen[i].mark = 0;
	json_array_foreach(services, i, svc)
	{
		const char *id = json_string_value(json_object_get(svc, "ID"));
		const char *ws_id = json_string_value(json_object_get(
		    json_object_get(json_object_get(svc, "Spec"), "Labels"), LABEL_WORKSPACE));
		const json_t *task = id ? task_newest(r->json, id) : NULL;
		int running = task != NULL && task_phase(task) == TASK_RUNNING;
		struct seen *s;

		if (id == NULL || strlen(id) >= sizeof(seen[0].ref))
			continue;
		if ((s = seen_find(id)) == NULL) {
			if (nseen == seen_cap) {
				seen_cap = seen_cap ? 2 * seen_cap : 64;
				seen = xrealloc(seen, seen_cap * sizeof(*seen));
			}
			s = &seen[nseen++];
			memset(s, 0, sizeof(*s));
			snprintf(s->ref, sizeof(s->ref), "%s", id);
			snprintf(s->ws_id, sizeof(s->ws_id), "%s", ws_id ? ws_id : "");
		}
		s->mark = 1;
		/* Once: a task that ended for a fault of its node. */
		if (task != NULL && task_phase(task) == TASK_OVER && !s->over)
			node_fault(task);
		s->over = task != NULL && task_phase(task) == TASK_OVER;
		if (s->running && task != NULL && task_phase(task) == TASK_OVER) {
			const json_t *cs = json_object_get(task, "Status");
			const json_t *code =
			    json_object_get(json_object_get(cs, "ContainerStatus"), "ExitCode");
			char buf[24];

			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(code));
			poll_report(id, s->ws_id[0] ? s->ws_id : NULL, ENGINE_EV_DIED, buf);
		}
		s->running = running;
	}
	for (i = 0; i < nseen;) {
		if (!seen[i].mark) {
			struct seen gone = seen[i];

			seen[i] = seen[--nseen];
			poll_report(gone.ref, gone.ws_id[0] ? gone.ws_id : NULL, ENGINE_EV_REMOVED,
			            NULL);
			continue;
		}
		i++;
	}
	json_decref(services);
}

static void
poll_services(void *arg, const struct docker_reply *r)
{
	(void)arg;
	if (r->status != 200 || !json_is_array(r->json) ||
	    tasks_of(r->json, poll_tasks, json_incref(r->json)) == -1) {
		if (r->status == 200 && json_is_array(r->json))
			json_decref(r->json);
		polling = 0;
		if (r->status == 0 && ev_done != NULL && poll_started) {
			void (*done)(const char *) = ev_done;

			poll_started = 0;
			uv_timer_stop(&poll_timer);
			done(r->error ? r->error : "the Swarm manager does not answer");
		}
	}
}

static void
nodes_read_reply(void *arg, const struct docker_reply *r)
{
	char err[200], path[512];

	(void)arg;
	if (r->status == 200 &&
	    nodes_read(nodes_table(), gpu_inventory(), r->json, err, sizeof(err)) == -1)
		log_warn("swarm: %s", err);
	if (!poll_started) {
		polling = 0;
		return;
	}
	snprintf(path, sizeof(path), "/services?filters=");
	engine_instance_filter(cfg->instance, path + strlen(path), sizeof(path) - strlen(path));
	if (docker_call("GET", path, NULL, LIST_MS, poll_services, NULL) == -1)
		polling = 0;
}

static void
poll_tick(uv_timer_t *t)
{
	(void)t;
	if (polling)
		return;
	polling = 1;
	if (docker_call("GET", "/nodes", NULL, READ_MS, nodes_read_reply, NULL) == -1)
		polling = 0;
}

static int
s_events(void (*on_event)(const struct engine_event *ev), void (*done)(const char *why))
{
	ev_cb = on_event;
	ev_done = done;
	poll_started = 1;
	/* Services seen by the first poll are the reconcile's: no events for them. */
	nseen = 0;
	uv_timer_start(&poll_timer, poll_tick, 0, (uint64_t)cfg->swarm_poll * 1000);
	return 0;
}

/* ---- hello: /version, /info (a manager?), the network, the nodes ---- */

static void (*hello_cb)(const struct engine_hello *h);

static void
hello_nodes(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {.ok = 1, .api = docker_api_version()};
	struct nodes *t = nodes_table();
	char err[200];

	(void)arg;
	if (r->status != 200 || nodes_read(t, gpu_inventory(), r->json, err, sizeof(err)) == -1) {
		h.ok = 0;
		h.error = r->status == 200 ? err : r->error ? r->error : "cannot list nodes";
		hello_cb(&h);
		return;
	}
	for (size_t i = 0; i < t->count; i++)
		log_info("node %s (%s, %s): %s, %d GPUs, engine %s", t->n[i].hostname, t->n[i].id,
		         t->n[i].addr, nodes_status(&t->n[i]), t->n[i].ngpus, t->n[i].engine);
	node_agent_kick();
	hello_cb(&h);
}

static void
hello_network(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {0};
	const char *scope = json_string_value(json_object_get(r->json, "Scope"));

	(void)arg;
	if (r->status != 200 || scope == NULL || strcmp(scope, "swarm") != 0) {
		h.fatal = r->status != 0;
		h.error = r->status == 404 ? "the network named by \"network\" does not exist on "
		                             "the Swarm (docs/scale-out.md: the ports network)"
		          : r->status == 200
		              ? "the network named by \"network\" is not swarm-scoped"
		          : r->error ? r->error
		                     : "cannot inspect the network";
		hello_cb(&h);
		return;
	}
	if (docker_call("GET", "/nodes", NULL, READ_MS, hello_nodes, NULL) == -1) {
		h.error = "cannot call the engine";
		hello_cb(&h);
	}
}

static void
hello_info(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {0};
	const json_t *sw = json_object_get(r->json, "Swarm");
	char path[200];

	(void)arg;
	if (r->status != 200) {
		h.error = r->error ? r->error : "no /info";
		hello_cb(&h);
		return;
	}
	if (!json_is_true(json_object_get(sw, "ControlAvailable"))) {
		h.fatal = 1;
		h.error = "engine_mode = swarm, but the engine is not a Swarm manager";
		hello_cb(&h);
		return;
	}
	snprintf(path, sizeof(path), "/networks/%s", cfg->network);
	if (docker_call("GET", path, NULL, READ_MS, hello_network, NULL) == -1) {
		h.error = "cannot call the engine";
		hello_cb(&h);
	}
}

static void
hello_version(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {0};
	char err[256];

	(void)arg;
	if (r->status != 200) {
		h.error = r->error ? r->error : "no /version";
		hello_cb(&h);
		return;
	}
	if (docker_set_version(r->json, err, sizeof(err)) == -1) {
		h.fatal = 1;
		h.error = err;
		hello_cb(&h);
		return;
	}
	if (docker_call("GET", "/info", NULL, READ_MS, hello_info, NULL) == -1) {
		h.error = "cannot call the engine";
		hello_cb(&h);
	}
}

static int
s_hello(int want_cdi, void (*cb)(const struct engine_hello *h))
{
	(void)want_cdi; /* CDI is a node's business in swarm mode */
	hello_cb = cb;
	return docker_call("GET", "/version", NULL, READ_MS, hello_version, NULL);
}

static void
node_gone(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};

	if (r->status != 200 && r->status != 404) {
		op_fail(o, r->status, r->error, 0);
		return;
	}
	res.status = ENGINE_OK;
	op_finish(o, &res, 0);
}

static int
s_node_remove(const char *node_id, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[160];

	o->kind = OP_REMOVE;
	o->cb = cb;
	o->arg = arg;
	snprintf(path, sizeof(path), "/nodes/%s?force=1", node_id);
	if (docker_call("DELETE", path, NULL, change_ms(), node_gone, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

/* After the loop closed every handle (main.c): what is left is freed. */
/* Drain for wsd: the node's label wslab.drain, through the node's spec and version. */
static void
node_updated(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};

	if (r->status != 200) {
		op_fail(o, r->status, r->error, 0);
		return;
	}
	res.status = ENGINE_OK;
	op_finish(o, &res, 0);
}

static void
node_read(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	json_t *spec = json_object_get(r->json, "Spec"), *labels;
	json_int_t version =
	    json_integer_value(json_object_get(json_object_get(r->json, "Version"), "Index"));
	char path[200];

	if (r->status != 200 || !json_is_object(spec)) {
		op_fail(o, r->status, r->error ? r->error : "no such node", 0);
		return;
	}
	spec = json_deep_copy(spec);
	labels = json_object_get(spec, "Labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(spec, "Labels", labels);
	}
	if (o->node[0] == '1')
		json_object_set_new(labels, "wslab.drain", json_string("true"));
	else
		json_object_del(labels, "wslab.drain");
	snprintf(path, sizeof(path), "/nodes/%s/update?version=%lld", o->ref, (long long)version);
	if (docker_call("POST", path, spec, change_ms(), node_updated, o) == -1)
		op_fail(o, 0, "cannot call the engine", 0);
	json_decref(spec);
}

static int
s_node_drain(const char *node_id, int drain, engine_cb *cb, void *arg)
{
	struct op *o = xcalloc(1, sizeof(*o));
	char path[160];

	o->kind = OP_REMOVE;
	o->cb = cb;
	o->arg = arg;
	snprintf(o->ref, sizeof(o->ref), "%s", node_id);
	o->node[0] = drain ? '1' : '0';
	snprintf(path, sizeof(path), "/nodes/%s", node_id);
	if (docker_call("GET", path, NULL, READ_MS, node_read, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

static void
s_shutdown(void)
{
	while (!LIST_EMPTY(&watching)) {
		struct op *o = LIST_FIRST(&watching);

		LIST_REMOVE(o, link);
		op_free(o);
	}
	/* Answers never given: their timers were closed with the loop. */
	while (!LIST_EMPTY(&tops)) {
		struct top_op *t = LIST_FIRST(&tops);

		LIST_REMOVE(t, link);
		json_decref(t->lines);
		free(t);
	}
	free(seen);
	seen = NULL;
	nseen = seen_cap = 0;
	docker_free();
}

const struct engine_ops engine_swarm_ops = {
    .name = "swarm",
    .remote = 1,
    .hello = s_hello,
    .create = s_create,
    .start = s_start,
    .inspect = s_inspect,
    .stop = s_stop,
    .remove = s_remove,
    .list = s_list,
    .logs_tail = s_logs_tail,
    .top = s_top,
    .logs = s_logs,
    .logs_cancel = engine_logs_close,
    .logs_pause = engine_logs_hold,
    .events = s_events,
    .node_remove = s_node_remove,
    .node_drain = s_node_drain,
    .api_version = docker_api_version,
    .shutdown = s_shutdown,
};

int
engine_swarm_init(const struct config *c, char *err, size_t errlen)
{
	cfg = c;
	loop = uv_default_loop();
	uv_timer_init(loop, &poll_timer);
	docker_prefer_version("1.44");
	return docker_init(c->engine, err, errlen);
}
