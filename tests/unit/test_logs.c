/*
 * wsctl logs: the engine's log frames demultiplexed however they are cut,
 * lines with the Jupyter token filtered out however it is split, and the
 * query of a logs request checked strictly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "loglines.h"
#include "unit.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct sink {
	char buf[65536];
	size_t len;
};

static void
collect(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;

	ck_assert(s->len + len < sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
}

/* Lines joined with '|'. */
static void
collect_line(void *arg, const char *line, size_t len)
{
	struct sink *s = arg;

	collect(s, line, len);
	collect(s, "|", 1);
}

static size_t
frame(char *out, int stream, const char *payload)
{
	size_t n = strlen(payload);

	out[0] = (char)stream;
	out[1] = out[2] = out[3] = 0;
	out[4] = (char)(n >> 24);
	out[5] = (char)(n >> 16);
	out[6] = (char)(n >> 8);
	out[7] = (char)n;
	memcpy(out + 8, payload, n);
	return n + 8;
}

START_TEST(demux_split_anywhere)
{
	char in[1024];
	size_t n = 0;
	const char *want = "sshd: listening\nhello from stderr\n\nlast";

	n += frame(in + n, 1, "sshd: listening\n");
	n += frame(in + n, 2, "hello from stderr\n");
	n += frame(in + n, 1, "");
	n += frame(in + n, 1, "\nlast");
	/* Every cut into two pieces, and byte by byte. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct docker_demux d = {0};
		struct sink s = {0};

		docker_demux_feed(&d, in, cut, collect, &s);
		docker_demux_feed(&d, in + cut, n - cut, collect, &s);
		ck_assert_str_eq(s.buf, want);
	}
	{
		struct docker_demux d = {0};
		struct sink s = {0};

		for (size_t i = 0; i < n; i++)
			docker_demux_feed(&d, in + i, 1, collect, &s);
		ck_assert_str_eq(s.buf, want);
	}
}
END_TEST

START_TEST(demux_large_frame_and_tty)
{
	static char in[70000 + 8], payload[70001];
	struct docker_demux d = {0};
	struct sink *s = calloc(1, sizeof(*s));
	size_t n;

	memset(payload, 'x', 60000);
	payload[60000] = '\0';
	n = frame(in, 1, payload);
	docker_demux_feed(&d, in, 3, collect, s);
	docker_demux_feed(&d, in + 3, n - 3, collect, s);
	ck_assert_uint_eq(s->len, 60000);
	free(s);

	/* A TTY's output has no frames: it passes through unchanged. */
	{
		struct docker_demux t = {0};
		struct sink u = {0};

		docker_demux_feed(&t, "hello", 5, collect, &u);
		docker_demux_feed(&t, " world\n", 7, collect, &u);
		ck_assert_str_eq(u.buf, "hello world\n");
	}
}
END_TEST

static void
lines_of(const char *const *pieces, size_t n, const char *token, const char *want)
{
	struct loglines ll;
	struct sink s = {0};

	loglines_init(&ll, token);
	for (size_t i = 0; i < n; i++)
		loglines_feed(&ll, pieces[i], strlen(pieces[i]), collect_line, &s);
	loglines_flush(&ll, collect_line, &s);
	ck_assert_str_eq(s.buf, want);
}

START_TEST(token_filtered)
{
	const char *whole[] = {"url: http://h:1/lab?token=" TOKEN "\nnext\n"};
	const char *split[] = {"url: http://h:1/lab?token=0123456789abcdef01234", "56789abcdef01",
	                       "23456789abcdef0123456789abcdef\r\n", "no newline at the end"};
	const char *twice[] = {TOKEN TOKEN "x\n"};
	const char *other[] = {"token=deadbeef\n"};

	lines_of(whole, 1, TOKEN, "url: http://h:1/lab?token=<token>|next|");
	lines_of(split, 4, TOKEN, "url: http://h:1/lab?token=<token>|no newline at the end|");
	lines_of(twice, 1, TOKEN, "<token><token>x|");
	lines_of(other, 1, TOKEN, "token=deadbeef|");
	/* Byte by byte. */
	{
		const char *text = "a " TOKEN " b\n";
		struct loglines ll;
		struct sink s = {0};

		loglines_init(&ll, TOKEN);
		for (size_t i = 0; text[i]; i++)
			loglines_feed(&ll, text + i, 1, collect_line, &s);
		ck_assert_str_eq(s.buf, "a <token> b|");
	}
}
END_TEST

