#include <stdint.h>

#include "size.h"
#include "unit.h"

START_TEST(size_good)
{
	static const struct {
		const char *in;
		int64_t out;
	} cases[] = {
	    {"0", 0},
	    {"1", 1},
	    {"512m", INT64_C(512) << 20},
	    {"8g", INT64_C(8) << 30},
	    {"8G", INT64_C(8) << 30},
	    {"8gb", INT64_C(8) << 30},
	    {"8GiB", INT64_C(8) << 30},
	    {"1t", INT64_C(1) << 40},
	    {"64k", INT64_C(64) << 10},
	    {"100b", 100},
	    {"4194304t", INT64_C(4194304) << 40},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -1;

		ck_assert_msg(size_parse(cases[i].in, &v) == 0, "%s refused", cases[i].in);
		ck_assert_int_eq(v, cases[i].out);
	}
}
END_TEST

START_TEST(size_bad)
{
	static const char *const bad[] = {
	    "",    "-1g",  "abc", "99999999t", "1.5g", " 1g",
	    "1g ", "1 g",  "g",   "1x",        "1gg",  "1gibx",
	    "+1",  "0x10", "1e9", "4194305t",  "1kb2", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;

		ck_assert_msg(size_parse(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_int_eq(v, 42);
	}
	ck_assert_int_eq(size_parse(NULL, NULL), -1);
}
END_TEST

START_TEST(size_format_roundtrip)
{
	char buf[32];
	int64_t v;

	size_format(INT64_C(8) << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "8g");
	size_format(INT64_C(1536) << 20, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1536m");
	size_format(1000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1000");
	size_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	size_format(INT64_C(3) << 40, buf, sizeof(buf));
	ck_assert_int_eq(size_parse(buf, &v), 0);
	ck_assert_int_eq(v, INT64_C(3) << 40);
}
END_TEST

START_TEST(duration_cases)
{
	int64_t v;

	ck_assert_int_eq(duration_parse("90s", &v), 0);
	ck_assert_int_eq(v, 90);
	ck_assert_int_eq(duration_parse("72h", &v), 0);
	ck_assert_int_eq(v, 72 * 3600);
	ck_assert_int_eq(duration_parse("1h30m", &v), 0);
	ck_assert_int_eq(v, 5400);
	ck_assert_int_eq(duration_parse("2w", &v), 0);
	ck_assert_int_eq(v, 14 * 86400);
	ck_assert_int_eq(duration_parse("15", &v), 0);
	ck_assert_int_eq(v, 15);
	ck_assert_int_eq(duration_parse("", &v), -1);
	ck_assert_int_eq(duration_parse("-5s", &v), -1);
	ck_assert_int_eq(duration_parse("5x", &v), -1);
	ck_assert_int_eq(duration_parse("h", &v), -1);
	ck_assert_int_eq(duration_parse("99999999999999999999s", &v), -1);
	ck_assert_int_eq(duration_parse("9999999999999999w", &v), -1);
}
END_TEST

Suite *
size_suite(void)
{
	Suite *s = suite_create("size");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, size_good);
	tcase_add_test(tc, size_bad);
	tcase_add_test(tc, size_format_roundtrip);
	tcase_add_test(tc, duration_cases);
	suite_add_tcase(s, tc);
	return s;
}
