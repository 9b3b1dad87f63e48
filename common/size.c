/*
 * Size and duration parsing. Strict on purpose: no signs, no spaces, no
 * fractions, no overflow. Anything else is refused so that a typo never
 * turns into a huge or negative limit.
 */
#include "size.h"

#include <ctype.h>
#include <stdio.h>

#define SIZE_MAX_VALUE (INT64_C(1) << 62)

static int
digits(const char **sp, int64_t *out)
{
	const char *s = *sp;
	int64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (SIZE_MAX_VALUE - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

int
size_parse(const char *s, int64_t *out)
{
	int64_t v, mult = 1;

	if (s == NULL || digits(&s, &v) == -1)
		return -1;
	switch (tolower((unsigned char)*s)) {
	case '\0':
		break;
	case 'k':
		mult = INT64_C(1) << 10;
		break;
	case 'm':
		mult = INT64_C(1) << 20;
		break;
	case 'g':
		mult = INT64_C(1) << 30;
		break;
	case 't':
		mult = INT64_C(1) << 40;
		break;
	case 'b':
		if (s[1] != '\0')
			return -1;
		*out = v;
		return 0;
	default:
		return -1;
	}
	if (*s != '\0') {
		s++;
		if (tolower((unsigned char)*s) == 'i')
			s++;
		if (tolower((unsigned char)*s) == 'b')
			s++;
		if (*s != '\0')
			return -1;
	}
	if (v > SIZE_MAX_VALUE / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void
size_format(int64_t bytes, char *buf, size_t len)
{
	static const char units[] = "kmgt";
	int i = -1;

	while (i < 3 && bytes != 0 && bytes % 1024 == 0) {
		bytes /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%lld", (long long)bytes);
	else
		snprintf(buf, len, "%lld%c", (long long)bytes, units[i]);
}

int
duration_parse(const char *s, int64_t *seconds)
{
	int64_t total = 0, v, mult;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (digits(&s, &v) == -1)
			return -1;
		switch (*s) {
		case '\0':
			mult = 1;
			s--;
			break;
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		default:
			return -1;
		}
		s++;
		if (v > SIZE_MAX_VALUE / mult || total > SIZE_MAX_VALUE - v * mult)
			return -1;
		total += v * mult;
	}
	*seconds = total;
	return 0;
}

void
duration_format(int64_t s, char *buf, size_t len)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	size_t off = 0;

	if (s <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < len; i++) {
		if (s >= units[i].secs) {
			int n = snprintf(buf + off, len - off, "%lld%c",
			                 (long long)(s / units[i].secs), units[i].unit);

			if (n < 0)
				break;
			off += (size_t)n;
			s %= units[i].secs;
		}
	}
}
