/*
 * The JSON text writer (jtext.c) that lists go through: whatever bytes a
 * field holds (names, paths, engine messages), the output is valid JSON,
 * and a string that is valid UTF-8 comes back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	struct jtext b = {0};
	json_t *v, *direct;

	memcpy(s, data, len);
	s[len] = '\0'; /* strings in wsd end at the first NUL, as here */
	jt_lit(&b, "{");
	jt_key(&b, s, 1);
	jt_str(&b, s);
	jt_lit(&b, ",\"n\":");
	jt_int(&b, (int64_t)len - 4096);
	jt_lit(&b, "}");
	v = json_loadb(b.p, b.len, 0, NULL);
	if (v == NULL || json_object_size(v) != (strcmp(s, "n") == 0 ? 1u : 2u))
		abort();
	direct = json_string(s); /* NULL when s is not UTF-8 */
	if (direct != NULL && strcmp(s, "n") != 0 &&
	    strcmp(json_string_value(json_object_get(v, s)), s) != 0)
		abort();
	json_decref(direct);
	json_decref(v);
	free(b.p);
	free(s);
	return 0;
}
