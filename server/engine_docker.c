/*
 * The engine seam's backend for one Docker Engine: workspaces are
 * containers named wslab-ID (the workspace id: unique, so no two users'
 * names can collide, whatever characters their names hold) and labelled (labels.c) with this
 * wsd's instance. Every Engine API path that wsd calls is in this file;
 * docker.c carries the calls. Timeouts are the backend's: engine_timeout
 * for what changes the engine, short fixed ones for what only reads.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "docker.h"
#include "engine_common.h"
#include "node_report.h"
#include "log.h"
#include "xmalloc.h"

#define READ_MS 10000 /* inspect, logs, version */
#define LIST_MS 30000

enum op_kind { OP_CREATE, OP_START, OP_INSPECT, OP_STOP, OP_REMOVE, OP_LIST, OP_LOGS, OP_TOP };

struct op {
	enum op_kind kind;
	engine_cb *cb;
	void *arg;
	char msg[512]; /* the message, scrubbed */
};

static const struct config *cfg;

static long
change_ms(void)
{
	return (long)cfg->engine_timeout * 1000;
}

/* Its container's name: what a create that timed out can be removed by. */
static void
container_name(const char *ws_id, char *buf, size_t len)
{
	snprintf(buf, len, "wslab-%s", ws_id);
}

static int
host_port(json_t *ports, const char *key)
{
	json_t *b = json_array_get(json_object_get(ports, key), 0);
	const char *p = json_string_value(json_object_get(b, "HostPort"));

	return p ? atoi(p) : 0; /* NOLINT: the engine's own decimal text */
}

/* One entry of GET /containers/json. */
static void
list_entry(json_t *c, struct engine_ws *w)
{
	const char *state = json_string_value(json_object_get(c, "State"));
	json_t *p;
	size_t i;

	w->ref = json_string_value(json_object_get(c, "Id"));
	w->image = json_string_value(json_object_get(c, "Image"));
	w->exists = 1;
	w->running = state != NULL && strcmp(state, "running") == 0;
	json_array_foreach(json_object_get(c, "Ports"), i, p)
	{
		json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));

		if (priv == SPEC_JUPYTER_PORT && pub > 0)
			w->jupyter_port = (int)pub;
		else if (priv == SPEC_SSH_PORT && pub > 0)
			w->ssh_port = (int)pub;
	}
	labels_read(json_object_get(c, "Labels"), &w->labels);
}

static void
op_done(void *arg, const struct docker_reply *r)
{
	struct op *o = arg;
	struct engine_result res = {0};
	struct engine_ws *all = NULL;
	const char **procs = NULL;
	char line[200] = "";
	long st = r->status;

	res.message = engine_scrub(r->error, o->msg, sizeof(o->msg));
	if (st == 0) {
		res.status = ENGINE_UNREACHABLE;
		res.message = r->error ? r->error : "no answer";
	} else if (st == 404 && o->kind != OP_REMOVE) {
		res.status = ENGINE_GONE;
	} else {
		res.status = st >= 400 ? ENGINE_REFUSED : ENGINE_OK;
	}
	switch (o->kind) {
	case OP_CREATE:
		res.ref = json_string_value(json_object_get(r->json, "Id"));
		if (res.status == ENGINE_OK && (st != 201 || res.ref == NULL))
			res.status = ENGINE_REFUSED;
		if (res.status == ENGINE_REFUSED)
			res.message = engine_reason(res.message);
		break;
	case OP_START:
		if (res.status == ENGINE_REFUSED && r->error &&
		    strstr(r->error, "address already in use"))
			res.status = ENGINE_PORT_TAKEN;
		if (res.status != ENGINE_UNREACHABLE)
			res.message = engine_reason(res.message);
		break;
	case OP_INSPECT:
		if (res.status == ENGINE_OK) {
			json_t *ports =
			    json_object_get(json_object_get(r->json, "NetworkSettings"), "Ports");

			res.ws.ref = json_string_value(json_object_get(r->json, "Id"));
			res.ws.exists = 1;
			res.ws.running = json_is_true(
			    json_object_get(json_object_get(r->json, "State"), "Running"));
			res.ws.jupyter_port = host_port(ports, "8888/tcp");
			res.ws.ssh_port = host_port(ports, "2222/tcp");
		}
		break;
	case OP_STOP:
		if (st == 304)
			res.status = ENGINE_OK; /* stopped already */
		break;
	case OP_REMOVE:
		if (st == 404)
			res.status = ENGINE_OK; /* gone is what was asked for */
		break;
	case OP_LIST:
		if (res.status == ENGINE_OK && !json_is_array(r->json)) {
			res.status = ENGINE_REFUSED;
			res.message = "cannot list containers";
		}
		if (res.status == ENGINE_OK) {
			json_t *c;
			size_t i;

			res.n = json_array_size(r->json);
			all = xcalloc(res.n + 1, sizeof(*all));
			json_array_foreach(r->json, i, c) list_entry(c, &all[i]);
			res.all = all;
		} else if (res.message == NULL) {
			res.message = "cannot list containers";
		}
		break;
	case OP_LOGS:
		if (res.status == ENGINE_OK)
			docker_last_log_line(r->body, r->len, line, sizeof(line));
		res.log_line = line;
		break;
	case OP_TOP:
		if (res.status == ENGINE_OK) {
			procs = xcalloc(json_array_size(json_object_get(r->json, "Processes")) + 1,
			                sizeof(*procs));
			res.nprocs = top_commands(r->json, procs);
			res.procs = procs;
		}
		break;
	}
	o->cb(o->arg, &res);
	free(procs);
	free(all);
	free(o);
}

