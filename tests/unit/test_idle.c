/* Idle reclaim's pure parts: Jupyter's times, SSH sessions, the deadline. */
#include <string.h>

#include "idle.h"
#include "labels.h"
#include "unit.h"

START_TEST(jupyter_times)
{
	double t;

	ck_assert_int_eq(idle_parse_time("2026-12-01T10:00:00.250000Z", &t), 0);
	ck_assert_double_eq_tol(t, 1796119200.25, 1e-6);
	ck_assert_int_eq(idle_parse_time("2026-12-01T10:00:00+00:00", &t), 0);
	ck_assert_double_eq_tol(t, 1796119200, 1e-6);
	ck_assert_int_eq(idle_parse_time("1970-01-01T00:00:01Z", &t), 0);
	ck_assert_double_eq_tol(t, 1, 1e-9);
	/* Not UTC, not a time, trailing junk, nothing. */
	ck_assert_int_eq(idle_parse_time("2026-12-01T10:00:00+02:00", &t), -1);
	ck_assert_int_eq(idle_parse_time("yesterday", &t), -1);
	ck_assert_int_eq(idle_parse_time("2026-12-01T10:00:00Zjunk", &t), -1);
	ck_assert_int_eq(idle_parse_time("", &t), -1);
	ck_assert_int_eq(idle_parse_time(NULL, &t), -1);
}
END_TEST

START_TEST(ssh_sessions)
{
	const char *none[] = {"/bin/sh /usr/local/bin/wslab-entrypoint",
	                      ("sshd: /usr/sbin/sshd -D -f /etc/wslab/sshd_config [listener] 0 of "
	                       "10-100 startups"),
	                      "sshd: alice [net]",
	                      "sshd: unknown [preauth]",
	                      "python3 -m jupyter",
	                      "bash -c echo sshd: x@y"};
	const char *two[] = {"sshd: alice@pts/0", "-bash", "sshd: alice@notty", "sleep 100"};

	ck_assert_int_eq(idle_ssh_sessions(none, sizeof(none) / sizeof(none[0])), 0);
	ck_assert_int_eq(idle_ssh_sessions(two, sizeof(two) / sizeof(two[0])), 2);
	ck_assert_int_eq(idle_ssh_sessions(NULL, 0), 0);
}
END_TEST

START_TEST(deadlines)
{
	/* Never: no timeout, or not ready (no clock yet). */
	ck_assert(idle_reclaim_at(1000, -1, 60, 1) == 0);
	ck_assert(idle_reclaim_at(0, 3600, -1, 0) == 0);
	ck_assert(idle_reclaim_at(1000, 3600, -1, 0) == 4600);
	/* Under contention the shorter one applies; a longer one never lengthens it. */
	ck_assert(idle_reclaim_at(1000, 3600, 600, 1) == 1600);
	ck_assert(idle_reclaim_at(1000, 3600, 600, 0) == 4600);
	ck_assert(idle_reclaim_at(1000, 600, 3600, 1) == 1600);
	ck_assert(idle_reclaim_at(1000, 3600, -1, 1) == 4600);
}
END_TEST

/* The idle timeout travels with the container: absent is never, 0 is a value. */
START_TEST(idle_label)
{
	struct ws_labels_in in = {.id = "0123456789ab", .name = "w", .owner = "alice", .tmpl = "t"};
	struct ws_labels out;
	json_t *l;

	in.gpu_hours = -1;
	in.idle_timeout = -1;
	l = labels_build(&in);
	labels_read(l, &out);
	ck_assert_int_eq(out.idle_timeout, -1);
	json_decref(l);
	in.idle_timeout = 7200;
	l = labels_build(&in);
	labels_read(l, &out);
	ck_assert_int_eq(out.idle_timeout, 7200);
	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.idle_timeout")), "7200");
	json_decref(l);
}
END_TEST

Suite *
idle_suite(void)
{
	Suite *s = suite_create("idle");
	TCase *tc = tcase_create("idle");

	tcase_add_test(tc, jupyter_times);
	tcase_add_test(tc, ssh_sessions);
	tcase_add_test(tc, deadlines);
	tcase_add_test(tc, idle_label);
	suite_add_tcase(s, tc);
	return s;
}
