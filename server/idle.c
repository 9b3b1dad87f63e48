/*
 * Idle reclaim: a ready workspace with an idle timeout that nobody used
 * for that long is stopped (its home kept), after a warning, so that its
 * GPUs go to someone who will use them.
 *
 * "Used" is any of: a GPU it holds at or above idle_gpu_util percent; a
 * Jupyter kernel busy, or Jupyter's own last_activity (browsing, saving,
 * kernel messages); an SSH session open. GPU memory held by a process that
 * does nothing is not use. The evidence comes from three places, none of
 * them on the loop's critical path: the GPU inventory that gpu.c refreshes
 * on the pool (idle_gpu_sampled runs after each refresh and only compares
 * numbers); Jupyter's /api/status and /api/kernels, asked through fetch.c
 * with the workspace's token and no_track_activity (so asking is not
 * activity); and the engine's process list of the container, where sshd
 * names each session's process "sshd: USER@TTY" (or "@notty").
 *
 * GPUs are contended (idle_timeout_contended applies to their holders)
 * while a start waits in the GPU queue, and for a while after a start was
 * refused for want of GPUs (twice idle_check_interval, at least 2 min).
 *
 * Each workspace is checked every idle_check_interval, spread over the
 * interval by a 1 s tick, with at most IDLE_INFLIGHT checks at once. A
 * check whose process list cannot be read decides nothing (an SSH session
 * might be open), nor does one whose Jupyter counted kernels but then did
 * not list them (one might be computing); a Jupyter that does not answer
 * at all only contributes no activity.
 *
 * The clock (idle_since, the last activity seen, and when the owner was
 * warned) is kept in the store: a restarted wsd goes on from it rather
 * than granting a fresh timeout. But it reclaims only on evidence of its
 * own: two checks completed since it started, and a warning idle_warn
 * before. So a wsd that was down for a while neither forgets the idle
 * hour nor stops a workspace before its owner was told and could react.
 */
#include "idle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "engine.h"
#include "fetch.h"
#include "gpu.h"
#include "log.h"
#include "metrics.h"
#include "notice.h"
#include "store.h"
#include "store_ws.h"
#include "workspace.h"
#include "xmalloc.h"

#define IDLE_INFLIGHT 16    /* checks at once */
#define IDLE_STORE_SLACK 60 /* seconds idle_since may move before it is written again */
#define IDLE_DEMAND_MIN 120 /* seconds a refused GPU start counts as demand, at least */

static uv_loop_t *loop;
static const struct config *cfg;
static uv_timer_t tick;
static int running, inflight;
static double demand_until;
static int queue_waiting; /* a start waits in the GPU queue (seen at the last tick) */
static uint64_t checks_done;

struct idle_check {
	struct workspace *ws;
	double jupyter_last; /* Jupyter's last_activity; 0: unknown */
	int kernels_busy;
	int jupyter_answered;
	int kernels_asked;   /* status counted kernels; their list was asked for */
	int kernels_unknown; /* ...and did not come */
	char url[512];
};

static void idle_status_read(void *arg, const struct fetch_reply *r);
static void idle_kernels_read(void *arg, const struct fetch_reply *r);
static void idle_top_read(void *arg, const struct engine_result *r);
static void idle_decide(struct workspace *ws, const struct idle_check *c, int sessions);

double
idle_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
idle_parse_time(const char *s, double *out)
{
	struct tm tm = {0};
	const char *p;
	double frac = 0;
	time_t t;

	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		double scale = 0.1;

		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	/* Jupyter writes UTC: "Z" or "+00:00"; anything else is not ours to guess. */
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (double)t + frac;
	return 0;
}

int
idle_ssh_sessions(const char *const *procs, size_t n)
{
	int sessions = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = procs[i];

		/* "sshd: alice@pts/0", "sshd: alice@notty"; not the listener, not pre-auth. */
		if (strncmp(p, "sshd: ", 6) == 0 && strchr(p + 6, '@') != NULL &&
		    strchr(p + 6, '[') == NULL)
			sessions++;
	}
	return sessions;
}

double
idle_reclaim_at(double idle_since, int64_t timeout, int64_t contended_timeout, int contended)
{
	int64_t t = timeout;

	if (timeout < 0 || idle_since <= 0)
		return 0;
	if (contended && contended_timeout >= 0 && contended_timeout < t)
		t = contended_timeout;
	return idle_since + (double)t;
}

void
idle_demand(void)
{
	double hold = (double)cfg->idle_check_interval * 2;

	demand_until = idle_now() + (hold > IDLE_DEMAND_MIN ? hold : IDLE_DEMAND_MIN);
}

static int
idle_contended(const struct workspace *ws)
{
	return ws->ngpus > 0 && (queue_waiting || idle_now() < demand_until);
}

double
idle_workspace_reclaim_at(const struct workspace *ws)
{
	if (ws->state != WS_READY)
		return 0;
	return idle_reclaim_at(ws->idle_since, ws->idle_timeout, cfg->idle_timeout_contended,
	                       idle_contended(ws));
}

