/* Notices' pure parts: words, JSON, sanitising, utmp lines, terminals, argv; extend's body. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "notice_text.h"
#include "size.h"
#include "unit.h"
#include "valid.h"

static const struct notice_event ev = {NOTICE_LIFETIME_WARNING, "alice",    1234,       "ws1",
                                       "ws-0123abcd",           1796119200, 1796121000, NULL};

START_TEST(kinds)
{
	ck_assert_str_eq(notice_kind_name(NOTICE_IDLE_WARNING), "idle_warning");
	ck_assert_str_eq(notice_kind_name(NOTICE_EXPIRED), "expired");
	ck_assert_int_eq(notice_kind_from("reclaimed"), NOTICE_RECLAIMED);
	ck_assert_int_eq(notice_kind_from("dispatched"), NOTICE_DISPATCHED);
	ck_assert_int_eq(notice_kind_from("nope"), NOTICE_N);
	ck_assert_int_eq(notice_kind_from(NULL), NOTICE_N);
}
END_TEST

START_TEST(messages)
{
	struct notice_event e = ev;
	char m[768], c[128];

	setenv("TZ", "UTC", 1);
	notice_message(&e, m, sizeof(m));
	ck_assert_ptr_nonnull(
	    strstr(m, "ws1 reaches the end of its lifetime at 2026-12-01 10:30:00"));
	notice_command(&e, c, sizeof(c));
	ck_assert_str_eq(c, "wsctl extend ws1 --by 1h");
	e.kind = NOTICE_IDLE_WARNING;
	e.why = "idle since 2026-12-01T09:00:00Z";
	notice_message(&e, m, sizeof(m));
	ck_assert_ptr_nonnull(strstr(m, "is idle (idle since 2026-12-01T09:00:00Z)"));
	ck_assert_ptr_nonnull(strstr(m, "unless it is used"));
	e.kind = NOTICE_DISPATCHED;
	notice_command(&e, c, sizeof(c));
	ck_assert_str_eq(c, "wsctl wait ws1");
	e.kind = NOTICE_EXPIRED;
	notice_command(&e, c, sizeof(c));
	ck_assert_str_eq(c, "wsctl start --name ws1");
	/* A control sequence smuggled into any field is defused. */
	e.workspace = "a\033[2Jb\n";
	e.why = "x\ry\xc3\xa9";
	e.kind = NOTICE_RECLAIMED;
	notice_message(&e, m, sizeof(m));
	ck_assert_ptr_null(strchr(m, '\033'));
	ck_assert_ptr_null(strchr(m, '\n'));
	ck_assert_ptr_null(strchr(m, '\r'));
	ck_assert_ptr_nonnull(strstr(m, "a?[2Jb?"));
	ck_assert_ptr_nonnull(strstr(m, "x?y??"));
}
END_TEST

START_TEST(event_json)
{
	struct notice_event e = ev;
	json_t *j = notice_json(&e);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "lifetime_warning");
	ck_assert_str_eq(json_string_value(json_object_get(j, "user")), "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uid")), 1234);
	ck_assert_str_eq(json_string_value(json_object_get(j, "workspace")), "ws1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "workspace_id")), "ws-0123abcd");
	ck_assert_str_eq(json_string_value(json_object_get(j, "at")), "2026-12-01T10:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "deadline")), "2026-12-01T10:30:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(j, "command")),
	                 "wsctl extend ws1 --by 1h");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "message")));
	json_decref(j);
	e.kind = NOTICE_READY;
	e.deadline = 0;
	j = notice_json(&e);
	ck_assert_ptr_null(json_object_get(j, "deadline"));
	json_decref(j);
}
END_TEST

START_TEST(tty_text)
{
	char t[1200];

	notice_tty_text("hello\033]0;x\007", "wsctl ssh ws1", "lab\001", t, sizeof(t));
	ck_assert_ptr_nonnull(
	    strstr(t, "Message from wslab on lab?:\nhello?]0;x?\n  Try: wsctl ssh ws1\n"));
	ck_assert_int_eq(t[0], '\a'); /* the bell is ours */
	ck_assert_ptr_null(strchr(t + 1, '\033'));
	ck_assert_ptr_null(strchr(t + 1, '\a'));
	notice_tty_text("m", "", "h", t, sizeof(t));
	ck_assert_ptr_null(strstr(t, "Try:"));
}
END_TEST

