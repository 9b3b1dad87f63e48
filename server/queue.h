/*
 * The queue of starts waiting for GPUs (--queue, --wait). Queued starts
 * are workspaces in state "queued" in the registry, and rows of the
 * store's queue table, so a wsd killed with SIGKILL finds every one, in
 * its order, when it starts again. queue_plan.c decides the order and
 * who starts; this file gathers what it needs and acts on its answer.
 *
 * queue_changed() is called wherever GPUs or quota come free (the end of
 * every teardown: stop, failure, expiry, a container that died; a queued
 * start cancelled; a quota changed; wsd reconciled) and dispatches in
 * that same loop step, so no new start can take freed GPUs before the
 * queue's head. A plain start goes behind every queued one
 * (queue_would_start).
 */
#ifndef WSD_QUEUE_H
#define WSD_QUEUE_H

#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "types.h"

struct workspace;

void queue_init(uv_loop_t *loop);
void queue_shutdown(void);
/* Start-up (synchronous, before the loop): the queued starts on record rejoin the registry. */
int queue_load(char *err, size_t errlen);
size_t queue_loaded_count(void);
/* May a start of ngpus GPUs (lifetime limit in seconds; < 0 none) go now, behind the queue? */
int queue_would_start(int ngpus, double lifetime);
/* The refusal of a start without --wait or --queue that would have to wait. */
void queue_refusal(int ngpus, struct api_error *err);
/* A new queued workspace (registered, state queued): on record, and placed. */
void queue_add(struct workspace *ws);
/* GPUs, quota or the queue changed: dispatch what can start now, place the rest. */
void queue_changed(void);
/* The queue for viewer: positions and GPUs for all, names for its own, everything for admins. */
json_t *queue_json(uid_t viewer, int admin);

#endif
