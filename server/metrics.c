/*
 * Counters, gauges and fixed-bucket histograms, rendered on request in
 * Prometheus's text format (version 0.0.4). Series live on a list per
 * family in the order they were made; a family has few (label sets are
 * small and fixed, or capped), so a lookup is a short walk. A histogram
 * keeps per-bucket counts and makes them cumulative only when rendered.
 *
 * wsd's families are defined at the end (metrics_init): their names,
 * help, labels and buckets in one place, beside docs/metrics.md.
 */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <uv.h>

#include "xmalloc.h"

struct metric_series {
	const struct metric *m;
	char *lv[METRIC_MAX_LABELS];
	double value; /* counter, gauge; a histogram's sum */
	uint64_t count;
	uint64_t buckets[METRIC_MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
	TAILQ_ENTRY(metric_series) entry;
};

struct metric {
	enum metric_type type;
	const char *name;
	const char *help;
	const char *labels[METRIC_MAX_LABELS];
	size_t nlabels;
	const double *bounds;
	size_t nbounds;
	size_t max_series, nseries;
	struct metric_series *other; /* past max_series */
	TAILQ_HEAD(, metric_series) series;
	TAILQ_ENTRY(metric) entry;
};

struct metric_reg {
	TAILQ_HEAD(, metric) all;
};

struct metric_reg *
metric_reg_new(void)
{
	struct metric_reg *r = xcalloc(1, sizeof(*r));

	TAILQ_INIT(&r->all);
	return r;
}

static void
series_free(struct metric_series *s)
{
	for (size_t i = 0; i < METRIC_MAX_LABELS; i++)
		free(s->lv[i]);
	free(s);
}

void
metric_clear(struct metric *m)
{
	struct metric_series *s;

	if (m == NULL)
		return;
	while ((s = TAILQ_FIRST(&m->series)) != NULL) {
		TAILQ_REMOVE(&m->series, s, entry);
		series_free(s);
	}
	if (m->other != NULL)
		series_free(m->other);
	m->other = NULL;
	m->nseries = 0;
}

void
metric_reg_free(struct metric_reg *r)
{
	struct metric *m;

	if (r == NULL)
		return;
	while ((m = TAILQ_FIRST(&r->all)) != NULL) {
		TAILQ_REMOVE(&r->all, m, entry);
		metric_clear(m);
		free(m);
	}
	free(r);
}

struct metric *
metric_new(struct metric_reg *r, enum metric_type type, const char *name, const char *help,
           const char *const *labels, const double *bounds, size_t nbounds, size_t max_series)
{
	struct metric *m = xcalloc(1, sizeof(*m));

	m->type = type;
	m->name = name;
	m->help = help;
	while (labels != NULL && labels[m->nlabels] != NULL && m->nlabels < METRIC_MAX_LABELS) {
		m->labels[m->nlabels] = labels[m->nlabels];
		m->nlabels++;
	}
	m->bounds = bounds;
	m->nbounds = nbounds < METRIC_MAX_BUCKETS ? nbounds : METRIC_MAX_BUCKETS;
	m->max_series = max_series > 0 ? max_series : 1;
	TAILQ_INIT(&m->series);
	TAILQ_INSERT_TAIL(&r->all, m, entry);
	return m;
}

static struct metric_series *
series_new(const struct metric *m, const char *const *values)
{
	struct metric_series *s = xcalloc(1, sizeof(*s));

	s->m = m;
	for (size_t i = 0; i < m->nlabels; i++)
		s->lv[i] = xstrdup(values != NULL && values[i] != NULL ? values[i] : "");
	return s;
}

struct metric_series *
metric_series(struct metric *m, const char *const *values)
{
	static const char *const others[METRIC_MAX_LABELS] = {METRIC_OTHER, METRIC_OTHER,
	                                                      METRIC_OTHER};
	struct metric_series *s;

	if (m == NULL) /* metrics_init not called (fuzzers, tools) */
		return NULL;
	TAILQ_FOREACH(s, &m->series, entry) {
		size_t i;

		for (i = 0; i < m->nlabels; i++)
			if (strcmp(s->lv[i], values[i] != NULL ? values[i] : "") != 0)
				break;
		if (i == m->nlabels)
			return s;
	}
	/* Full: what has no series of its own is counted together. */
	if (m->nseries >= m->max_series) {
		if (m->other == NULL)
			m->other = series_new(m, others);
		return m->other;
	}
	s = series_new(m, values);
	TAILQ_INSERT_TAIL(&m->series, s, entry);
	m->nseries++;
	return s;
}

struct metric_series *
metric_at(struct metric *m, ...)
{
	const char *values[METRIC_MAX_LABELS] = {NULL};
	va_list ap;

	if (m == NULL)
		return NULL;
	va_start(ap, m);
	for (size_t i = 0; i < m->nlabels; i++)
		values[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_series(m, values);
}

void
metric_inc(struct metric_series *s, double v)
{
	if (s != NULL && v > 0)
		s->value += v;
}

void
metric_set(struct metric_series *s, double v)
{
	if (s != NULL)
		s->value = v;
}

size_t
metric_bucket(const double *bounds, size_t nbounds, double v)
{
	size_t i;

	/* "le": a value on a bound is in that bound's bucket. */
	for (i = 0; i < nbounds; i++)
		if (v <= bounds[i])
			break;
	return i;
}

void
metric_observe(struct metric_series *s, double v)
{
	if (s == NULL || isnan(v))
		return;
	s->buckets[metric_bucket(s->m->bounds, s->m->nbounds, v)]++;
	s->value += v;
	s->count++;
}

/* ---- rendering ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* A label value: backslash, double quote and newline escaped. HELP: no quote. */
static void
buf_escaped(struct buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			buf_add(b, "\\n", 2);
		else if (*s == '"' && quote)
			buf_add(b, "\\\"", 2);
		else
			buf_add(b, s, 1);
	}
}

/* Shortest text that reads back as v; Prometheus's names for the rest. */
static void
buf_double(struct buf *b, double v)
{
	char t[40];

	if (isnan(v)) {
		buf_str(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_str(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	snprintf(t, sizeof(t), "%.15g", v);
	if (strtod(t, NULL) != v)
		snprintf(t, sizeof(t), "%.17g", v);
	buf_str(b, t);
}

static void
buf_u64(struct buf *b, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
	buf_str(b, t);
}

/* name{a="x",b="y"[,le="..."]} */
static void
render_name(struct buf *b, const struct metric *m, const char *suffix,
            const struct metric_series *s, const char *le)
{
	int any = 0;

	buf_str(b, m->name);
	buf_str(b, suffix);
	for (size_t i = 0; i < m->nlabels; i++) {
		buf_str(b, any++ ? "," : "{");
		buf_str(b, m->labels[i]);
		buf_str(b, "=\"");
		buf_escaped(b, s->lv[i], 1);
		buf_str(b, "\"");
	}
	if (le != NULL) {
		buf_str(b, any++ ? "," : "{");
		buf_str(b, "le=\"");
		buf_str(b, le);
		buf_str(b, "\"");
	}
	if (any)
		buf_str(b, "}");
	buf_str(b, " ");
}

static void
render_series(struct buf *b, const struct metric *m, const struct metric_series *s)
{
	uint64_t cum = 0;
	char le[40];

	if (m->type != METRIC_HISTOGRAM) {
		render_name(b, m, "", s, NULL);
		buf_double(b, s->value);
		buf_str(b, "\n");
		return;
	}
	for (size_t i = 0; i <= m->nbounds; i++) {
		cum += s->buckets[i];
		if (i < m->nbounds) {
			struct buf t = {0};

			buf_double(&t, m->bounds[i]);
			snprintf(le, sizeof(le), "%s", t.p);
			free(t.p);
		} else {
			snprintf(le, sizeof(le), "+Inf");
		}
		render_name(b, m, "_bucket", s, le);
		buf_u64(b, cum);
		buf_str(b, "\n");
	}
	render_name(b, m, "_sum", s, NULL);
	buf_double(b, s->value);
	buf_str(b, "\n");
	render_name(b, m, "_count", s, NULL);
	buf_u64(b, s->count);
	buf_str(b, "\n");
}

char *
metric_render(const struct metric_reg *r, size_t *len)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	struct buf b = {0};
	const struct metric *m;
	const struct metric_series *s;

	buf_add(&b, "", 0);
	if (r == NULL) {
		*len = 0;
		return b.p;
	}
	TAILQ_FOREACH(m, &r->all, entry) {
		buf_str(&b, "# HELP ");
		buf_str(&b, m->name);
		buf_str(&b, " ");
		buf_escaped(&b, m->help, 0);
		buf_str(&b, "\n# TYPE ");
		buf_str(&b, m->name);
		buf_str(&b, " ");
		buf_str(&b, types[m->type]);
		buf_str(&b, "\n");
		TAILQ_FOREACH(s, &m->series, entry)
			render_series(&b, m, s);
		if (m->other != NULL)
			render_series(&b, m, m->other);
	}
	*len = b.len;
	return b.p;
}

/* ---- wsd's metrics ---- */

struct metric_reg *metrics;
struct metric *m_workspaces;
struct metric *m_start_duration;
struct metric *m_phase_duration;
struct metric *m_engine_duration;
struct metric *m_engine_errors;
struct metric *m_loop_lag;
struct metric *m_gpus;
struct metric *m_gpu_util;
struct metric *m_gpu_mem_used;
struct metric *m_gpu_mem_total;
struct metric *m_gpu_seconds;
struct metric *m_quota_refusals;
struct metric *m_idle;
struct metric *m_http_requests;
struct metric *m_http_duration;
struct metric *m_store_tx;

/* Starts take seconds to minutes (an image's first Jupyter, a boot queue). */
static const double start_bounds[] = {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600};
/* Engine calls, HTTP replies: milliseconds to the engine's timeouts. */
static const double call_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25,  0.5,    1,     2.5,  5,     10,   30};
/* How late the loop's 1 s tick fires. */
static const double lag_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,   0.25,   0.5,   1,    5};
/* SQLite transactions on the store thread. */
static const double tx_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                   0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

void
metrics_init(void)
{
	static const char *const states[] = {"queued",   "preparing", "pending", "creating",
	                                     "starting", "waiting",   "ready",   "stopping"};
	static const char *const limits[] = {"gpus", "workspaces", "memory",    "shm",
	                                     "cpus", "lifetime",   "gpu_hours", "queued"};
	static const char *const ops[] = {"hello",  "create",    "start", "inspect", "stop",
	                                  "remove", "logs_tail", "list",  "top"};

	if (metrics != NULL)
		return;
	metrics = metric_reg_new();
	m_workspaces =
	    metric_new(metrics, METRIC_GAUGE, "wslab_workspaces",
	               "Workspaces wsd knows, by lifecycle state.", LABELS("state"), NULL, 0, 16);
	m_start_duration = metric_new(
	    metrics, METRIC_HISTOGRAM, "wslab_workspace_start_duration_seconds",
	    "Time from an accepted start to ready, failed or stopped, by template and outcome.",
	    LABELS("template", "outcome"), start_bounds, N(start_bounds), 200);
	m_phase_duration =
	    metric_new(metrics, METRIC_HISTOGRAM, "wslab_workspace_phase_duration_seconds",
	               "Time a start spent in each phase before the next.", LABELS("phase"),
	               start_bounds, N(start_bounds), 16);
	m_engine_duration =
	    metric_new(metrics, METRIC_HISTOGRAM, "wslab_engine_request_duration_seconds",
	               "Latency of container engine operations, from the call to its answer.",
	               LABELS("operation"), call_bounds, N(call_bounds), 16);
	m_engine_errors = metric_new(metrics, METRIC_COUNTER, "wslab_engine_errors_total",
	                             "Engine operations that did not succeed, by operation and "
	                             "result.",
	                             LABELS("operation", "result"), NULL, 0, 64);
	m_loop_lag = metric_new(metrics, METRIC_HISTOGRAM, "wslab_event_loop_lag_seconds",
	                        "How late the event loop ran a 1 s timer: time it could not "
	                        "serve anyone.",
	                        NULL, lag_bounds, N(lag_bounds), 1);
	m_gpus = metric_new(metrics, METRIC_GAUGE, "wslab_gpus", "GPUs in the inventory, by state.",
	                    LABELS("state"), NULL, 0, 4);
	m_gpu_util = metric_new(metrics, METRIC_GAUGE, "wslab_gpu_utilization_ratio",
	                        "GPU utilisation (0 to 1) at the last inventory refresh, with "
	                        "the holding workspace's id (\"\" when free).",
	                        LABELS("gpu", "workspace"), NULL, 0, 256);
	m_gpu_mem_used = metric_new(metrics, METRIC_GAUGE, "wslab_gpu_memory_used_bytes",
	                            "GPU memory in use at the last inventory refresh, with the "
	                            "holding workspace's id.",
	                            LABELS("gpu", "workspace"), NULL, 0, 256);
	m_gpu_mem_total = metric_new(metrics, METRIC_GAUGE, "wslab_gpu_memory_total_bytes",
	                             "GPU memory in all.", LABELS("gpu"), NULL, 0, 256);
	m_gpu_seconds = metric_new(metrics, METRIC_COUNTER, "wslab_gpu_usage_seconds_total",
	                           "GPU-seconds used by ready workspaces since wsd started, by "
	                           "owner (at most 1000 users; the rest as _other).",
	                           LABELS("user"), NULL, 0, METRICS_USER_SERIES);
	m_quota_refusals = metric_new(metrics, METRIC_COUNTER, "wslab_quota_refusals_total",
	                              "Starts refused by a quota, by the limit that refused.",
	                              LABELS("limit"), NULL, 0, 16);
	m_http_requests = metric_new(metrics, METRIC_COUNTER, "wslab_http_requests_total",
	                             "API requests answered, by method, route pattern and "
	                             "status.",
	                             LABELS("method", "route", "status"), NULL, 0, 500);
	m_http_duration =
	    metric_new(metrics, METRIC_HISTOGRAM, "wslab_http_request_duration_seconds",
	               "Time from a complete request to its reply (a stream's end), "
	               "by route pattern.",
	               LABELS("route"), call_bounds, N(call_bounds), 64);
	m_store_tx =
	    metric_new(metrics, METRIC_HISTOGRAM, "wslab_store_transaction_duration_seconds",
	               "Time the store thread took to run a transaction, by result.",
	               LABELS("result"), tx_bounds, N(tx_bounds), 4);

	m_idle = metric_new(metrics, METRIC_COUNTER, "wslab_idle_events_total",
	                    "Idle reclaim: owners warned, warnings cancelled by use, and "
	                    "workspaces reclaimed.",
	                    LABELS("event"), NULL, 0, 4);

	/* Series that should read 0 before anything happens (rate() and alerts need them). */
	metric_at(m_idle, "warning");
	metric_at(m_idle, "cancelled");
	metric_at(m_idle, "reclaim");
	for (size_t i = 0; i < N(limits); i++)
		metric_at(m_quota_refusals, limits[i]);
	for (size_t i = 0; i < N(ops); i++)
		metric_at(m_engine_duration, ops[i]);
	for (size_t i = 0; i < N(states); i++)
		metric_at(m_workspaces, states[i]);
	metric_at(m_gpus, "free");
	metric_at(m_gpus, "held");
	metric_at(m_store_tx, "ok");
	metric_at(m_loop_lag);
}

static uv_timer_t lag_timer;
static int lag_running;
static uint64_t lag_due; /* uv_hrtime() the tick is due */

#define LAG_TICK_MS 1000

static void
lag_tick(uv_timer_t *t)
{
	uint64_t now = uv_hrtime();

	(void)t;
	metric_observe(metric_at(m_loop_lag), now > lag_due ? (double)(now - lag_due) / 1e9 : 0.0);
	lag_due = now + (uint64_t)LAG_TICK_MS * 1000000;
	uv_timer_start(&lag_timer, lag_tick, LAG_TICK_MS, 0);
}

void
metrics_start(uv_loop_t *loop)
{
	metrics_init();
	uv_timer_init(loop, &lag_timer);
	/* It measures the loop; it never keeps it running. */
	uv_unref((uv_handle_t *)&lag_timer);
	lag_running = 1;
	lag_due = uv_hrtime() + (uint64_t)LAG_TICK_MS * 1000000;
	uv_timer_start(&lag_timer, lag_tick, LAG_TICK_MS, 0);
}

void
metrics_stop(void)
{
	if (!lag_running)
		return;
	lag_running = 0;
	uv_close((uv_handle_t *)&lag_timer, NULL);
}

void
metrics_free(void)
{
	struct metric **all[] = {
	    &m_workspaces,    &m_start_duration, &m_phase_duration, &m_engine_duration,
	    &m_engine_errors, &m_loop_lag,       &m_gpus,           &m_gpu_util,
	    &m_gpu_mem_used,  &m_gpu_mem_total,  &m_gpu_seconds,    &m_quota_refusals,
	    &m_http_requests, &m_http_duration,  &m_store_tx,       &m_idle};

	metric_reg_free(metrics);
	metrics = NULL;
	/* Hooks called later (a late callback at shutdown) find no family: no-ops. */
	for (size_t i = 0; i < N(all); i++)
		*all[i] = NULL;
}

double
metrics_since(uint64_t start_ns)
{
	uint64_t now = uv_hrtime();

	return now > start_ns ? (double)(now - start_ns) / 1e9 : 0.0;
}
