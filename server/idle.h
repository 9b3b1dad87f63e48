/*
 * Idle reclaim: ready workspaces with an idle timeout that nobody uses
 * (no GPU load, no Jupyter activity or busy kernel, no SSH session) are
 * warned, then stopped with their home kept. See idle.c.
 */
#ifndef WSD_IDLE_H
#define WSD_IDLE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

struct workspace;

void idle_init(uv_loop_t *loop, const struct config *cfg);
void idle_stop(void);
/* After each GPU refresh: a held GPU at or above idle_gpu_util is use. */
void idle_gpu_sampled(void);
/* Someone wanted a GPU and got none: idle_timeout_contended applies for a while. */
void idle_demand(void);
/* When ws will be reclaimed if it stays idle (unix seconds); 0: never. */
double idle_workspace_reclaim_at(const struct workspace *ws);
/* Checks completed since start (for tests and metrics). */
uint64_t idle_checks_done(void);

/* Pure parts, unit tested. */
double idle_now(void);
/* Jupyter's ISO 8601 UTC time ("2026-12-01T10:00:00.123456Z") to unix seconds. */
int idle_parse_time(const char *s, double *out);
/* SSH sessions among a container's command lines ("sshd: alice@pts/0"). */
int idle_ssh_sessions(const char *const *procs, size_t n);
/* idle_since + the timeout that applies (the shorter one under contention); 0: never. */
double idle_reclaim_at(double idle_since, int64_t timeout, int64_t contended_timeout,
                       int contended);

#endif
