#include "jtext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
grow(struct jtext *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 1024;
	while (b->len + n + 1 > b->cap)
		b->cap *= 2;
	b->p = realloc(b->p, b->cap);
	if (b->p == NULL)
		abort();
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

void
jt_str(struct jtext *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	char esc[8];

	jt_raw(b, "\"", 1);
	while (*s) {
		size_t n = utf8_len(s);

		if (n != 0 && *s >= 0x20 && *s != '"' && *s != '\\') {
			s += n;
			continue;
		}
		jt_raw(b, (const char *)run, (size_t)(s - run));
		if (n == 0) {
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
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	jt_raw(b, buf, (size_t)n);
}

void
jt_real(struct jtext *b, double v)
{
	char buf[40];
	int n = snprintf(buf, sizeof(buf), "%.17g", v);

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
