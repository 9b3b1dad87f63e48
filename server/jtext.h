/*
 * JSON text written straight into a growing buffer, for the replies whose
 * size grows with the number of workspaces (lists): no json_t tree, no
 * second pass. Strings are escaped as RFC 8259 asks; bytes that are not
 * UTF-8 become U+FFFD. Out of memory aborts, as elsewhere in wsd (xmalloc.h).
 */
#ifndef WSD_JTEXT_H
#define WSD_JTEXT_H

#include <stddef.h>
#include <stdint.h>

struct jtext {
	char *p;
	size_t len, cap;
};

void jt_reserve(struct jtext *b, size_t n); /* room for n more bytes */
void jt_raw(struct jtext *b, const char *s, size_t n);
void jt_lit(struct jtext *b, const char *s); /* unescaped: syntax and known-safe text */
void jt_str(struct jtext *b, const char *s); /* a JSON string, quoted and escaped */
void jt_int(struct jtext *b, int64_t v);
void jt_real(struct jtext *b, double v); /* as jansson prints reals */
/* Unix seconds as a quoted ISO 8601 UTC time: "2026-11-22T11:02:03Z". */
void jt_time(struct jtext *b, int64_t t);
/* "key": — with a comma before it unless it is the object's first key. */
void jt_key(struct jtext *b, const char *key, int first);

#endif
