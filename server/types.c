/*
 * The helpers of the shared types (types.h): an API error and its JSON
 * body. Kept apart from valid.c so that a part which only reports errors
 * (quota, gpu_alloc, http) needs no validation code.
 */
#include "types.h"

#include <stdarg.h>
#include <stdio.h>

#include <jansson.h>

void
api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

json_t *
api_error_json(const char *code, const char *message)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
}
