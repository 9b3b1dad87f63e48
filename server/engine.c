/*
 * The engine seam's dispatch: one backend, chosen at start-up, behind the
 * operations of engine.h. What each promises is written there and in
 * docs/design.md.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "metrics.h"
#include "xmalloc.h"

static const struct engine_ops *be;

/*
 * Every call is timed here, whatever the backend: a small record goes
 * with the call and its callback observes the latency and the result
 * before the caller's callback runs.
 */
struct timed {
	const char *op;
	uint64_t start;
	engine_cb *cb;
	void *arg;
};

static const char *
engine_status_name(enum engine_status s)
{
	static const char *const names[] = {"ok", "gone", "unreachable", "port_taken", "refused"};

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "other";
}

static void
engine_observe(const char *op, uint64_t start, const char *result)
{
	metric_observe(metric_at(m_engine_duration, op), metrics_since(start));
	if (result != NULL)
		metric_inc(metric_at(m_engine_errors, op, result), 1);
}

static void
timed_cb(void *arg, const struct engine_result *r)
{
	struct timed *t = arg;
	engine_cb *cb = t->cb;
	void *cbarg = t->arg;

	engine_observe(t->op, t->start,
	               r->status == ENGINE_OK ? NULL : engine_status_name(r->status));
	free(t);
	cb(cbarg, r);
}

static struct timed *
timed_new(const char *op, engine_cb *cb, void *arg)
{
	struct timed *t = xmalloc(sizeof(*t));

	t->op = op;
	t->start = uv_hrtime();
	t->cb = cb;
	t->arg = arg;
	return t;
}

/* The call was not sent: the callback will never run. */
static int
timed_sent(struct timed *t, int rc)
{
	if (rc == -1) {
		metric_inc(metric_at(m_engine_errors, t->op, "not_sent"), 1);
		free(t);
	}
	return rc;
}

#define TIMED(op, call)                                                                            \
	do {                                                                                       \
		struct timed *t = timed_new(op, cb, arg);                                          \
		engine_cb *tcb = timed_cb;                                                         \
		void *targ = t;                                                                    \
		return timed_sent(t, (call));                                                      \
	} while (0)

int
engine_init(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->engine_mode, "swarm") == 0) {
		if (engine_swarm_init(cfg, err, errlen) == -1)
			return -1;
		be = &engine_swarm_ops;
		return 0;
	}
	if (engine_docker_init(cfg, err, errlen) == -1)
		return -1;
	be = &engine_docker_ops;
	return 0;
}

void
engine_shutdown(void)
{
	if (be != NULL)
		be->shutdown();
	be = NULL;
}

static void (*hello_cb)(const struct engine_hello *h);
static uint64_t hello_start;

static void
hello_timed(const struct engine_hello *h)
{
	engine_observe("hello", hello_start, h->ok ? NULL : h->fatal ? "refused" : "unreachable");
	hello_cb(h);
}

int
engine_hello(int want_cdi, void (*cb)(const struct engine_hello *h))
{
	/* One hello at a time (main.c retries only after the answer). */
	hello_cb = cb;
	hello_start = uv_hrtime();
	if (be->hello(want_cdi, hello_timed) == -1) {
		metric_inc(metric_at(m_engine_errors, "hello", "not_sent"), 1);
		return -1;
	}
	return 0;
}

int
engine_create(const struct spec_in *in, engine_cb *cb, void *arg)
{
	TIMED("create", be->create(in, tcb, targ));
}

int
engine_start(const char *ref, engine_cb *cb, void *arg)
{
	TIMED("start", be->start(ref, tcb, targ));
}

int
engine_inspect(const char *ref, engine_cb *cb, void *arg)
{
	TIMED("inspect", be->inspect(ref, tcb, targ));
}

int
engine_stop(const char *ref, int64_t grace_s, engine_cb *cb, void *arg)
{
	TIMED("stop", be->stop(ref, grace_s, tcb, targ));
}

int
engine_remove(const char *ref, const char *ws_id, const char *owner, const char *name,
              engine_cb *cb, void *arg)
{
	TIMED("remove", be->remove(ref, ws_id, owner, name, tcb, targ));
}

int
engine_list(engine_cb *cb, void *arg)
{
	TIMED("list", be->list(tcb, targ));
}

int
engine_logs_tail(const char *ref, engine_cb *cb, void *arg)
{
	TIMED("logs_tail", be->logs_tail(ref, tcb, targ));
}

int
engine_top(const char *ref, engine_cb *cb, void *arg)
{
	TIMED("top", be->top(ref, tcb, targ));
}

int
engine_logs(const char *ref, int tail, int follow, engine_data_cb *data, engine_cb *done, void *arg,
            struct engine_logs **handle)
{
	return be->logs(ref, tail, follow, data, done, arg, handle);
}

void
engine_logs_cancel(struct engine_logs *h)
{
	be->logs_cancel(h);
}

void
engine_logs_pause(struct engine_logs *h, int pause)
{
	be->logs_pause(h, pause);
}

int
engine_events(void (*on_event)(const struct engine_event *ev), void (*done)(const char *why))
{
	return be->events(on_event, done);
}

const char *
engine_api_version(void)
{
	return be != NULL ? be->api_version() : "";
}

int
engine_remote(void)
{
	return be != NULL && be->remote;
}

int
engine_node_remove(const char *node_id, engine_cb *cb, void *arg)
{
	TIMED("node_remove", be->node_remove(node_id, tcb, targ));
}

int
engine_node_drain(const char *node_id, int drain, engine_cb *cb, void *arg)
{
	TIMED("node_drain", be->node_drain(node_id, drain, tcb, targ));
}
