/*
 * The queue's policy (queue_plan.c): order by GPU-hours then arrival,
 * aging, the reserved head, reserve-and-backfill, and estimates.
 */
#include <string.h>

#include "queue_plan.h"
#include "unit.h"

#define NOW 1000000.0
#define H 3600.0

static struct queue_item
item(int64_t seq, int ngpus, double gpu_hours, double waited)
{
	struct queue_item it = {0};

	it.seq = seq;
	it.ngpus = ngpus;
	it.gpu_seconds = gpu_hours * H;
	it.queued_at = NOW - waited;
	it.lifetime = -1;
	it.eligible = 1;
	return it;
}

static void
expect_order(const struct queue_item *it, size_t n, const int64_t *seqs)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(it[i].seq == seqs[i], "position %zu: seq %lld, want %lld", i + 1,
		              (long long)it[i].seq, (long long)seqs[i]);
}

START_TEST(fewest_gpu_hours_first_then_fifo)
{
	struct queue_item it[] = {item(1, 1, 5, 30), item(2, 1, 1, 20), item(3, 1, 3, 10),
	                          item(4, 1, 1, 5)};
	const int64_t want[] = {2, 4, 3, 1};

	queue_plan_order(it, 4, NOW, 86400);
	expect_order(it, 4, want);
}
END_TEST

/* Past max_wait a start goes before later arrivals with fewer GPU-hours, oldest first. */
START_TEST(aging_bounds_the_wait)
{
	struct queue_item it[] = {item(1, 1, 50, 90000), item(2, 1, 0, 100), item(3, 1, 40, 86400),
	                          item(4, 1, 0, 50)};
	const int64_t want[] = {1, 3, 2, 4};
	const int64_t no_aging[] = {2, 4, 3, 1};

	queue_plan_order(it, 4, NOW, 86400);
	expect_order(it, 4, want);
	queue_plan_order(it, 4, NOW, 0);
	expect_order(it, 4, no_aging);
}
END_TEST

/* The blocked head keeps its place against a newcomer with fewer GPU-hours. */
START_TEST(reserved_head_stays_first)
{
	struct queue_item it[] = {item(1, 2, 9, 60), item(2, 1, 0, 1)};

	it[0].reserved = 1;
	queue_plan_order(it, 2, NOW, 86400);
	ck_assert_int_eq(it[0].seq, 1);
}
END_TEST

START_TEST(dispatch_in_order_while_gpus_last)
{
	struct queue_item it[] = {item(1, 1, 0, 9), item(2, 2, 0, 8), item(3, 1, 0, 7)};

	ck_assert_int_eq(queue_plan_dispatch(it, 3, 3, NULL, 0, NOW), 2);
	ck_assert_int_eq(it[0].go, 1);
	ck_assert_int_eq(it[1].go, 1);
	ck_assert_int_eq(it[2].go, 0);
	ck_assert_int_eq(it[2].head, 0); /* no GPU left to keep for it */
}
END_TEST

/* No end known: the free GPU is kept for the 2-GPU head, whatever 1-GPU starts follow. */
START_TEST(two_gpu_head_not_starved)
{
	struct queue_item it[] = {item(1, 2, 0, 9), item(2, 1, 0, 8), item(3, 1, 0, 7)};

	ck_assert_int_eq(queue_plan_dispatch(it, 3, 1, NULL, 0, NOW), 0);
	ck_assert_int_eq(it[0].head, 1);
	ck_assert_int_eq(it[1].go + it[2].go, 0);
	/* The second GPU frees: the head takes both. */
	ck_assert_int_eq(queue_plan_dispatch(it, 3, 2, NULL, 0, NOW), 1);
	ck_assert_int_eq(it[0].go, 1);
}
END_TEST

/* Backfill: a start whose lifetime ends before the head's shadow, or on spare GPUs. */
START_TEST(backfill_only_when_the_head_is_not_delayed)
{
	struct queue_release rel[] = {{NOW + 10 * H, 1}, {NOW + 2 * H, 1}};
	struct queue_item it[] = {item(1, 2, 0, 9), item(2, 1, 0, 8), item(3, 1, 0, 7)};

	/* 1 free + the holder ending in 2 h: the head can start in 2 h. */
	it[1].lifetime = 3 * H; /* would outlast the shadow */
	it[2].lifetime = 1 * H; /* done before it */
	ck_assert_int_eq(queue_plan_dispatch(it, 3, 1, rel, 2, NOW), 1);
	ck_assert_int_eq(it[1].go, 0);
	ck_assert_int_eq(it[2].go, 1);
	/* 2 free, head needs 3 and one more frees in 2 h: one GPU is spare then. */
	{
		struct queue_item j[] = {item(1, 3, 0, 9), item(2, 1, 0, 8), item(3, 1, 0, 7)};
		struct queue_release r2[] = {{NOW + 2 * H, 2}};

		ck_assert_int_eq(queue_plan_dispatch(j, 3, 2, r2, 1, NOW), 1);
		ck_assert_int_eq(j[1].go, 1); /* on the spare GPU, no lifetime needed */
		ck_assert_int_eq(j[2].go, 0); /* the rest is the head's */
	}
}
END_TEST

/* A start its owner's quota holds back is skipped: it blocks nobody. */
START_TEST(ineligible_is_skipped)
{
	struct queue_item it[] = {item(1, 1, 0, 9), item(2, 1, 0, 8)};

	it[0].eligible = 0;
	ck_assert_int_eq(queue_plan_dispatch(it, 2, 1, NULL, 0, NOW), 1);
	ck_assert_int_eq(it[0].go, 0);
	ck_assert_int_eq(it[1].go, 1);
}
END_TEST

START_TEST(estimates_from_holders_ends)
{
	struct queue_release rel[] = {{NOW + 3 * H, 1}, {NOW + 1 * H, 1}};
	struct queue_item it[] = {item(1, 1, 0, 9), item(2, 2, 0, 8), item(3, 1, 0, 7),
	                          item(4, 1, 0, 6)};

	it[0].lifetime = 4 * H;
	queue_plan_estimate(it, 4, 0, rel, 2, NOW);
	ck_assert(it[0].estimate == NOW + 1 * H);
	ck_assert(it[1].estimate == NOW + 5 * H); /* the 3 h holder and the first's end */
	/* Nothing more ends (no lifetimes): unknown, and so is everyone after. */
	ck_assert(it[2].estimate < 0);
	ck_assert(it[3].estimate < 0);
	/* Nothing known at all: unknown, said so. */
	queue_plan_estimate(it, 1, 0, NULL, 0, NOW);
	ck_assert(it[0].estimate < 0);
	/* Free now: now. */
	queue_plan_estimate(it, 1, 1, NULL, 0, NOW);
	ck_assert(it[0].estimate == NOW);
}
END_TEST

Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, fewest_gpu_hours_first_then_fifo);
	tcase_add_test(tc, aging_bounds_the_wait);
	tcase_add_test(tc, reserved_head_stays_first);
	tcase_add_test(tc, dispatch_in_order_while_gpus_last);
	tcase_add_test(tc, two_gpu_head_not_starved);
	tcase_add_test(tc, backfill_only_when_the_head_is_not_delayed);
	tcase_add_test(tc, ineligible_is_skipped);
	tcase_add_test(tc, estimates_from_holders_ends);
	suite_add_tcase(s, tc);
	return s;
}
