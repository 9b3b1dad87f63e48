/*
 * One 1 s timer over the registry. The owner is told lifetime_warn before
 * the end (notice.c; once per deadline, so an extension earns a new
 * warning and a restarted wsd does not repeat one), and when it ended.
 */
#include "expiry.h"

#include <stdio.h>

#include "log.h"
#include "notice.h"
#include "store.h"
#include "workspace.h"

#define GPU_HOURS_CHECK_S 10  /* seconds between checks of the weekly GPU-hours */
#define GPU_HOURS_WARN_S 1800 /* GPU-seconds left at the warning (or a tenth, if less) */

static uv_timer_t timer;
static int running;
static const struct config *cfg;

/*
 * GPU-seconds its owner used in the rolling week, closed and running
 * (the same sum as the quota check at a start).
 */
static double
expiry_gpu_seconds(const struct workspace *ws)
{
	struct ws_who who = {.uid = ws->uid, .user = ws->owner};
	struct quota_use use;

	ws_quota_use(&who, &use);
	return use.gpu_seconds;
}

/*
 * A workspace holding GPUs stops when its owner's GPU-hours of the week
 * reach the limit that was in force at its start: warned (log and audit)
 * when half an hour of GPU time is left (a tenth of the limit for small
 * limits, and never later than three checks before the end), stopped at
 * the limit. Checked every GPU_HOURS_CHECK_S.
 */
static void
expiry_gpu_hours(struct workspace *ws)
{
	double used, limit, lead;

	if (ws->gpu_hours < 0 || ws->ngpus == 0 || ws->state != WS_READY || ws->stop_requested)
		return;
	used = expiry_gpu_seconds(ws) / 3600.0;
	limit = ws->gpu_hours;
	if (used >= limit) {
		log_info("workspace %s (%s/%s): %.2f of %.2f GPU-hours this week used; stopping",
		         ws->id, ws->owner, ws->name, used, limit);
		ws_stop_by(ws, "wsd", 0, "gpu_hours");
		return;
	}
	lead = limit * 3600 / 10 < GPU_HOURS_WARN_S ? limit * 3600 / 10 : GPU_HOURS_WARN_S;
	if (lead < 3 * GPU_HOURS_CHECK_S * ws->ngpus)
		lead = 3 * GPU_HOURS_CHECK_S * ws->ngpus;
	if ((limit - used) * 3600 <= lead && !ws->gpu_hours_warned) {
		char target[80], detail[96];

		ws->gpu_hours_warned = 1;
		snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
		snprintf(detail, sizeof(detail), "%.2f of %.2f GPU-hours this week used", used,
		         limit);
		log_warn("workspace %s (%s): %s; it stops at the limit", ws->id, target, detail);
		store_audit("wsd", 0, "gpu_hours_warning", target, "ok", detail);
	}
}

/* lifetime_warn before the end: the owner may extend it or save their work. */
static void
expiry_warn(struct workspace *ws)
{
	char target[80], detail[64];

	ws->lifetime_warned = ws->expires_at;
	snprintf(target, sizeof(target), "%s/%s", ws->owner, ws->name);
	snprintf(detail, sizeof(detail), "ends in %llds",
	         (long long)(ws->expires_at - (int64_t)store_now()));
	log_info("workspace %s (%s): its lifetime %s", ws->id, target, detail);
	store_audit("wsd", 0, "lifetime_warning", target, "ok", detail);
	notice_post(NOTICE_LIFETIME_WARNING, ws, (double)ws->expires_at, NULL);
}

static void
expiry_tick(uv_timer_t *t)
{
	static unsigned ticks;
	int64_t now = (int64_t)store_now();
	struct workspace *ws, *next;
	int check_hours = ++ticks % GPU_HOURS_CHECK_S == 0;

	(void)t;
	for (ws = TAILQ_FIRST(ws_registry()); ws; ws = next) {
		next = TAILQ_NEXT(ws, link);
		if (check_hours)
			expiry_gpu_hours(ws);
		if (ws->expires_at == 0 || ws->stop_requested || ws->state >= WS_STOPPING)
			continue;
		if (now < ws->expires_at) {
			if (ws->state == WS_READY && ws->lifetime_warned != ws->expires_at &&
			    now >= ws->expires_at - cfg->lifetime_warn)
				expiry_warn(ws);
			continue;
		}
		log_info("workspace %s (%s/%s) reached the end of its lifetime", ws->id, ws->owner,
		         ws->name);
		notice_post(NOTICE_EXPIRED, ws, (double)ws->expires_at, NULL);
		ws_stop_by(ws, "wsd", 0, "expire");
	}
}

void
expiry_init(uv_loop_t *loop, const struct config *c)
{
	cfg = c;
	uv_timer_init(loop, &timer);
	uv_timer_start(&timer, expiry_tick, 1000, 1000);
	uv_unref((uv_handle_t *)&timer); /* never what keeps the loop alive */
	running = 1;
}

void
expiry_stop(void)
{
	if (running)
		uv_timer_stop(&timer);
	running = 0;
}
