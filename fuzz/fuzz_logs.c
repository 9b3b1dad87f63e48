/*
 * A container's log stream as the engine may send it, cut anywhere: the
 * demultiplexer and the line filter never let the token through, never
 * hand out a line longer than the cap, and give only printable UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "docker.h"
#include "loglines.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
line(void *arg, const char *l, size_t n)
{
	json_t *s;

	(void)arg;
	if (n > LOGLINE_MAX + sizeof(LOGLINE_CUT) || memmem(l, n, TOKEN, strlen(TOKEN)) != NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)l[i] < 0x20 && l[i] != '\t')
			abort();
	s = json_stringn(l, n);
	if (s == NULL) /* not UTF-8 */
		abort();
	json_decref(s);
}

static void
payload(void *arg, const char *d, size_t n)
{
	loglines_feed(arg, d, n, line, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct docker_demux dm = {0};
	static struct loglines ll;
	size_t step;

	if (len < 1)
		return 0;
	/* The first byte says how the stream is cut into reads. */
	step = (size_t)data[0] + 1;
	data++;
	len--;
	loglines_init(&ll, TOKEN);
	for (size_t off = 0; off < len; off += step)
		docker_demux_feed(&dm, (const char *)data + off,
		                  len - off < step ? len - off : step, payload, &ll);
	loglines_flush(&ll, line, NULL);
	return 0;
}
