/* The web page's pure parts: escaping, cookies, forms, secrets, the chart, days of usage. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "html.h"
#include "usage.h"
#include "web_text.h"
#include "unit.h"

START_TEST(escaping)
{
	struct html h = {0};
	size_t len;
	char *s;

	html_esc(&h, "<script>alert('x')</script> & \"q\"");
	html_lit(&h, "|");
	html_esc(&h, "");
	html_esc(&h, "plain");
	s = html_take(&h, &len);
	ck_assert_str_eq(
	    s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;|plain");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	/* Nothing left in h; taking again gives an empty text. */
	s = html_take(&h, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	html_free(&h);
}
END_TEST

START_TEST(cookies)
{
	char v[65];

	ck_assert_int_eq(web_cookie_get("wslab_session=abc", "wslab_session", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "abc");
	ck_assert_int_eq(
	    web_cookie_get("a=1; wslab_session=def; b=2", "wslab_session", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "def");
	ck_assert_int_eq(web_cookie_get("a=1;wslab_session=\"q\"", "wslab_session", v, sizeof(v)),
	                 1);
	ck_assert_str_eq(v, "q");
	/* A longer name that starts with ours is another cookie. */
	ck_assert_int_eq(
	    web_cookie_get("wslab_sessionx=1; xwslab_session=2", "wslab_session", v, sizeof(v)), 0);
	ck_assert_int_eq(web_cookie_get("", "wslab_session", v, sizeof(v)), 0);
	ck_assert_int_eq(web_cookie_get("wslab_session", "wslab_session", v, sizeof(v)), 0);
	/* Too long for the buffer: refused, not cut. */
	ck_assert_int_eq(web_cookie_get("wslab_session=0123456789", "wslab_session", v, 5), -1);
	/* The first of two wins. */
	ck_assert_int_eq(
	    web_cookie_get("wslab_session=a; wslab_session=b", "wslab_session", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "a");
}
END_TEST

START_TEST(forms)
{
	char v[16];

	ck_assert_int_eq(web_form_get("csrf=ab&id=x%2Fy+z", "id", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "x/y z");
	ck_assert_int_eq(web_form_get("csrf=ab&id=1", "csrf", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "ab");
	ck_assert_int_eq(web_form_get("csrfx=ab", "csrf", v, sizeof(v)), 0);
	ck_assert_int_eq(web_form_get("csrf", "csrf", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(web_form_get("a=%zz", "a", v, sizeof(v)), -1);
	ck_assert_int_eq(web_form_get("a=%4", "a", v, sizeof(v)), -1);
	ck_assert_int_eq(web_form_get("a=%", "a", v, sizeof(v)), -1);
	ck_assert_int_eq(web_form_get("a=%00", "a", v, sizeof(v)), -1);
	ck_assert_int_eq(web_form_get("a=0123456789abcdefg", "a", v, sizeof(v)), -1);
	ck_assert_int_eq(web_form_get("", "a", v, sizeof(v)), 0);
}
END_TEST

START_TEST(secrets)
{
	ck_assert_int_eq(web_secret_equal("abcd", "abcd"), 1);
	ck_assert_int_eq(web_secret_equal("abcd", "abce"), 0);
	ck_assert_int_eq(web_secret_equal("abc", "abcd"), 0);
	ck_assert_int_eq(web_secret_equal("abcd", "abc"), 0);
	ck_assert_int_eq(web_secret_equal("", ""), 0); /* an empty secret is no secret */
	ck_assert_int_eq(web_secret_equal("", "a"), 0);
	{
		unsigned char b[3] = {0x00, 0x7f, 0xff};
		char hex[7];

		web_hex(b, 3, hex);
		ck_assert_str_eq(hex, "007fff");
	}
}
END_TEST

START_TEST(chart)
{
	struct html h = {0};
	const char *labels[] = {"a<b", "11-02", "11-03"};
	double values[] = {1.5, 0, 3};
	size_t len;
	char *s;
	int bars = 0;

	html_bar_chart(&h, "GPU-hours <per> day", labels, values, 3, "GPU-hours", 1);
	s = html_take(&h, &len);
	ck_assert_ptr_nonnull(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	ck_assert_ptr_nonnull(strstr(s, "</svg>"));
	ck_assert_ptr_null(strstr(s, "<per>"));
	ck_assert_ptr_nonnull(strstr(s, "GPU-hours &lt;per&gt; day"));
	ck_assert_ptr_null(strstr(s, "a<b"));
	ck_assert_ptr_nonnull(strstr(s, "a&lt;b: 1.50 GPU-hours"));
	for (const char *p = s; (p = strstr(p, "class=\"bar\"")) != NULL; p++)
		bars++;
	ck_assert_int_eq(bars, 3);
	/* The axis' top is a round number above the largest value (3 -> 5). */
	ck_assert_ptr_nonnull(strstr(s, "text-anchor=\"end\">5</text>"));
	/* The tallest bar (3 of 5) is 0.6 of the 160-pixel plot. */
	ck_assert_ptr_nonnull(strstr(s, "height=\"96.0\""));
	ck_assert_ptr_null(strstr(s, "style=")); /* CSP: no inline styles */
	ck_assert_ptr_null(strstr(s, "script")); /* nor scripts */
	free(s);
	/* No bars at all still draws axes. */
	html_bar_chart(&h, "empty", NULL, NULL, 0, "h", 0);
	s = html_take(&h, &len);
	ck_assert_ptr_nonnull(strstr(s, "</svg>"));
	ck_assert_ptr_null(strstr(s, "class=\"bar\""));
	free(s);
}
END_TEST

START_TEST(days)
{
	json_t *rows = json_pack("[{s:i, s:f, s:f}, {s:i, s:f, s:f}, {s:i, s:f, s:f}]", "gpus", 2,
	                         "started_at", 86400.0 - 3600, "stopped_at", 86400.0 + 7200, "gpus",
	                         1, "started_at", 0.0, "stopped_at", 100.0 * 86400, "gpus", 0,
	                         "started_at", 0.0, "stopped_at", 86400.0);
	double h[3];

	/* Days 1, 2, 3 (from 86400): the first record spreads over day 0 and day 1. */
	usage_days(rows, 86400.0, 3, h);
	ck_assert_double_eq_tol(h[0], 2 * 2 + 24, 1e-9);
	ck_assert_double_eq_tol(h[1], 24, 1e-9);
	ck_assert_double_eq_tol(h[2], 24, 1e-9);
	json_decref(rows);
}
END_TEST

START_TEST(listen_loopback)
{
	ck_assert_int_eq(config_loopback("127.0.0.1"), 1);
	ck_assert_int_eq(config_loopback("127.1.2.3"), 1);
	ck_assert_int_eq(config_loopback("::1"), 1);
	ck_assert_int_eq(config_loopback("0.0.0.0"), 0);
	ck_assert_int_eq(config_loopback("10.0.0.1"), 0);
	ck_assert_int_eq(config_loopback("::"), 0);
}
END_TEST

static void
web_config(const char *text, const char *want_err)
{
	struct config cfg;
	char err[512];
	int r;

	config_defaults(&cfg);
	r = config_parse_buffer(&cfg, "f", text, err, sizeof(err));
	if (want_err == NULL)
		ck_assert_msg(r == 0, "%s: %s", text, err);
	else
		ck_assert_msg(r == -1 && strstr(err, want_err) != NULL, "%s: got \"%s\"", text,
		              r == -1 ? err : "accepted");
	config_free(&cfg);
}

START_TEST(web_config_keys)
{
	web_config("web_listen = 127.0.0.1:8080\n", NULL);
	web_config("web_listen = [::1]:8080\nweb_link_ttl = 5s\n", NULL);
	/* Plain HTTP off loopback is refused when the configuration is read. */
	web_config("web_listen = 0.0.0.0:8080\n", "not a loopback address");
	web_config("web_listen = 10.1.2.3:8080\n", "not a loopback address");
	web_config("web_listen = nowhere:8080\n", "line 1: web_listen: ");
	web_config("web_tls_cert = /etc/c.pem\n", "go together");
	/* With TLS any address will do (the files are read when wsd starts). */
	web_config("web_listen = 0.0.0.0:8443\nweb_tls_cert = /c.pem\nweb_tls_key = /k.pem\n",
	           NULL);
	web_config("web_url = ftp://x\n", "web_url");
	web_config("web_link_ttl = 0\n", "web_link_ttl");
}
END_TEST

Suite *
web_suite(void)
{
	Suite *s = suite_create("web");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, escaping);
	tcase_add_test(tc, cookies);
	tcase_add_test(tc, forms);
	tcase_add_test(tc, secrets);
	tcase_add_test(tc, chart);
	tcase_add_test(tc, days);
	tcase_add_test(tc, listen_loopback);
	tcase_add_test(tc, web_config_keys);
	suite_add_tcase(s, tc);
	return s;
}
