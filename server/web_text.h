/*
 * The small parsers of the web page, kept pure for tests and fuzzing:
 * cookies, form fields, and the comparison of secrets.
 */
#ifndef WSD_WEB_TEXT_H
#define WSD_WEB_TEXT_H

#include <stddef.h>

/*
 * The value of cookie name in a Cookie header ("a=1; b=2"). Returns 1
 * with it in out, 0 when absent, -1 when it does not fit.
 */
int web_cookie_get(const char *header, const char *name, char *out, size_t outlen);
/*
 * The value of key in an application/x-www-form-urlencoded text (a body
 * or a query), decoded ('+' is a space, %XX a byte). Returns 1 with it in
 * out, 0 when absent, -1 when it is malformed, holds a NUL or does not fit.
 */
int web_form_get(const char *form, const char *key, char *out, size_t outlen);
/* 1 when a and b are equal, in time that depends on their lengths only. */
int web_secret_equal(const char *a, const char *b);
/* n bytes as 2n lowercase hex digits and a NUL. */
void web_hex(const unsigned char *b, size_t n, char *out);

#endif