START_TEST(long_lines_cut)
{
	static char big[3 * LOGLINE_MAX];
	struct loglines ll;
	struct sink *s = calloc(1, sizeof(*s));

	/* A line that reaches the cap with the start of a token: none of it shows. */
	memset(big, 'a', LOGLINE_MAX - 10);
	memcpy(big + LOGLINE_MAX - 10, TOKEN, 64);
	memcpy(big + LOGLINE_MAX + 54, "\nshort\n", 8);
	loglines_init(&ll, TOKEN);
	loglines_feed(&ll, big, strlen(big), collect_line, s);
	ck_assert_ptr_null(strstr(s->buf, "0123456789"));
	ck_assert_ptr_nonnull(strstr(s->buf, LOGLINE_CUT "|short|"));
	ck_assert_uint_le(strlen(s->buf), LOGLINE_MAX + sizeof(LOGLINE_CUT) + 8);
	free(s);
}
END_TEST

START_TEST(not_text_made_safe)
{
	const char *bad[] = {"bell\a esc\x1b[31m bad\xff\xfe ok\xc3\xa9 tab\tend\n"};

	lines_of(bad, 1, NULL, "bell? esc?[31m bad?? ok\xc3\xa9 tab\tend|");
}
END_TEST

static void
query_ok(const char *q, int tail, int follow)
{
	char err[200] = "";
	int t = -1, f = -1;

	ck_assert_msg(logs_query(q, &t, &f, err, sizeof(err)) == 0, "\"%s\" refused: %s", q, err);
	ck_assert_int_eq(t, tail);
	ck_assert_int_eq(f, follow);
}

static void
query_bad(const char *q, const char *needle)
{
	char err[200] = "";
	int t, f;

	ck_assert_msg(logs_query(q, &t, &f, err, sizeof(err)) == -1, "\"%s\" accepted", q);
	ck_assert_msg(strstr(err, needle) != NULL, "\"%s\": \"%s\" lacks \"%s\"", q, err, needle);
}

START_TEST(query_checked)
{
	query_ok(NULL, LOGS_TAIL_DEFAULT, 0);
	query_ok("", LOGS_TAIL_DEFAULT, 0);
	query_ok("tail=1", 1, 0);
	query_ok("tail=10000&follow=1", 10000, 1);
	query_ok("follow=0&tail=42", 42, 0);
	query_bad("tail=0", "tail");
	query_bad("tail=10001", "tail");
	query_bad("tail=-5", "tail");
	query_bad("tail=1e3", "tail");
	query_bad("tail=", "tail");
	query_bad("tail", "tail");
	query_bad("tail=5&tail=6", "once");
	query_bad("tail=99999999999999999999", "tail");
	query_bad("follow=2", "follow");
	query_bad("follow=yes", "follow");
	query_bad("follow", "follow");
	query_bad("follow=1&follow=1", "once");
	query_bad("since=10", "unknown query parameter \"since\"");
	query_bad("tail=5&", "empty");
	query_bad("&tail=5", "empty");
	query_bad("tail=5&&follow=1", "empty");
}
END_TEST

Suite *
logs_suite(void)
{
	Suite *s = suite_create("logs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, demux_split_anywhere);
	tcase_add_test(tc, demux_large_frame_and_tty);
	tcase_add_test(tc, token_filtered);
	tcase_add_test(tc, long_lines_cut);
	tcase_add_test(tc, not_text_made_safe);
	tcase_add_test(tc, query_checked);
	suite_add_tcase(s, tc);
	return s;
}
