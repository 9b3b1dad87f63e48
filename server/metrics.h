/*
 * Metrics in Prometheus's text exposition format. A family (struct metric)
 * is a name, a type, a few label names and, for histograms, fixed bucket
 * bounds; a series is one combination of label values, made on first use
 * and kept (callers on hot paths may hold on to it: observing it then
 * allocates nothing). A family holds at most max_series series; values
 * for more go to one series whose labels are all "_other", so a label
 * fed from outside (a user name) cannot grow memory or a scrape without
 * bound. Everything runs on the loop thread: no locks.
 *
 * wsd's own families are the globals below, made by metrics_init; a
 * registry of one's own (metric_reg_new) serves the unit tests.
 */
#ifndef WSD_METRICS_H
#define WSD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRIC_MAX_LABELS 3
#define METRIC_MAX_BUCKETS 16
#define METRIC_OTHER "_other"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric;
struct metric_reg;
struct metric_series;

struct metric_reg *metric_reg_new(void);
void metric_reg_free(struct metric_reg *r);

/*
 * A new family in r. labels: NULL-terminated names (at most
 * METRIC_MAX_LABELS), or NULL; bounds: ascending upper bounds of a
 * histogram's buckets (+Inf is implied). name, help, labels and bounds are
 * borrowed (string literals and static arrays).
 */
struct metric *metric_new(struct metric_reg *r, enum metric_type type, const char *name,
                          const char *help, const char *const *labels, const double *bounds,
                          size_t nbounds, size_t max_series);

/* The series for these label values (one per label name): found, or made. */
struct metric_series *metric_series(struct metric *m, const char *const *values);
/* The same with the values as arguments, one per label name. */
struct metric_series *metric_at(struct metric *m, ...);

void metric_inc(struct metric_series *s, double v); /* counters: v >= 0 */
void metric_set(struct metric_series *s, double v); /* gauges */
void metric_observe(struct metric_series *s, double v);

/* Drop every series (gauges rebuilt at each scrape, whose label values change). */
void metric_clear(struct metric *m);

/* Which bucket v falls in: the first bound >= v, or nbounds for +Inf. */
size_t metric_bucket(const double *bounds, size_t nbounds, double v);

/* Every family of r as text (malloc'd, NUL-terminated); its length in len. */
char *metric_render(const struct metric_reg *r, size_t *len);

/* ---- wsd's metrics (docs/metrics.md) ---- */

#define METRICS_USER_SERIES 1000

extern struct metric_reg *metrics;
extern struct metric *m_workspaces;      /* gauge {state} */
extern struct metric *m_start_duration;  /* histogram {template, outcome} */
extern struct metric *m_phase_duration;  /* histogram {phase} */
extern struct metric *m_engine_duration; /* histogram {operation} */
extern struct metric *m_engine_errors;   /* counter {operation, result} */
extern struct metric *m_loop_lag;        /* histogram */
extern struct metric *m_gpus;            /* gauge {state} */
extern struct metric *m_gpu_util;        /* gauge {gpu, workspace} */
extern struct metric *m_gpu_mem_used;    /* gauge {gpu, workspace} */
extern struct metric *m_gpu_mem_total;   /* gauge {gpu} */
extern struct metric *m_gpu_seconds;     /* counter {user} */
extern struct metric *m_quota_refusals;  /* counter {limit} */
extern struct metric *m_http_requests;   /* counter {method, route, status} */
extern struct metric *m_http_duration;   /* histogram {route} */
extern struct metric *m_store_tx;        /* histogram {result} */
extern struct metric *m_idle;            /* counter {event}: warning, cancelled, reclaim */

/* Make wsd's families (and zero the series that should show before any event). */
void metrics_init(void);
void metrics_free(void);

/* Start the loop-lag timer (every second, unreferenced). */
struct uv_loop_s;
void metrics_start(struct uv_loop_s *loop);
void metrics_stop(void);

/* Seconds between two uv_hrtime() readings. */
double metrics_since(uint64_t start_ns);

#endif
