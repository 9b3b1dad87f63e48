/*
 * The usage ledger: closed GPU usage of the rolling week, in memory, for
 * the GPU-hours quota. Running workspaces are counted by their owner's
 * caller (workspace.c), closed ones here.
 */
#ifndef WSD_USAGE_H
#define WSD_USAGE_H

#include <stddef.h>

#include <jansson.h>

#define USAGE_WEEK (7 * 86400.0)

/* Load the week's closed usage from the store (start-up, synchronous). */
int usage_load(char *err, size_t errlen);
/* A workspace of owner held gpus GPUs from start to stop. */
void usage_add(const char *owner, int gpus, double start, double stop);
/* GPU-seconds of owner's closed usage within [since, now]. */
double usage_closed_seconds(const char *owner, double since, double now);
size_t usage_count(void);
/*
 * GPU-hours per UTC day: rows of {gpus, started_at, stopped_at} spread
 * over hours[0..ndays), day i starting at day0 + i * 86400.
 */
void usage_days(json_t *rows, double day0, int ndays, double *hours);
void usage_shutdown(void);

#endif
