/*
 * One queue in order of arrival; per template a slot count, a limit, the
 * template's fast boot time and a moving average of its boots. Loop only.
 */
#include "boot.h"

#include <stdlib.h>

#include "log.h"
#include "xmalloc.h"

struct tmpl_state {
	int booting;
	int limit;
	double fast_s; /* its fast (uncontended) boot time; 0: not seen */
	double avg_s;  /* moving average of its boots; 0: not seen */
};

static TAILQ_HEAD(boot_queue, boot_ticket) queue = TAILQ_HEAD_INITIALIZER(queue);
static struct tmpl_state *ts;
static int nts;
static int lo, hi, off, first_limit;
static int booting, pending;
static uv_loop_t *loop;
static uv_timer_t soon;
static int soon_ok;
static void (*on_moved)(void);

static void boot_admit(void);

void
boot_init(uv_loop_t *l, int ntemplates, int host_cpus, int64_t min, int64_t max,
          void (*moved)(void))
{
	int start;

	on_moved = moved;
	loop = l;
	nts = ntemplates > 0 ? ntemplates : 1;
	ts = xcalloc((size_t)nts, sizeof(*ts));
	off = max < 0;
	hi = max > 0 ? (int)max : (host_cpus * 4 > 4 ? host_cpus * 4 : 4);
	lo = min < 1 ? 1 : (int)min;
	if (lo > hi)
		lo = hi;
	start = host_cpus * 2;
	start = start < lo ? lo : start > hi ? hi : start;
	first_limit = start;
	for (int i = 0; i < nts; i++)
		ts[i].limit = start;
	uv_timer_init(loop, &soon);
	uv_unref((uv_handle_t *)&soon);
	soon_ok = 1;
	if (off)
		log_info("boot pacing off: every start boots at once");
	else
		log_info("boot pacing: %d to %d at once, starting at %d", lo, hi, start);
}

void
boot_shutdown(void)
{
	if (soon_ok)
		uv_timer_stop(&soon);
	soon_ok = 0;
	free(ts);
	ts = NULL;
	nts = 0;
	TAILQ_INIT(&queue);
	booting = pending = 0;
}

/* A template's slot: i is its seq, which a reload that adds templates grows. */
static struct tmpl_state *
boot_tmpl(int i)
{
	if (i < 0)
		i = 0;
	if (i >= nts) {
		ts = xrealloc(ts, ((size_t)i + 1) * sizeof(*ts));
		for (int j = nts; j <= i; j++)
			ts[j] = (struct tmpl_state){.limit = first_limit};
		nts = i + 1;
	}
	return &ts[i];
}

static int
boot_free_slot(int tmpl)
{
	return off || (boot_tmpl(tmpl)->booting < boot_tmpl(tmpl)->limit && booting < hi);
}

static void
boot_begin(struct boot_ticket *t)
{
	struct tmpl_state *s = boot_tmpl(t->tmpl);

	t->state = 2;
	t->beside = s->booting;
	t->began_ms = uv_now(loop);
	s->booting++;
	booting++;
	t->go(t);
}

void
boot_request(struct boot_ticket *t)
{
	struct boot_ticket *q;

	/* Never slower for one: a free slot and nobody of its template before it. */
	if (boot_free_slot(t->tmpl)) {
		TAILQ_FOREACH(q, &queue, link) {
			if (q->tmpl == t->tmpl)
				break;
		}
		if (q == NULL) {
			boot_begin(t);
			return;
		}
	}
	t->state = 1;
	/*
	 * In order of arrival, not of readiness: a start whose preparation
	 * (on the pool) ended sooner does not pass one that came before it.
	 */
	q = TAILQ_LAST(&queue, boot_queue);
	while (t->seq != 0 && q != NULL && (q->seq == 0 || q->seq > t->seq))
		q = TAILQ_PREV(q, boot_queue, link);
	if (q == NULL)
		TAILQ_INSERT_HEAD(&queue, t, link);
	else
		TAILQ_INSERT_AFTER(&queue, q, t, link);
	pending++;
}

