/*
 * Output lines for their owner. The filter works on whole lines because
 * the engine cuts its output wherever its buffers end: a token split
 * across two pieces is whole again in the line. A line longer than
 * LOGLINE_MAX is cut there and the rest of it dropped, so one line never
 * costs more than that; a token that the cut splits loses its visible
 * start too.
 */
#include "loglines.h"

#include <stdio.h>
#include <string.h>

static const char mask[] = "<token>";

void
loglines_init(struct loglines *l, const char *token)
{
	l->len = 0;
	l->cut = 0;
	l->token = token;
}

static void
line_out(struct loglines *l, logline_cb *out, void *arg)
{
	size_t n = logline_filter(l->buf, l->len, sizeof(l->buf), l->token, l->cut);

	out(arg, l->buf, n);
	l->len = 0;
	l->cut = 0;
}

void
loglines_feed(struct loglines *l, const char *data, size_t len, logline_cb *out, void *arg)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		size_t room = LOGLINE_MAX - l->len;

		if (n > room) {
			l->cut = 1;
			memcpy(l->buf + l->len, data, room);
			l->len += room;
		} else if (!l->cut || l->len < LOGLINE_MAX) {
			memcpy(l->buf + l->len, data, n);
			l->len += n;
		}
		if (nl == NULL)
			return;
		line_out(l, out, arg);
		data = nl + 1;
		len -= n + 1;
	}
}

void
loglines_flush(struct loglines *l, logline_cb *out, void *arg)
{
	if (l->len > 0 || l->cut)
		line_out(l, out, arg);
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and past U+10FFFF are not text. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
logline_filter(char *buf, size_t len, size_t cap, const char *token, int cut)
{
	size_t tl = token ? strlen(token) : 0;
	size_t o = 0;

	/* Tokens first, on the raw bytes; "<token>" is shorter than any token. */
	if (tl >= sizeof(mask)) {
		for (size_t i = 0; i < len;) {
			if (len - i >= tl && memcmp(buf + i, token, tl) == 0) {
				memcpy(buf + o, mask, sizeof(mask) - 1);
				o += sizeof(mask) - 1;
				i += tl;
			} else {
				buf[o++] = buf[i++];
			}
		}
		len = o;
		if (cut) {
			/* The cut may have split a token: its start goes too. */
			for (size_t k = tl - 1 < len ? tl - 1 : len; k > 0; k--) {
				if (memcmp(buf + len - k, token, k) == 0) {
					len -= k;
					break;
				}
			}
		}
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len((const unsigned char *)buf + i, len - i);

		if (n == 0 || (n == 1 && (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') ||
		                          buf[i] == 0x7f))) {
			buf[i++] = '?';
			continue;
		}
		i += n;
	}
	if (cut && cap > len) {
		size_t add = sizeof(LOGLINE_CUT) - 1;

		if (len + add >= cap)
			len = cap - add - 1;
		/* Never end inside a UTF-8 sequence. */
		while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80)
			len--;
		memcpy(buf + len, LOGLINE_CUT, add);
		len += add;
	}
	return len;
}

/* A decimal in [lo, hi], digits only, or -1. */
static long
number(const char *s, size_t n, long lo, long hi)
{
	long v = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

int
logs_query(const char *query, int *tail, int *follow, char *err, size_t errlen)
{
	int seen_tail = 0, seen_follow = 0;
	const char *p = query ? query : "";

	*tail = LOGS_TAIL_DEFAULT;
	*follow = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		size_t kl = eq ? (size_t)(eq - p) : n;
		const char *v = eq ? eq + 1 : NULL;
		size_t vl = eq ? n - kl - 1 : 0;
		long x;

		if (n == 0) {
			snprintf(err, errlen, "empty query parameter");
			return -1;
		}
		if (kl == 4 && memcmp(p, "tail", 4) == 0) {
			if (seen_tail++ || (x = v ? number(v, vl, 1, LOGS_TAIL_MAX) : -1) == -1) {
				snprintf(err, errlen,
				         "tail must be given once, as a number of lines "
				         "from 1 to %d",
				         LOGS_TAIL_MAX);
				return -1;
			}
			*tail = (int)x;
		} else if (kl == 6 && memcmp(p, "follow", 6) == 0) {
			if (seen_follow++ || (x = v ? number(v, vl, 0, 1) : -1) == -1) {
				snprintf(err, errlen, "follow must be given once, as 0 or 1");
				return -1;
			}
			*follow = (int)x;
		} else {
			snprintf(err, errlen,
			         "unknown query parameter \"%.*s\" (tail and follow are known)",
			         (int)(kl > 32 ? 32 : kl), p);
			return -1;
		}
		p += n;
		if (*p == '&')
			p++;
		if (*p == '\0' && p[-1] == '&') {
			snprintf(err, errlen, "empty query parameter");
			return -1;
		}
	}
	return 0;
}
