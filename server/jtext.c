#include "jtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xmalloc.h"

static void
grow_slow(struct jtext *b, size_t n)
{
	b->cap = b->cap ? b->cap : 1024;
	while (b->len + n + 1 > b->cap)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

static inline void
grow(struct jtext *b, size_t n)
{
	if (b->len + n + 1 > b->cap)
		grow_slow(b, n);
}

void
jt_raw(struct jtext *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
jt_reserve(struct jtext *b, size_t n)
{
	grow(b, n);
}

void
jt_lit(struct jtext *b, const char *s)
{
	jt_raw(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but " and \. */
// clang-format off
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* controls */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* ' ' .. '/', no '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 'P' .. '_', no '\\' */
    R16(1), R16(1), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
#undef R16
};
// clang-format on

void
jt_str(struct jtext *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	char esc[8];

	jt_raw(b, "\"", 1);
	for (;;) {
		size_t n;

		while (plain[*s])
			s++;
		if (*s == '\0')
			break;
		if (*s >= 0x80 && (n = utf8_len(s)) != 0) {
			s += n;
			continue;
		}
		jt_raw(b, (const char *)run, (size_t)(s - run));
		if (*s >= 0x80) {
			jt_raw(b, "\\ufffd", 6);
		} else if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			jt_raw(b, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			jt_raw(b, esc, 6);
		}
		run = ++s;
	}
	jt_raw(b, (const char *)run, (size_t)(s - run));
	jt_raw(b, "\"", 1);
}

void
jt_int(struct jtext *b, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jt_raw(b, p, (size_t)(buf + sizeof(buf) - p));
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm): no locks, no tables. */
static void
civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static char *
two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

void
jt_time(struct jtext *b, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, y;
	unsigned secs = (unsigned)(t - days * 86400), m, d;
	char buf[24], *p = buf;

	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999; /* not a date wsd ever holds */
	*p++ = '"';
	p = two(p, (unsigned)(y / 100));
	p = two(p, (unsigned)(y % 100));
	*p++ = '-';
	p = two(p, m);
	*p++ = '-';
	p = two(p, d);
	*p++ = 'T';
	p = two(p, secs / 3600);
	*p++ = ':';
	p = two(p, secs / 60 % 60);
	*p++ = ':';
	p = two(p, secs % 60);
	*p++ = 'Z';
	*p++ = '"';
	jt_raw(b, buf, (size_t)(p - buf));
}

void
jt_real(struct jtext *b, double v)
{
	char buf[40];
	int n;

	/*
	 * Most reals wsd writes are CPU counts such as 0.5 or 2: when three
	 * decimals say exactly this double, write them (shortest form, the
	 * same value when parsed); otherwise as jansson does, 17 digits.
	 */
	if (v > -1e12 && v < 1e12) {
		long long m = llround(v * 1000);

		if ((double)m / 1000 == v) {
			long long a = m < 0 ? -m : m, frac = a % 1000;

			if (m < 0)
				jt_raw(b, "-", 1);
			jt_int(b, a / 1000);
			n = 0;
			buf[n++] = '.';
			if (frac == 0)
				buf[n++] = '0';
			for (int d = 100; frac != 0; d /= 10) {
				buf[n++] = (char)('0' + frac / d);
				frac %= d;
			}
			jt_raw(b, buf, (size_t)n);
			return;
		}
	}
	n = snprintf(buf, sizeof(buf), "%.17g", v);
	jt_raw(b, buf, (size_t)n);
	if (strpbrk(buf, ".eEn") == NULL) /* integral: keep it a real, like jansson */
		jt_raw(b, ".0", 2);
}

void
jt_key(struct jtext *b, const char *key, int first)
{
	if (!first)
		jt_raw(b, ",", 1);
	jt_str(b, key);
	jt_raw(b, ":", 1);
}
