/* Sizes and durations, as typed by students and admins. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1), buf[32];
	int64_t v;

	memcpy(s, data, len);
	s[len] = '\0';
	if (size_parse(s, &v) == 0) {
		if (v < 0)
			abort();
		size_format(v, buf, sizeof(buf));
		/* What we print, we parse back to the same value. */
		int64_t w;
		if (size_parse(buf, &w) != 0 || w != v)
			abort();
	}
	if (duration_parse(s, &v) == 0 && v < 0)
		abort();
	free(s);
	return 0;
}
