/*
 * Queue policy. See queue_plan.h for the rules; everything here is pure.
 */
#include "queue_plan.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static double order_now, order_max_wait;

static int
aged(const struct queue_item *it)
{
	return order_max_wait > 0 && order_now - it->queued_at >= order_max_wait;
}

static int
order_cmp(const void *pa, const void *pb)
{
	const struct queue_item *a = pa, *b = pb;
	int aa = aged(a), ab = aged(b);

	if (a->reserved != b->reserved)
		return a->reserved ? -1 : 1;
	if (aa != ab)
		return aa ? -1 : 1;
	if (!aa && a->gpu_seconds != b->gpu_seconds)
		return a->gpu_seconds < b->gpu_seconds ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
queue_plan_order(struct queue_item *items, size_t n, double now, double max_wait)
{
	/* qsort has no context argument; the plan runs on one thread. */
	order_now = now;
	order_max_wait = max_wait;
	if (n > 1)
		qsort(items, n, sizeof(items[0]), order_cmp);
}

static int
release_cmp(const void *pa, const void *pb)
{
	const struct queue_release *a = pa, *b = pb;

	return a->at < b->at ? -1 : a->at > b->at;
}

/* The releases sorted by time, with room for extra more. */
static struct queue_release *
sorted_releases(const struct queue_release *rel, size_t nrel, size_t extra)
{
	struct queue_release *r = xcalloc(nrel + extra + 1, sizeof(*r));

	if (nrel > 0) {
		memcpy(r, rel, nrel * sizeof(*r));
		qsort(r, nrel, sizeof(*r), release_cmp);
	}
	return r;
}

int
queue_plan_dispatch(struct queue_item *items, size_t n, int nfree, const struct queue_release *rel,
                    size_t nrel, double now)
{
	struct queue_release *r = sorted_releases(rel, nrel, 0);
	int spare = nfree, started = 0, blocked = 0, extra = 0;
	double shadow = -1;

	for (size_t i = 0; i < n; i++) {
		struct queue_item *it = &items[i];

		it->go = 0;
		it->head = 0;
		if (!it->eligible)
			continue;
		if (!blocked) {
			if (it->ngpus <= spare) {
				it->go = 1;
				spare -= it->ngpus;
				started++;
				continue;
			}
			/* The head: when will it fit, and what is spare then? */
			blocked = 1;
			it->head = spare > 0; /* nothing free: nothing to keep yet */
			for (size_t k = 0, avail = (size_t)spare; k < nrel; k++) {
				avail += (size_t)r[k].ngpus;
				if ((int)avail >= it->ngpus) {
					shadow = r[k].at;
					extra = (int)avail - it->ngpus;
					break;
				}
			}
			if (extra > spare)
				extra = spare;
			continue;
		}
		if (it->ngpus > spare)
			continue;
		if (shadow >= 0 && it->lifetime >= 0 && now + it->lifetime <= shadow) {
			it->go = 1; /* done before the head could start */
		} else if (it->ngpus <= extra) {
			it->go = 1; /* on GPUs the head will not need */
			extra -= it->ngpus;
		} else {
			continue;
		}
		spare -= it->ngpus;
		started++;
	}
	free(r);
	return started;
}

void
queue_plan_estimate(struct queue_item *items, size_t n, int nfree, const struct queue_release *rel,
                    size_t nrel, double now)
{
	struct queue_release *r = sorted_releases(rel, nrel, n);
	size_t nr = nrel, next = 0;
	int avail = nfree, unknown = 0;
	double t = now;

	for (size_t i = 0; i < n; i++) {
		struct queue_item *it = &items[i];

		it->estimate = -1;
		if (!it->eligible || unknown)
			continue;
		while (avail < it->ngpus && next < nr) {
			avail += r[next].ngpus;
			if (r[next].at > t)
				t = r[next].at;
			next++;
		}
		if (avail < it->ngpus) {
			unknown = 1;
			continue;
		}
		it->estimate = t;
		avail -= it->ngpus;
		if (it->lifetime >= 0 && it->ngpus > 0) {
			/* Its end frees its GPUs: keep the rest sorted. */
			size_t k = nr++;

			while (k > next && r[k - 1].at > t + it->lifetime) {
				r[k] = r[k - 1];
				k--;
			}
			r[k].at = t + it->lifetime;
			r[k].ngpus = it->ngpus;
		}
	}
	free(r);
}
