/*
 * The engine seam's dispatch: one backend, chosen at start-up, behind the
 * operations of engine.h. What each promises is written there and in
 * docs/design.md.
 */
#include "engine.h"

#include <stdio.h>

static const struct engine_ops *be;

int
engine_init(const struct config *cfg, char *err, size_t errlen)
{
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

int
engine_hello(int want_cdi, void (*cb)(const struct engine_hello *h))
{
	return be->hello(want_cdi, cb);
}

int
engine_create(const struct spec_in *in, engine_cb *cb, void *arg)
{
	return be->create(in, cb, arg);
}

int
engine_start(const char *ref, engine_cb *cb, void *arg)
{
	return be->start(ref, cb, arg);
}

int
engine_inspect(const char *ref, engine_cb *cb, void *arg)
{
	return be->inspect(ref, cb, arg);
}

int
engine_stop(const char *ref, int64_t grace_s, engine_cb *cb, void *arg)
{
	return be->stop(ref, grace_s, cb, arg);
}

int
engine_remove(const char *ref, const char *ws_id, const char *owner, const char *name,
              engine_cb *cb, void *arg)
{
	return be->remove(ref, ws_id, owner, name, cb, arg);
}

int
engine_list(engine_cb *cb, void *arg)
{
	return be->list(cb, arg);
}

int
engine_logs_tail(const char *ref, engine_cb *cb, void *arg)
{
	return be->logs_tail(ref, cb, arg);
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