START_TEST(tty_lines)
{
	char out[33];
	char raw[32] = "pts/3";

	ck_assert_int_eq(notice_tty_line(raw, sizeof(raw), out, sizeof(out)), 1);
	ck_assert_str_eq(out, "pts/3");
	memset(raw, 'a', sizeof(raw)); /* all 32 bytes used: no NUL */
	ck_assert_int_eq(notice_tty_line(raw, sizeof(raw), out, sizeof(out)), 1);
	ck_assert_int_eq(strlen(out), 32);
	ck_assert_int_eq(notice_tty_line("tty2", 32, out, sizeof(out)), 1);
	ck_assert_int_eq(notice_tty_line("../etc/passwd", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("pts/../../x", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("/etc/shadow", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("pts//1", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("pts 1", 32, out, sizeof(out)), 0);
	ck_assert_int_eq(notice_tty_line("pts/1", 32, out, 4), 0);
}
END_TEST

START_TEST(tty_checks)
{
	ck_assert_int_eq(notice_tty_ok(S_IFCHR | 0620, 1000, 1000), 1);
	ck_assert_int_eq(notice_tty_ok(S_IFCHR | 0600, 1000, 1000), 0); /* mesg n */
	ck_assert_int_eq(notice_tty_ok(S_IFCHR | 0620, 1001, 1000), 0); /* someone else's */
	ck_assert_int_eq(notice_tty_ok(S_IFREG | 0620, 1000, 1000), 0); /* not a terminal */
	ck_assert_int_eq(notice_tty_ok(S_IFIFO | 0666, 1000, 1000), 0);
}
END_TEST

START_TEST(command_argv)
{
	char **a = notice_argv("  /usr/local/bin/notify  --to\tlab ");

	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a[0], "/usr/local/bin/notify");
	ck_assert_str_eq(a[1], "--to");
	ck_assert_str_eq(a[2], "lab");
	ck_assert_ptr_null(a[3]);
	notice_argv_free(a);
	ck_assert_ptr_null(notice_argv(""));
	ck_assert_ptr_null(notice_argv("  \t "));
}
END_TEST

static int
extend(const char *body, int64_t *by, struct api_error *err)
{
	return valid_extend_request(body, strlen(body), by, err);
}

START_TEST(extend_body)
{
	struct api_error err;
	int64_t by;
	char d[32];

	ck_assert_int_eq(extend("{\"by\": \"2h\"}", &by, &err), 0);
	ck_assert_int_eq(by, 7200);
	ck_assert_int_eq(extend("{\"by\": \"1d30m\"}", &by, &err), 0);
	ck_assert_int_eq(by, 88200);
	ck_assert_int_eq(extend("{\"by\": 90}", &by, &err), 0);
	ck_assert_int_eq(by, 90);
	ck_assert_int_eq(extend("{\"by\": \"366d\"}", &by, &err), 0);
	/* Negative, zero, garbage, too long, the wrong type, unknown fields, not JSON. */
	ck_assert_int_eq(extend("{\"by\": \"-5m\"}", &by, &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_nonnull(strstr(err.message, "negative"));
	ck_assert_int_eq(extend("{\"by\": -5}", &by, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "positive"));
	ck_assert_int_eq(extend("{\"by\": \"0\"}", &by, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "positive"));
	ck_assert_int_eq(extend("{\"by\": \"soon\"}", &by, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "not a duration"));
	ck_assert_int_eq(extend("{\"by\": \"367d\"}", &by, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "366d"));
	ck_assert_int_eq(extend("{\"by\": 1.5}", &by, &err), -1);
	ck_assert_int_eq(extend("{\"by\": true}", &by, &err), -1);
	ck_assert_int_eq(extend("{}", &by, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "missing"));
	ck_assert_int_eq(extend("{\"by\": \"1h\", \"expires_at\": 1}", &by, &err), -1);
	ck_assert_str_eq(err.code, "unknown_field");
	ck_assert_int_eq(extend("{\"by\": \"1h\", \"by\": \"2h\"}", &by, &err), -1);
	ck_assert_int_eq(extend("[1]", &by, &err), -1);
	ck_assert_int_eq(extend("", &by, &err), -1);
	ck_assert_str_eq(err.code, "invalid_json");
	ck_assert_int_eq(by, 0);
	duration_format(88200, d, sizeof(d));
	ck_assert_str_eq(d, "1d30m");
	duration_format(59, d, sizeof(d));
	ck_assert_str_eq(d, "59s");
	duration_format(0, d, sizeof(d));
	ck_assert_str_eq(d, "0s");
}
END_TEST

Suite *
notice_suite(void)
{
	Suite *s = suite_create("notice");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, kinds);
	tcase_add_test(tc, messages);
	tcase_add_test(tc, event_json);
	tcase_add_test(tc, tty_text);
	tcase_add_test(tc, tty_lines);
	tcase_add_test(tc, tty_checks);
	tcase_add_test(tc, command_argv);
	tcase_add_test(tc, extend_body);
	suite_add_tcase(s, tc);
	return s;
}
