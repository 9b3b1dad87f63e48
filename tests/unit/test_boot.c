/*
 * Boot pacing (boot.c): tickets boot in the order the starts arrived,
 * whatever order their preparations ended in.
 */
#include <stddef.h>

#include <uv.h>

#include "boot.h"
#include "unit.h"

static char order[16];
static size_t norder;

static void
tick(uv_timer_t *h)
{
	(void)h;
}

static void
went(struct boot_ticket *t)
{
	order[norder++] = (char)('0' + t->seq);
}

START_TEST(boot_in_order_of_arrival)
{
	struct boot_ticket t[5] = {0};
	uv_timer_t turn; /* keeps the loop turning once: boot.c's timer is unref'd */

	norder = 0;
	uv_timer_init(uv_default_loop(), &turn);
	boot_init(uv_default_loop(), 1, 1, 1, 1, NULL);
	for (int i = 0; i < 5; i++) {
		t[i].go = went;
		t[i].seq = (uint64_t)i + 1;
	}
	/* 1 boots at once; 4, 2, 5 and 3 end their preparations in that order. */
	boot_request(&t[0]);
	boot_request(&t[3]);
	boot_request(&t[1]);
	boot_request(&t[4]);
	boot_request(&t[2]);
	ck_assert_uint_eq(norder, 1);
	for (int i = 0; i < 5; i++) {
		int ahead = -1;
		double eta;

		if (i > 0) {
			boot_position(&t[i], &ahead, &eta);
			ck_assert_int_eq(ahead, i - 1);
		}
	}
	/* Each one ends its boot; the next is admitted on the next loop turn. */
	for (int k = 0; k < 5; k++) {
		for (int i = 0; i < 5; i++) {
			if (t[i].state == 2) {
				boot_done(&t[i], 1);
				break;
			}
		}
		uv_timer_start(&turn, tick, 0, 0);
		uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	}
	order[norder] = '\0';
	ck_assert_str_eq(order, "12345");
	boot_shutdown();
	uv_close((uv_handle_t *)&turn, NULL);
	uv_run(uv_default_loop(), UV_RUN_NOWAIT);
}
END_TEST

Suite *
boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, boot_in_order_of_arrival);
	suite_add_tcase(s, tc);
	return s;
}
