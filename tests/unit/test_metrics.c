/* metrics.c's pure parts: bucketing, the series cap, and the text format. */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

static const double bounds[] = {0.1, 1, 10};

START_TEST(bucketing)
{
	/* "le": a value on a bound is in that bound's bucket. */
	ck_assert_uint_eq(metric_bucket(bounds, 3, 0), 0);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 0.1), 0);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 0.10001), 1);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 1), 1);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 9.99), 2);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 10), 2);
	ck_assert_uint_eq(metric_bucket(bounds, 3, 11), 3);
	ck_assert_uint_eq(metric_bucket(bounds, 3, -1), 0);
	ck_assert_uint_eq(metric_bucket(bounds, 0, 5), 0);
}
END_TEST

START_TEST(histogram_text)
{
	struct metric_reg *r = metric_reg_new();
	struct metric *h = metric_new(r, METRIC_HISTOGRAM, "t_seconds", "A histogram.",
	                              (const char *const[]){"op", NULL}, bounds, 3, 8);
	size_t len;
	char *text;

	metric_observe(metric_at(h, "a"), 0.05);
	metric_observe(metric_at(h, "a"), 1);
	metric_observe(metric_at(h, "a"), 100);
	text = metric_render(r, &len);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(text, "# HELP t_seconds A histogram.\n"
	                       "# TYPE t_seconds histogram\n"
	                       "t_seconds_bucket{op=\"a\",le=\"0.1\"} 1\n"
	                       "t_seconds_bucket{op=\"a\",le=\"1\"} 2\n"
	                       "t_seconds_bucket{op=\"a\",le=\"10\"} 2\n"
	                       "t_seconds_bucket{op=\"a\",le=\"+Inf\"} 3\n"
	                       "t_seconds_sum{op=\"a\"} 101.05\n"
	                       "t_seconds_count{op=\"a\"} 3\n");
	free(text);
	metric_reg_free(r);
}
END_TEST

START_TEST(escaping)
{
	struct metric_reg *r = metric_reg_new();
	struct metric *c = metric_new(r, METRIC_COUNTER, "t_total", "Help with \\ and\nnewline.",
	                              (const char *const[]){"user", "why", NULL}, NULL, 0, 8);
	struct metric *g = metric_new(r, METRIC_GAUGE, "t_gauge", "No labels.", NULL, NULL, 0, 1);
	size_t len;
	char *text;

	metric_inc(metric_at(c, "a\"b", "x\\y\nz"), 2);
	metric_inc(metric_at(c, "a\"b", "x\\y\nz"), 0.5);
	metric_inc(metric_at(c, "a\"b", "x\\y\nz"), -3); /* a counter never goes down */
	metric_set(metric_at(g), 1e21);
	text = metric_render(r, &len);
	ck_assert_str_eq(text, "# HELP t_total Help with \\\\ and\\nnewline.\n"
	                       "# TYPE t_total counter\n"
	                       "t_total{user=\"a\\\"b\",why=\"x\\\\y\\nz\"} 2.5\n"
	                       "# HELP t_gauge No labels.\n"
	                       "# TYPE t_gauge gauge\n"
	                       "t_gauge 1e+21\n");
	free(text);
	metric_reg_free(r);
}
END_TEST

START_TEST(series_cap)
{
	struct metric_reg *r = metric_reg_new();
	struct metric *c = metric_new(r, METRIC_COUNTER, "u_total", "Per user.",
	                              (const char *const[]){"user", NULL}, NULL, 0, 2);
	size_t len;
	char *text;

	metric_inc(metric_at(c, "alice"), 1);
	metric_inc(metric_at(c, "bob"), 1);
	metric_inc(metric_at(c, "carol"), 1);
	metric_inc(metric_at(c, "dave"), 2);
	metric_inc(metric_at(c, "alice"), 1);
	ck_assert_ptr_eq(metric_at(c, "carol"), metric_at(c, "erin"));
	text = metric_render(r, &len);
	ck_assert_str_eq(text, "# HELP u_total Per user.\n"
	                       "# TYPE u_total counter\n"
	                       "u_total{user=\"alice\"} 2\n"
	                       "u_total{user=\"bob\"} 1\n"
	                       "u_total{user=\"_other\"} 3\n");
	free(text);
	metric_clear(c);
	text = metric_render(r, &len);
	ck_assert_str_eq(text, "# HELP u_total Per user.\n# TYPE u_total counter\n");
	free(text);
	metric_reg_free(r);
}
END_TEST

/* wsd's own families render, and every one has HELP and TYPE. */
START_TEST(wsd_families)
{
	size_t len;
	char *text;

	metrics_init();
	metric_observe(metric_at(m_start_duration, "offline", "ready"), 2.5);
	text = metric_render(metrics, &len);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE wslab_workspaces gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "wslab_quota_refusals_total{limit=\"gpus\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "wslab_workspace_start_duration_seconds_count{"
	                                   "template=\"offline\",outcome=\"ready\"} 1\n"));
	free(text);
	metrics_free();
	/* Without metrics_init every hook is a no-op. */
	metric_inc(metric_at(m_quota_refusals, "gpus"), 1);
	metric_observe(metric_at(m_loop_lag), 1);
	metric_clear(m_gpu_util);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, bucketing);
	tcase_add_test(tc, histogram_text);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, series_cap);
	tcase_add_test(tc, wsd_families);
	suite_add_tcase(s, tc);
	return s;
}
