/*
 * What both engine backends (engine_docker.c, engine_swarm.c) share, on
 * top of docker.c: the scrubbing of engine messages, the label filter of
 * this wsd's objects, and a logs read (engine.h's engine_logs). Not for
 * the lifecycle: it sees engine.h only.
 */
#ifndef WSD_ENGINE_COMMON_H
#define WSD_ENGINE_COMMON_H

#include <stddef.h>

#include "engine.h"

#define ENGINE_LOGS_MS 60000 /* the last lines of a log, however slowly the reader takes them */

/*
 * An engine message fit for a student: object ids (64 hex digits) are cut
 * out, so that no error carries another workspace's identifiers. NULL in,
 * NULL out.
 */
const char *engine_scrub(const char *msg, char *out, size_t len);

/*
 * The useful part of an engine error. Runtime errors nest many prefixes
 * ("failed to create shim task: OCI runtime create failed: ..."); what a
 * student needs is the innermost reason, e.g. a hook's stderr. NULL in:
 * "engine error".
 */
const char *engine_reason(const char *msg);

/* The URL-encoded filter {"label": [workspace, instance=INSTANCE]}. */
void engine_instance_filter(const char *instance, char *out, size_t len);

/* A logs read of path (the engine's logs endpoint of a container or service). */
int engine_logs_open(const char *path, int follow, engine_data_cb *data, engine_cb *done, void *arg,
                     struct engine_logs **handle);
void engine_logs_close(struct engine_logs *h);
void engine_logs_hold(struct engine_logs *h, int pause);

#endif