/* Activity seen now: the clock starts again, and a warning no longer holds. */
static void
idle_active(struct workspace *ws, double when)
{
	if (when <= ws->idle_since)
		return;
	ws->idle_since = when;
	if (ws->idle_warned_at > 0 && when > ws->idle_warned_at) {
		log_info("workspace %s (%s/%s) is in use again: no reclaim", ws->id, ws->owner,
		         ws->name);
		ws->idle_warned_at = 0;
		metric_inc(metric_at(m_idle, "cancelled"), 1);
		store_ws_idle(ws->id, ws->idle_since, 0);
		ws->idle_stored = ws->idle_since;
	}
}

void
idle_gpu_sampled(void)
{
	const struct gpu_inventory *inv = gpu_inventory();
	double now = idle_now();
	struct workspace *ws;

	WS_FOREACH(ws) {
		if (ws->state != WS_READY)
			continue;
		for (int i = 0; i < ws->ngpus; i++) {
			if (inv->gpus[ws->gpu_pos[i]].util >= (unsigned)cfg->idle_gpu_util) {
				ws->last_gpu = now;
				idle_active(ws, now);
				break;
			}
		}
	}
}

static void
idle_check_free(struct idle_check *c)
{
	explicit_bzero(c->url, sizeof(c->url));
	ws_unref(c->ws);
	free(c);
	inflight--;
}

/* A GET of Jupyter's API with the token; the URL is wiped once sent. */
static int
idle_jupyter_get(struct idle_check *c, const char *what, fetch_cb *cb)
{
	struct fetch_opts o = {0};
	const char *ph = ws_probe_host(c->ws);
	int v6 = strchr(ph, ':') != NULL;
	int rc;

	snprintf(c->url, sizeof(c->url), "http://%s%s%s:%d/api/%s%stoken=%s", v6 ? "[" : "", ph,
	         v6 ? "]" : "", c->ws->jupyter_port, what, strchr(what, '?') ? "&" : "?",
	         c->ws->token);
	o.url = c->url;
	o.timeout_ms = 5000;
	o.max_body = 1 << 20;
	rc = fetch_start(&o, cb, c);
	explicit_bzero(c->url, sizeof(c->url));
	return rc;
}

static void
idle_check_start(struct workspace *ws)
{
	struct idle_check *c = xcalloc(1, sizeof(*c));

	ws_ref(ws);
	c->ws = ws;
	ws->idle_checking = 1;
	inflight++;
	if (idle_jupyter_get(c, "status", idle_status_read) == -1)
		idle_status_read(c, &(struct fetch_reply){0});
}

static void
idle_status_read(void *arg, const struct fetch_reply *r)
{
	struct idle_check *c = arg;
	json_t *j = r->status == 200 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	double t;

	if (j != NULL) {
		c->jupyter_answered = 1;
		if (idle_parse_time(json_string_value(json_object_get(j, "last_activity")), &t) ==
		    0)
			c->jupyter_last = t;
	}
	/* A kernel that computes in silence (time.sleep, a long cell) is busy, not idle. */
	if (j != NULL && json_integer_value(json_object_get(j, "kernels")) > 0 &&
	    c->ws->state == WS_READY) {
		json_decref(j);
		c->kernels_asked = 1;
		if (idle_jupyter_get(c, "kernels?no_track_activity=1", idle_kernels_read) == -1)
			idle_kernels_read(c, &(struct fetch_reply){0});
		return;
	}
	json_decref(j);
	idle_kernels_read(c, &(struct fetch_reply){0});
}

static void
idle_kernels_read(void *arg, const struct fetch_reply *r)
{
	struct idle_check *c = arg;
	json_t *j = r->status == 200 ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *k;
	size_t i;

	if (c->kernels_asked && !json_is_array(j))
		c->kernels_unknown = 1;
	json_array_foreach(j, i, k)
	{
		const char *st = json_string_value(json_object_get(k, "execution_state"));

		if (st != NULL && strcmp(st, "busy") == 0)
			c->kernels_busy++;
	}
	json_decref(j);
	if (c->ws->state != WS_READY || engine_top(c->ws->container_id, idle_top_read, c) == -1) {
		c->ws->idle_checking = 0;
		idle_check_free(c);
	}
}

static void
idle_top_read(void *arg, const struct engine_result *r)
{
	struct idle_check *c = arg;
	struct workspace *ws = c->ws;

	ws->idle_checking = 0;
	if (ws->state == WS_READY && r->status == ENGINE_OK && c->kernels_unknown)
		log_debug("workspace %s: idle check: Jupyter counted kernels but did not list "
		          "them; no decision",
		          ws->id);
	else if (ws->state == WS_READY && r->status == ENGINE_OK)
		idle_decide(ws, c, idle_ssh_sessions(r->procs, r->nprocs));
	else if (ws->state == WS_READY)
		log_debug(
		    "workspace %s: idle check: its processes cannot be read (%s); no decision",
		    ws->id, r->message ? r->message : "engine");
	idle_check_free(c);
}

