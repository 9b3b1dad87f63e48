/*
 * The pattern table is small and scanned linearly: AUDIT_PATTERNS
 * entries, each compared by uid first. A 1 s timer closes the windows
 * that ended and writes their summaries.
 */
#include "audit.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "types.h"

struct pattern {
	int used;
	unsigned uid;
	char actor[UNIX_NAME_MAX + 1];
	char action[32];
	char target[80];
	char result[16];
	double window_end;
	unsigned long more; /* refusals after the first in this window */
};

static struct pattern table[AUDIT_PATTERNS];
static unsigned long overflow; /* refusals of patterns that found no slot, this window */
static double overflow_end;
static unsigned long suppressed;
static uv_timer_t tick;
static int running;

static void
audit_summary(const struct pattern *p)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "%lu more like this within %d s", p->more, AUDIT_WINDOW_S);
	store_audit(p->actor, p->uid, p->action, p->target, p->result, detail);
}

static void
audit_close_windows(double now)
{
	for (size_t i = 0; i < AUDIT_PATTERNS; i++) {
		struct pattern *p = &table[i];

		if (!p->used || now < p->window_end)
			continue;
		if (p->more > 0)
			audit_summary(p);
		p->used = 0;
	}
	if (overflow > 0 && now >= overflow_end) {
		char detail[96];

		snprintf(detail, sizeof(detail),
		         "%lu refusals of other patterns within %d s (pattern table full)",
		         overflow, AUDIT_WINDOW_S);
		store_audit("wsd", 0, "refusals", "*", "summary", detail);
		overflow = 0;
	}
}

static void
audit_tick(uv_timer_t *t)
{
	(void)t;
	audit_close_windows(store_now());
}

void
audit_init(uv_loop_t *loop)
{
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, audit_tick, 1000, 1000);
	uv_unref((uv_handle_t *)&tick); /* never what keeps the loop alive */
	running = 1;
}

void
audit_shutdown(void)
{
	if (!running)
		return;
	/* Every window ends now: no count is lost at a clean stop. */
	audit_close_windows(1e300);
	uv_timer_stop(&tick);
	running = 0;
}

static int
audit_same(const struct pattern *p, unsigned uid, const char *action, const char *target,
           const char *result)
{
	return p->used && p->uid == uid && strncmp(p->action, action, sizeof(p->action) - 1) == 0 &&
	       strncmp(p->target, target, sizeof(p->target) - 1) == 0 &&
	       strncmp(p->result, result, sizeof(p->result) - 1) == 0;
}

void
audit_refusal(const char *actor, unsigned actor_uid, const char *action, const char *target,
              const char *result, const char *detail)
{
	double now = store_now();
	struct pattern *free_slot = NULL;
	size_t mine = 0;

	for (size_t i = 0; i < AUDIT_PATTERNS; i++) {
		struct pattern *p = &table[i];

		if (p->used && now >= p->window_end) {
			if (p->more > 0)
				audit_summary(p);
			p->used = 0;
		}
		if (audit_same(p, actor_uid, action, target, result)) {
			p->more++;
			suppressed++;
			return;
		}
		if (!p->used && free_slot == NULL)
			free_slot = p;
		if (p->used && p->uid == actor_uid)
			mine++;
	}
	/* One user cannot take the table from the others. */
	if (free_slot == NULL || mine >= AUDIT_PATTERNS_PER_USER) {
		if (overflow++ == 0)
			overflow_end = now + AUDIT_WINDOW_S;
		suppressed++;
		return;
	}
	free_slot->used = 1;
	free_slot->uid = actor_uid;
	snprintf(free_slot->actor, sizeof(free_slot->actor), "%s", actor);
	snprintf(free_slot->action, sizeof(free_slot->action), "%s", action);
	snprintf(free_slot->target, sizeof(free_slot->target), "%s", target);
	snprintf(free_slot->result, sizeof(free_slot->result), "%s", result);
	free_slot->window_end = now + AUDIT_WINDOW_S;
	free_slot->more = 0;
	store_audit(actor, actor_uid, action, target, result, detail);
}

unsigned long
audit_suppressed(void)
{
	return suppressed;
}
