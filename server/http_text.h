/*
 * The words of HTTP that need no connection (pure).
 */
#ifndef WSD_HTTP_TEXT_H
#define WSD_HTTP_TEXT_H

#include <stddef.h>

/* The reason phrase of a status ("Not Found"); "Status" for one it does not know. */
const char *http_reason(int status);
/* Percent-decode len bytes of s into a new string; NULL for a bad escape or a NUL. */
char *http_decode(const char *s, size_t len);

#endif
