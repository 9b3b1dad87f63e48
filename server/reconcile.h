/*
 * Putting wsd's picture back in line with the engine's: at start-up
 * (and after the engine comes back) every workspace object of this
 * instance is adopted or removed, records without one are released, and
 * leftover directories are swept; between reconciles, the engine's
 * events say when a workspace's container died behind wsd's back.
 */
#ifndef WSD_RECONCILE_H
#define WSD_RECONCILE_H

#include <stddef.h>

#include "engine.h"

/* Load the workspaces on record (start-up, synchronous, before the loop). */
int reconcile_load(char *err, size_t errlen);
/* Adopt or remove what the engine runs; done_cb runs once. */
void reconcile(void (*done_cb)(int adopted, int removed, const char *err));
/* An event from the engine's stream (engine_events). */
void reconcile_event(const struct engine_event *ev);
/* How many workspaces the store had on record at start-up. */
size_t reconcile_known_count(void);
void reconcile_shutdown(void);

#endif
