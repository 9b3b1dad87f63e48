/* JSON written as text: always valid JSON, strings round-trip, bad UTF-8 replaced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jtext.h"
#include "unit.h"

/* s as a JSON string through jtext, parsed back by jansson (NULL: invalid JSON). */
static char *
round_trip(const char *s)
{
	struct jtext b = {0};
	json_t *v;
	char *out;

	jt_str(&b, s);
	v = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
	free(b.p);
	if (v == NULL)
		return NULL;
	out = strdup(json_string_value(v));
	json_decref(v);
	return out;
}

START_TEST(escapes)
{
	static const char *const cases[] = {
	    "plain",
	    "",
	    "quote \" and backslash \\",
	    "ctl \x01\x1f tab\t nl\n cr\r",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "/a/b c/'d'",
	    "\x7f del",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *back = round_trip(cases[i]);

		ck_assert_msg(back != NULL, "case %zu is not valid JSON", i);
		ck_assert_str_eq(back, cases[i]);
		free(back);
	}
}
END_TEST

START_TEST(bad_utf8_replaced)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"a\xff"
	     "b",
	     "a\xef\xbf\xbd"
	     "b"},                                                    /* never UTF-8 */
	    {"\xc3", "\xef\xbf\xbd"},                                 /* cut short at the end */
	    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
	    {"\xf4\x90\x80\x80x",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* > U+10FFFF */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *back = round_trip(cases[i].in);

		ck_assert_msg(back != NULL, "case %zu is not valid JSON", i);
		ck_assert_str_eq(back, cases[i].want);
		free(back);
	}
}
END_TEST

/* Any bytes at all: the output parses, and valid UTF-8 comes back unchanged. */
START_TEST(random_bytes_always_valid)
{
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		char s[24];
		size_t n = (size_t)(rand_r(&seed) % (sizeof(s) - 1));
		char *back;

		for (size_t i = 0; i < n; i++)
			s[i] = (char)(1 + rand_r(&seed) % 255);
		s[n] = '\0';
		back = round_trip(s);
		ck_assert_msg(back != NULL, "round %d: not valid JSON", round);
		{
			json_t *direct = json_string(s); /* NULL when s is not UTF-8 */

			if (direct != NULL)
				ck_assert_str_eq(back, s);
			json_decref(direct);
		}
		free(back);
	}
}
END_TEST

START_TEST(numbers_and_keys)
{
	struct jtext b = {0};
	json_t *v;

	jt_lit(&b, "{");
	jt_key(&b, "i", 1);
	jt_int(&b, INT64_MIN);
	jt_key(&b, "r", 0);
	jt_real(&b, 2.0);
	jt_key(&b, "h", 0);
	jt_real(&b, 1.5);
	jt_key(&b, "k\"", 0);
	jt_lit(&b, "null}");
	v = json_loadb(b.p, b.len, 0, NULL);
	ck_assert_ptr_nonnull(v);
	ck_assert(json_integer_value(json_object_get(v, "i")) == INT64_MIN);
	ck_assert(json_is_real(json_object_get(v, "r")));
	ck_assert(json_real_value(json_object_get(v, "r")) == 2.0);
	ck_assert(json_real_value(json_object_get(v, "h")) == 1.5);
	ck_assert(json_is_null(json_object_get(v, "k\"")));
	json_decref(v);
	free(b.p);
}
END_TEST

/* Times as gmtime_r and strftime write them, for every kind of date. */
START_TEST(times_match_strftime)
{
	unsigned seed = 7;
	int64_t fixed[] = {0,
	                   59,
	                   86399,
	                   86400,
	                   951782400 /* 2000-02-29 */,
	                   4102444799,
	                   1700000000,
	                   1709164800 /* 2024-02-29 */,
	                   253402300799 /* 9999-12-31 */};

	for (int i = 0; i < 20000; i++) {
		int64_t t = i < (int)(sizeof(fixed) / sizeof(fixed[0]))
		                ? fixed[i]
		                : (int64_t)rand_r(&seed) * 4 % INT64_C(4102444800);
		struct jtext b = {0};
		struct tm tm;
		time_t tt = (time_t)t;
		char want[40];

		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
		jt_time(&b, t);
		ck_assert_msg(strcmp(b.p, want) == 0, "t=%lld: %s, want %s", (long long)t, b.p,
		              want);
		free(b.p);
	}
}
END_TEST

START_TEST(ints_match_printf)
{
	int64_t v[] = {0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct jtext b = {0};
		char want[32];

		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		jt_int(&b, v[i]);
		ck_assert_str_eq(b.p, want);
		free(b.p);
	}
}
END_TEST

/* Reals: valid JSON reals that parse back to the very same double. */
START_TEST(reals_round_trip)
{
	unsigned seed = 11;
	double fixed[] = {
	    0,       0.5,  1,  1.5,  2,     0.001,         0.1,       0.3,     12.25,
	    1000000, -0.5, -2, 1e-9, 1e300, 123456789.123, 0.1 + 0.2, 1.0 / 3, 999999999999.999};

	for (int i = 0; i < 20000; i++) {
		size_t nf = sizeof(fixed) / sizeof(fixed[0]);
		double v = (size_t)i < nf ? fixed[i]
		           : i % 2        ? (double)(rand_r(&seed) % 100000) / 1000
		                          : (double)rand_r(&seed) / (rand_r(&seed) + 1.0);
		struct jtext b = {0};
		json_t *j;

		jt_real(&b, v);
		j = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
		ck_assert_msg(j != NULL && json_is_real(j), "%.17g gave %s", v, b.p);
		ck_assert_msg(json_real_value(j) == v, "%.17g gave %s", v, b.p);
		json_decref(j);
		free(b.p);
	}
}
END_TEST

Suite *
jtext_suite(void)
{
	Suite *s = suite_create("jtext");
	TCase *tc = tcase_create("jtext");

	tcase_add_test(tc, escapes);
	tcase_add_test(tc, bad_utf8_replaced);
	tcase_add_test(tc, random_bytes_always_valid);
	tcase_add_test(tc, numbers_and_keys);
	tcase_add_test(tc, times_match_strftime);
	tcase_add_test(tc, ints_match_printf);
	tcase_add_test(tc, reals_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
