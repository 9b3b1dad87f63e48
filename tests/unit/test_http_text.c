/* HTTP's words: reason phrases and percent-decoding of request paths. */
#include <stdlib.h>
#include <string.h>

#include "http_text.h"
#include "unit.h"

START_TEST(reasons)
{
	ck_assert_str_eq(http_reason(200), "OK");
	ck_assert_str_eq(http_reason(429), "Too Many Requests");
	ck_assert_str_eq(http_reason(503), "Service Unavailable");
	ck_assert_str_eq(http_reason(299), "Status");
}
END_TEST

static void
decodes_to(const char *in, const char *want)
{
	char *out = http_decode(in, strlen(in));

	if (want == NULL) {
		ck_assert_msg(out == NULL, "\"%s\" decoded to \"%s\", want a refusal", in, out);
		return;
	}
	ck_assert_msg(out != NULL, "\"%s\" refused, want \"%s\"", in, want);
	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(decoding)
{
	decodes_to("/v1/workspaces/ws1", "/v1/workspaces/ws1");
	decodes_to("/a%20b", "/a b");
	decodes_to("/%2e%2E", "/..");
	decodes_to("/%41%62", "/Ab");
	decodes_to("", "");
	decodes_to("/%00", NULL); /* no NUL inside a path */
	decodes_to("/%", NULL);
	decodes_to("/%4", NULL);
	decodes_to("/%zz", NULL);
	decodes_to("/%4g", NULL);
}
END_TEST

/* Only the bytes given are read: a buffer that is not a C string. */
START_TEST(decoding_respects_the_length)
{
	char *out = http_decode("/ab%41tail", 6);

	ck_assert_str_eq(out, "/abA");
	free(out);
}
END_TEST

Suite *
http_text_suite(void)
{
	Suite *s = suite_create("http_text");
	TCase *tc = tcase_create("words");

	tcase_add_test(tc, reasons);
	tcase_add_test(tc, decoding);
	tcase_add_test(tc, decoding_respects_the_length);
	suite_add_tcase(s, tc);
	return s;
}
