/*
 * The allocators of xmalloc.h. A size of 0 asks for 1 byte, so that a
 * NULL always means failure.
 */
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void oom(const char *what, size_t n) __attribute__((noreturn));

static void
oom(const char *what, size_t n)
{
	log_err("out of memory (%s of %zu bytes)", what, n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom("xmalloc", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		oom("xcalloc", nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *np = realloc(p, n ? n : 1);

	if (np == NULL)
		oom("xrealloc", n);
	return np;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
