/*
 * The queue's policy, pure: in which order queued starts get GPUs, which
 * of them start now, and when each may start. No I/O and no globals, so
 * queue.c calls it on the loop and the unit tests call it directly.
 *
 * Order: the head that holds a reservation (below: free GPUs kept for
 * it) stays first, so a later arrival with fewer GPU-hours cannot take
 * what it has gathered; then a start
 * that has waited max_wait or longer (oldest first), so nobody waits
 * forever behind later arrivals with fewer GPU-hours; then the fewest
 * GPU-hours of the owner's rolling week; then first come, first served.
 *
 * Dispatch is reserve-and-backfill (EASY backfilling): starts go in order
 * while their GPUs are free. The first one that does not fit is the head:
 * the free GPUs are reserved for it, and its start time (the "shadow") is
 * when enough holders will have reached their end (their lifetime). A
 * later, smaller start may take reserved GPUs only when it cannot delay
 * the head: its own lifetime ends before the shadow, or it uses only GPUs
 * that the head will not need at the shadow. With no end known the
 * reservation is absolute: a 2-GPU head is never starved by 1-GPU starts.
 */
#ifndef WSD_QUEUE_PLAN_H
#define WSD_QUEUE_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct queue_item {
	int ngpus;          /* GPUs asked for */
	double gpu_seconds; /* the owner's GPU-seconds of the rolling week */
	double queued_at;   /* Unix seconds */
	int64_t seq;        /* arrival order; unique */
	double lifetime;    /* seconds it may run once started; < 0: no limit */
	int eligible;       /* its owner's quota lets it start now */
	int reserved;       /* it held a reservation in the last plan */
	void *ref;          /* the caller's */
	/* Set by the functions below. */
	int go;          /* start it now */
	int head;        /* the blocked head, and free GPUs are kept for it */
	double estimate; /* when it may start (Unix seconds); < 0: unknown */
};

/* GPUs that a holder frees at the latest by at (its end). */
struct queue_release {
	double at;
	int ngpus;
};

/* Sort items into the order above; max_wait <= 0: no aging. */
void queue_plan_order(struct queue_item *items, size_t n, double now, double max_wait);

/*
 * With items in order and nfree GPUs free, set go on those that start
 * now. Returns how many.
 */
int queue_plan_dispatch(struct queue_item *items, size_t n, int nfree,
                        const struct queue_release *rel, size_t nrel, double now);

/*
 * Set estimate on items in order: each starts once the GPUs of holders
 * and of the starts before it (those with a lifetime) suffice; after the
 * first that never can (no end known), every later one is unknown.
 */
void queue_plan_estimate(struct queue_item *items, size_t n, int nfree,
                         const struct queue_release *rel, size_t nrel, double now);

#endif