static int
call(enum op_kind kind, const char *method, const char *path, json_t *body, long ms, engine_cb *cb,
     void *arg)
{
	struct op *o = xmalloc(sizeof(*o));

	o->kind = kind;
	o->cb = cb;
	o->arg = arg;
	if (docker_call(method, path, body, ms, op_done, o) == -1) {
		free(o);
		return -1;
	}
	return 0;
}

static int
d_create(const struct spec_in *in, engine_cb *cb, void *arg)
{
	char path[160], name[128];
	json_t *body = spec_build(in);
	int rc;

	if (body == NULL)
		return -1;
	container_name(in->id, name, sizeof(name));
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	rc = call(OP_CREATE, "POST", path, body, change_ms(), cb, arg);
	json_decref(body);
	return rc;
}

static int
d_start(const char *ref, engine_cb *cb, void *arg)
{
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/start", ref);
	return call(OP_START, "POST", path, NULL, change_ms(), cb, arg);
}

static int
d_inspect(const char *ref, engine_cb *cb, void *arg)
{
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/json", ref);
	return call(OP_INSPECT, "GET", path, NULL, READ_MS, cb, arg);
}

static int
d_stop(const char *ref, int64_t grace_s, engine_cb *cb, void *arg)
{
	char path[160];

	/* Jupyter and sshd get SIGTERM, then SIGKILL after grace_s. */
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%lld", ref, (long long)grace_s);
	return call(OP_STOP, "POST", path, NULL, (long)(grace_s + 30) * 1000, cb, arg);
}

static int
d_remove(const char *ref, const char *ws_id, const char *owner, const char *name, engine_cb *cb,
         void *arg)
{
	char path[160], cname[128];

	(void)owner;
	(void)name;
	if (ref != NULL && ref[0] != '\0') {
		snprintf(path, sizeof(path), "/containers/%s?force=1", ref);
	} else {
		container_name(ws_id, cname, sizeof(cname));
		snprintf(path, sizeof(path), "/containers/%s?force=1", cname);
	}
	return call(OP_REMOVE, "DELETE", path, NULL, change_ms(), cb, arg);
}

static int
d_list(engine_cb *cb, void *arg)
{
	char path[512];

	snprintf(path, sizeof(path), "/containers/json?all=1&filters=");
	engine_instance_filter(cfg->instance, path + strlen(path), sizeof(path) - strlen(path));
	return call(OP_LIST, "GET", path, NULL, LIST_MS, cb, arg);
}

static int
d_logs_tail(const char *ref, engine_cb *cb, void *arg)
{
	char path[160];

	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&tail=20", ref);
	return call(OP_LOGS, "GET", path, NULL, READ_MS, cb, arg);
}

static int
d_top(const char *ref, engine_cb *cb, void *arg)
{
	char path[200];

	/* The engine runs ps on the host over the container's processes. */
	snprintf(path, sizeof(path), "/containers/%s/top?ps_args=-eo%%20pid,args", ref);
	return call(OP_TOP, "GET", path, NULL, READ_MS, cb, arg);
}

/* ---- logs, whole or followed ---- */

static int
d_logs(const char *ref, int tail, int follow, engine_data_cb *data, engine_cb *done, void *arg,
       struct engine_logs **handle)
{
	char path[200];

	snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1&timestamps=0&tail=%d%s",
	         ref, tail, follow ? "&follow=1" : "");
	return engine_logs_open(path, follow, data, done, arg, handle);
}

/* ---- events ---- */

static void (*ev_cb)(const struct engine_event *ev);

