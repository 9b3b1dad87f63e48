/* The allocators: what they hand out, and that running out ends the process. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xmalloc.h"

START_TEST(allocations)
{
	char *s = xstrdup("abc"), *t = xstrndup("abcdef", 3), *u = xstrndup("ab", 8);
	unsigned char *z = xcalloc(4, 4);
	void *e = xmalloc(0);

	ck_assert_str_eq(s, "abc");
	ck_assert_str_eq(t, "abc");
	ck_assert_str_eq(u, "ab");
	for (size_t i = 0; i < 16; i++)
		ck_assert_int_eq(z[i], 0);
	s = xrealloc(s, 4096);
	ck_assert_str_eq(s, "abc");
	ck_assert_ptr_nonnull(e);
	free(s);
	free(t);
	free(u);
	free(z);
	free(e);
}
END_TEST

/* AddressSanitizer reports a huge size itself and exits, so this runs without it. */
#if defined(__SANITIZE_ADDRESS__)
#define WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_ASAN 1
#endif
#endif

#ifndef WITH_ASAN
START_TEST(out_of_memory_aborts)
{
	volatile size_t huge = SIZE_MAX / 2;

	free(xmalloc(huge));
}
END_TEST
#endif

Suite *
xmalloc_suite(void)
{
	Suite *s = suite_create("xmalloc");
	TCase *tc = tcase_create("xmalloc");

	tcase_add_test(tc, allocations);
#ifndef WITH_ASAN
	tcase_add_test_raise_signal(tc, out_of_memory_aborts, SIGABRT);
#endif
	suite_add_tcase(s, tc);
	return s;
}