/* Admit, in order of arrival, every pending ticket that has a slot. */
static void
boot_admit(void)
{
	struct boot_ticket *t, *next;
	unsigned long blocked = 0; /* templates whose head waits: later ones of them wait too */
	int admitted = 0;

	for (t = TAILQ_FIRST(&queue); t != NULL; t = next) {
		next = TAILQ_NEXT(t, link);
		if (t->tmpl < 64 && (blocked & (1ul << t->tmpl)))
			continue;
		if (!boot_free_slot(t->tmpl)) {
			if (t->tmpl < 64)
				blocked |= 1ul << t->tmpl;
			continue;
		}
		TAILQ_REMOVE(&queue, t, link);
		pending--;
		boot_begin(t); /* may request or finish others: next is re-read below */
		next = TAILQ_FIRST(&queue);
		blocked = 0;
		admitted++;
	}
	if (admitted > 0 && pending > 0 && on_moved != NULL)
		on_moved();
}

static void
boot_soon_cb(uv_timer_t *tm)
{
	(void)tm;
	boot_admit();
}

/* Learn from one boot: the template's fast time, its average, its limit. */
static void
boot_learn(struct tmpl_state *s, const struct boot_ticket *t, double secs)
{
	double stretch;

	s->avg_s = s->avg_s > 0 ? 0.8 * s->avg_s + 0.2 * secs : secs;
	/* The fast time follows the fastest boots, and drifts up slowly when
	 * they get slower for good (a new image, a busier host). */
	if (s->fast_s == 0 || secs < s->fast_s)
		s->fast_s = secs;
	else
		s->fast_s += (secs - s->fast_s) * 0.02;
	if (off)
		return;
	stretch = secs / s->fast_s;
	if (stretch > BOOT_STRETCH_BAD && s->limit > lo) {
		s->limit--;
		log_debug("boot pacing: template %d: a boot took %.1fx its fast time; limit %d",
		          t->tmpl, stretch, s->limit);
	} else if (stretch <= BOOT_STRETCH_OK && t->beside + 1 >= s->limit && s->limit < hi) {
		s->limit++;
		log_debug("boot pacing: template %d: a full set booted in %.1fx its fast time; "
		          "limit %d",
		          t->tmpl, stretch, s->limit);
	}
}

void
boot_done(struct boot_ticket *t, int ok)
{
	struct tmpl_state *s = boot_tmpl(t->tmpl);

	if (t->state == 1) {
		TAILQ_REMOVE(&queue, t, link);
		pending--;
	} else if (t->state == 2) {
		s->booting--;
		booting--;
		if (ok)
			boot_learn(s, t, (double)(uv_now(loop) - t->began_ms) / 1000.0);
		/* Admitted from the loop, not from inside the caller's step. */
		if (pending > 0 && soon_ok)
			uv_timer_start(&soon, boot_soon_cb, 0, 0);
	}
	t->state = 0;
}

void
boot_position(const struct boot_ticket *t, int *ahead, double *eta_s)
{
	const struct tmpl_state *s = boot_tmpl(t->tmpl);
	const struct boot_ticket *q;
	int n = 0;

	TAILQ_FOREACH(q, &queue, link) {
		if (q == t)
			break;
		if (q->tmpl == t->tmpl)
			n++;
	}
	*ahead = n;
	/* The boots before it go in waves of the limit; the running wave is half done. */
	*eta_s = s->avg_s > 0 ? s->avg_s * ((double)(n / (s->limit > 0 ? s->limit : 1)) + 0.5) : -1;
}

void
boot_stats(struct boot_stats *st)
{
	st->booting = booting;
	st->pending = pending;
	st->limit = 0;
	for (int i = 0; i < nts; i++)
		st->limit += ts[i].limit;
	st->min = lo;
	st->max = hi;
	st->off = off;
}

int
boot_limit(int tmpl, double *fast_s)
{
	*fast_s = boot_tmpl(tmpl)->fast_s;
	return boot_tmpl(tmpl)->limit;
}