static void
event_in(json_t *j)
{
	const char *action = json_string_value(json_object_get(j, "Action"));
	json_t *actor = json_object_get(j, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	struct engine_event ev = {0};

	ev.ref = json_string_value(json_object_get(actor, "ID"));
	if (action == NULL || ev.ref == NULL)
		return;
	if (strcmp(action, "create") == 0 || strcmp(action, "start") == 0)
		ev.kind = ENGINE_EV_CREATED;
	else if (strcmp(action, "die") == 0)
		ev.kind = ENGINE_EV_DIED;
	else if (strcmp(action, "destroy") == 0)
		ev.kind = ENGINE_EV_REMOVED;
	else
		return;
	ev.ws_id = json_string_value(json_object_get(attrs, LABEL_WORKSPACE));
	ev.exit_code = json_string_value(json_object_get(attrs, "exitCode"));
	ev_cb(&ev);
}

static int
d_events(void (*on_event)(const struct engine_event *ev), void (*done)(const char *why))
{
	char path[600];

	ev_cb = on_event;
	snprintf(path, sizeof(path), "/events?filters=");
	engine_instance_filter(cfg->instance, path + strlen(path), sizeof(path) - strlen(path));
	return docker_stream(path, event_in, done);
}

/* ---- hello: /version, then /info for CDI ---- */

static void (*hello_cb)(const struct engine_hello *h);

static void
info_read(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {.ok = 1, .api = docker_api_version()};

	(void)arg;
	if (r->status == 200)
		h.cdi_dirs = json_object_get(r->json, "CDISpecDirs");
	hello_cb(&h);
}

/*
 * The network workspaces join: a bridge without traffic between its
 * containers (enable_icc false), so one student's workspace cannot reach
 * another's Jupyter or sshd; published ports still answer on the host.
 * Made once; "bridge" is the engine's default network, left as it is.
 */
static void
network_made(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {.ok = 1, .api = docker_api_version()};
	int want_cdi = arg != NULL;

	if (r->status != 201 && r->status != 409) {
		h.ok = 0;
		h.error = r->error ? r->error : "cannot create the workspace network";
		log_err("network %s: %s", cfg->network, h.error);
		hello_cb(&h);
		return;
	}
	if (r->status == 201)
		log_info("network %s created (no traffic between workspaces)", cfg->network);
	if (!want_cdi || docker_call("GET", "/info", NULL, READ_MS, info_read, NULL) == -1)
		hello_cb(&h);
}

static int
network_make(void *want_cdi)
{
	json_t *body =
	    json_pack("{s:s, s:s, s:b, s:{s:s}, s:{s:s}}", "Name", cfg->network, "Driver", "bridge",
	              "CheckDuplicate", 1, "Options", "com.docker.network.bridge.enable_icc",
	              "false", "Labels", "wslab.network", "isolated");
	int rc = docker_call("POST", "/networks/create", body, READ_MS, network_made, want_cdi);

	json_decref(body);
	return rc;
}

static void
versioned(void *arg, const struct docker_reply *r)
{
	struct engine_hello h = {0};
	char err[256];
	int want_cdi = arg != NULL;

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
	h.ok = 1;
	h.api = docker_api_version();
	if (strcmp(cfg->network, "bridge") != 0 && network_make(arg) == 0)
		return;
	if (!want_cdi || docker_call("GET", "/info", NULL, READ_MS, info_read, NULL) == -1)
		hello_cb(&h);
}

static int
d_hello(int want_cdi, void (*cb)(const struct engine_hello *h))
{
	static char yes;

	hello_cb = cb;
	return docker_call("GET", "/version", NULL, READ_MS, versioned, want_cdi ? &yes : NULL);
}

/* One engine has no nodes. */
static int
d_node_remove(const char *node_id, engine_cb *cb, void *arg)
{
	(void)node_id;
	(void)cb;
	(void)arg;
	return -1;
}

static int
d_node_drain(const char *node_id, int drain, engine_cb *cb, void *arg)
{
	(void)node_id;
	(void)drain;
	(void)cb;
	(void)arg;
	return -1;
}

static void
d_shutdown(void)
{
	docker_free();
}

const struct engine_ops engine_docker_ops = {
    .name = "docker",
    .hello = d_hello,
    .create = d_create,
    .start = d_start,
    .inspect = d_inspect,
    .stop = d_stop,
    .remove = d_remove,
    .list = d_list,
    .logs_tail = d_logs_tail,
    .top = d_top,
    .logs = d_logs,
    .logs_cancel = engine_logs_close,
    .logs_pause = engine_logs_hold,
    .events = d_events,
    .node_remove = d_node_remove,
    .node_drain = d_node_drain,
    .api_version = docker_api_version,
    .shutdown = d_shutdown,
};

int
engine_docker_init(const struct config *c, char *err, size_t errlen)
{
	cfg = c;
	return docker_init(c->engine, err, errlen);
}
