/*
 * Sizes and durations as people write them: "512m", "8g", "90s", "72h".
 * Shared by wsd (request and config validation) and wsctl (display).
 */
#ifndef WSLAB_SIZE_H
#define WSLAB_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a byte size: decimal digits with an optional suffix k, m, g or t
 * (binary multiples, case-insensitive, an optional trailing "b" or "ib").
 * Returns 0 and stores the value, or -1 when the text is not a size or the
 * value does not fit in 2^62.
 */
int size_parse(const char *s, int64_t *out);

/* Format bytes as the shortest exact "8g"/"512m"/"1234" form. */
void size_format(int64_t bytes, char *buf, size_t len);

/*
 * Parse a duration: digits with a suffix s, m, h, d or w, several allowed
 * ("1h30m"). Bare digits are seconds. Returns 0 or -1 as size_parse.
 */
int duration_parse(const char *s, int64_t *seconds);

/* Format seconds as duration_parse reads them: "1d2h", "90s" ("0s" for none). */
void duration_format(int64_t seconds, char *buf, size_t len);

#endif