static void
idle_iso(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The evidence, for the audit and the log. */
static void
idle_evidence(const struct workspace *ws, char *buf, size_t len)
{
	char since[32], gpu[32], jup[32], ssh[32];

	idle_iso(ws->idle_since, since, sizeof(since));
	idle_iso(ws->last_gpu, gpu, sizeof(gpu));
	idle_iso(ws->last_jupyter, jup, sizeof(jup));
	idle_iso(ws->last_ssh, ssh, sizeof(ssh));
	snprintf(buf, len,
	         "idle since %s; last GPU use %s, last Jupyter activity %s, last SSH session %s",
	         since, ws->ngpus ? gpu : "(no GPU)", jup, ssh);
}

static void
idle_decide(struct workspace *ws, const struct idle_check *c, int sessions)
{
	double now = idle_now(), at;
	char target[80], ev[300];

	ws->idle_checks++;
	checks_done++;
	if (c->jupyter_last > 0) {
		double seen = c->jupyter_last < now ? c->jupyter_last : now;

		if (seen > ws->last_jupyter)
			ws->last_jupyter = seen;
		idle_active(ws, seen);
	}
	if (c->kernels_busy > 0) {
		ws->last_jupyter = now;
		idle_active(ws, now);
	}
	if (sessions > 0) {
		ws->last_ssh = now;
		idle_active(ws, now);
	}
	if (ws->idle_since - ws->idle_stored >= IDLE_STORE_SLACK || ws->idle_stored == 0) {
		store_ws_idle(ws->id, ws->idle_since, ws->idle_warned_at);
		ws->idle_stored = ws->idle_since;
	}
	if ((at = idle_workspace_reclaim_at(ws)) <= 0 || ws->stop_requested)
		return;
	snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
	idle_evidence(ws, ev, sizeof(ev));
	if (ws->idle_warned_at == 0 && now >= at - (double)cfg->idle_warn) {
		char when[32], detail[400];
		double deadline;

		ws->idle_warned_at = now;
		store_ws_idle(ws->id, ws->idle_since, now);
		ws->idle_stored = ws->idle_since;
		deadline = at > now + (double)cfg->idle_warn ? at : now + (double)cfg->idle_warn;
		idle_iso(deadline, when, sizeof(when));
		snprintf(detail, sizeof(detail), "%s; reclaimed at %s unless used", ev, when);
		log_warn("workspace %s (%s) is idle: %s", ws->id, target, detail);
		store_audit("wsd", 0, "idle_warning", target, "ok", detail);
		notice_post(NOTICE_IDLE_WARNING, ws, (double)(int64_t)deadline, ev);
		metric_inc(metric_at(m_idle, "warning"), 1);
		return;
	}
	/* Evidence of this wsd's own, and the warning idle_warn before. */
	if (now < at || ws->idle_checks < 2 || ws->idle_warned_at == 0 ||
	    now < ws->idle_warned_at + (double)cfg->idle_warn)
		return;
	log_info("workspace %s (%s) reclaimed: %s", ws->id, target, ev);
	store_audit("wsd", 0, "idle_reclaim", target, "ok", ev);
	notice_post(NOTICE_RECLAIMED, ws, now, ev);
	metric_inc(metric_at(m_idle, "reclaim"), 1);
	ws_stop_by(ws, "wsd", 0, "idle");
}

static void
idle_tick(uv_timer_t *t)
{
	uint64_t now = uv_now(loop), every = (uint64_t)cfg->idle_check_interval * 1000;
	struct workspace *ws;

	(void)t;
	queue_waiting = 0;
	WS_FOREACH(ws)
		queue_waiting |= ws->state == WS_QUEUED;
	WS_FOREACH(ws) {
		if (ws->state != WS_READY || ws->idle_timeout < 0 || ws->stop_requested)
			continue;
		if (ws->idle_since == 0)
			ws->idle_since = ws->ready_at > 0 ? (double)ws->ready_at : idle_now();
		if (ws->idle_next == 0) /* spread over the interval, by its id */
			ws->idle_next = now + (strtoull(ws->id + 6, NULL, 16) % (every + 1));
		if (ws->idle_checking || now < ws->idle_next || inflight >= IDLE_INFLIGHT)
			continue;
		ws->idle_next = now + every;
		idle_check_start(ws);
	}
}

void
idle_init(uv_loop_t *l, const struct config *c)
{
	loop = l;
	cfg = c;
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, idle_tick, 1000, 1000);
	uv_unref((uv_handle_t *)&tick); /* never what keeps the loop alive */
	running = 1;
}

void
idle_stop(void)
{
	if (running)
		uv_timer_stop(&tick);
	running = 0;
}

uint64_t
idle_checks_done(void)
{
	return checks_done;
}
