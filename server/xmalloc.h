/*
 * Memory. Out of memory ends wsd: xmalloc and its kin log "out of memory"
 * and abort(), so callers never check a result and never reply 500 for
 * one. That is right because every size wsd allocates is its own or a
 * client's within a cap (HTTP_MAX_HEADER for a request's URL and headers,
 * HTTP_MAX_BODY for its body), so a failure means the host is out of
 * memory; a 500 would be kept only for a size a client chooses without
 * such a cap, and wsd has none.
 */
#ifndef WSD_XMALLOC_H
#define WSD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n) __attribute__((malloc, returns_nonnull, alloc_size(1)));
/* Zeroed; nmemb * size may not overflow. */
void *xcalloc(size_t nmemb, size_t size) __attribute__((malloc, returns_nonnull, alloc_size(1, 2)));
void *xrealloc(void *p, size_t n) __attribute__((returns_nonnull, alloc_size(2)));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
/* At most n bytes of s, NUL-terminated. */
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

#endif
