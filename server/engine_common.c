/*
 * Shared by the engine backends: see engine_common.h.
 */
#include "engine_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "docker.h"
#include "xmalloc.h"

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

const char *
engine_scrub(const char *msg, char *out, size_t len)
{
	size_t o = 0;

	if (msg == NULL)
		return NULL;
	for (const char *p = msg; *p != '\0' && o + 1 < len;) {
		size_t n = 0;

		while (is_hex(p[n]))
			n++;
		if (n >= 64) {
			o += (size_t)snprintf(out + o, len - o, "(a container)");
			if (o >= len)
				o = len - 1;
			p += n;
		} else if (n > 0) {
			for (size_t i = 0; i < n && o + 1 < len; i++)
				out[o++] = *p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

const char *
engine_reason(const char *msg)
{
	const char *p;

	if (msg == NULL)
		return "engine error";
	if ((p = strstr(msg, "stderr: ")) != NULL && p[8] != '\0')
		return p + 8;
	if ((p = strstr(msg, "error during container init: ")) != NULL)
		return p + 30;
	return msg;
}

void
engine_instance_filter(const char *instance, char *out, size_t len)
{
	char json[256], *e;

	snprintf(json, sizeof(json),
	         "{\"label\":[\"" LABEL_WORKSPACE "\",\"" LABEL_INSTANCE "=%s\"]}", instance);
	e = curl_easy_escape(NULL, json, 0);
	snprintf(out, len, "%s", e ? e : "");
	curl_free(e);
}

/* ---- logs, whole or followed ---- */

struct engine_logs {
	struct docker_logs *dl;
	engine_data_cb *data;
	engine_cb *done;
	void *arg;
	char msg[512];
};

static void
logs_in(void *arg, const char *data, size_t len)
{
	struct engine_logs *h = arg;

	h->data(h->arg, data, len);
}

static void
logs_ended(void *arg, long status, const char *error)
{
	struct engine_logs *h = arg;
	struct engine_result res = {0};

	res.message = engine_scrub(error, h->msg, sizeof(h->msg));
	if (status == 0) {
		res.status = ENGINE_UNREACHABLE;
		res.message = error ? error : "no answer";
	} else if (status == 404) {
		res.status = ENGINE_GONE;
	} else {
		res.status = status >= 300 ? ENGINE_REFUSED : ENGINE_OK;
	}
	h->done(h->arg, &res);
	free(h);
}

int
engine_logs_open(const char *path, int follow, engine_data_cb *data, engine_cb *done, void *arg,
                 struct engine_logs **handle)
{
	struct engine_logs *h = xcalloc(1, sizeof(*h));

	h->data = data;
	h->done = done;
	h->arg = arg;
	/* A follow lasts as long as the workspace runs; a tail is a read. */
	h->dl = docker_logs(path, follow ? 0 : ENGINE_LOGS_MS, logs_in, logs_ended, h);
	if (h->dl == NULL) {
		free(h);
		return -1;
	}
	*handle = h;
	return 0;
}

void
engine_logs_close(struct engine_logs *h)
{
	docker_logs_cancel(h->dl);
	free(h);
}

void
engine_logs_hold(struct engine_logs *h, int pause)
{
	docker_logs_pause(h->dl, pause);
}
