/*
 * Engine API transport. Each call is one fetch; the reply is parsed here
 * so that callers see JSON and the engine's own error message. Which
 * paths are called is the backend's business (engine_docker.c).
 */
#include "docker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "log.h"

static char *socket_path; /* NULL for http:// engines */
static char *base_url;    /* "http://localhost" or the http:// URL */
static char api_prefix[16] = "/v1.41";

struct call {
	docker_cb *cb;
	void *arg;
};

int
docker_init(const char *engine_url, char *err, size_t errlen)
{
	if (strncmp(engine_url, "unix://", 7) == 0 && engine_url[7] == '/') {
		socket_path = strdup(engine_url + 7);
		base_url = strdup("http://localhost");
	} else if (strncmp(engine_url, "http://", 7) == 0) {
		size_t n = strlen(engine_url);

		base_url = strdup(engine_url);
		if (n > 7 && base_url[n - 1] == '/')
			base_url[n - 1] = '\0';
	} else {
		snprintf(err, errlen, "engine: \"%s\" is neither unix:///PATH nor http://HOST:PORT",
		         engine_url);
		return -1;
	}
	return 0;
}

void
docker_free(void)
{
	free(socket_path);
	free(base_url);
	socket_path = base_url = NULL;
}

static int
version_cmp(const char *a, const char *b)
{
	unsigned am = 0, an = 0, bm = 0, bn = 0;

	sscanf(a, "%u.%u", &am, &an);
	sscanf(b, "%u.%u", &bm, &bn);
	if (am != bm)
		return am < bm ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static const char *prefer = "1.41";

void
docker_prefer_version(const char *v)
{
	prefer = v;
}

int
docker_version_at_least(const char *v)
{
	return version_cmp(docker_api_version(), v) >= 0;
}

int
docker_set_version(const json_t *v, char *err, size_t errlen)
{
	const char *api = json_string_value(json_object_get(v, "ApiVersion"));
	const char *min = json_string_value(json_object_get(v, "MinAPIVersion"));
	const char *use = "1.41";

	if (api == NULL) {
		snprintf(err, errlen, "engine /version has no ApiVersion");
		return -1;
	}
	if (version_cmp(api, "1.41") < 0) {
		snprintf(err, errlen, "engine API %s is older than 1.41 (Docker Engine 20.10)",
		         api);
		return -1;
	}
	/* A backend that knows fields of a newer API uses them where the engine has them. */
	if (version_cmp(prefer, use) > 0)
		use = version_cmp(api, prefer) >= 0 ? prefer : api;
	if (min != NULL && version_cmp(min, use) > 0 && strlen(min) < 8)
		use = min;
	snprintf(api_prefix, sizeof(api_prefix), "/v%s", use);
	return 0;
}

const char *
docker_api_version(void)
{
	return api_prefix + 2;
}

static void
call_done(void *arg, const struct fetch_reply *fr)
{
	struct call *c = arg;
	struct docker_reply r = {0};
	json_error_t jerr;

	r.status = fr->status;
	r.body = fr->body;
	r.len = fr->len;
	if (fr->status == 0) {
		r.error = fr->error;
	} else if (fr->len > 0 && (fr->body[0] == '{' || fr->body[0] == '[')) {
		r.json = json_loadb(fr->body, fr->len, 0, &jerr);
		if (fr->status >= 400)
			r.error = json_string_value(json_object_get(r.json, "message"));
	}
	if (fr->status >= 400 && r.error == NULL)
		r.error = "engine error";
	c->cb(c->arg, &r);
	json_decref(r.json);
	free(c);
}

int
docker_call(const char *method, const char *path, json_t *body, long timeout_ms, docker_cb *cb,
            void *arg)
{
	struct fetch_opts o = {0};
	struct call *c;
	char url[1024];
	char *text = NULL;
	int ret;

	/* /version is asked before the version is known, so it goes unversioned. */
	if ((size_t)snprintf(url, sizeof(url), "%s%s%s", base_url,
	                     strcmp(path, "/version") == 0 ? "" : api_prefix, path) >= sizeof(url))
		return -1;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		return -1;
	c = malloc(sizeof(*c));
	if (c == NULL) {
		free(text);
		return -1;
	}
	c->cb = cb;
	c->arg = arg;
	o.method = method;
	o.url = url;
	o.unix_socket = socket_path;
	o.body = text;
	o.timeout_ms = timeout_ms ? timeout_ms : 60000;
	o.max_body = (size_t)16 << 20;
	ret = fetch_start(&o, call_done, c);
	free(text);
	if (ret == -1)
		free(c);
	return ret;
}

void
docker_last_log_line(const char *body, size_t len, char *out, size_t outlen)
{
	const char *p = body, *end = body + len;
	char text[4096];
	size_t tl = 0;

	out[0] = '\0';
	/* Collect the payloads (the last 4 KiB of them) into text. */
	while (p < end) {
		const char *payload = p;
		size_t n = (size_t)(end - p);

		if (n >= 8 && (p[0] == 0 || p[0] == 1 || p[0] == 2) && p[1] == 0 && p[2] == 0 &&
		    p[3] == 0) {
			size_t flen = ((size_t)(unsigned char)p[4] << 24) |
			              ((size_t)(unsigned char)p[5] << 16) |
			              ((size_t)(unsigned char)p[6] << 8) |
			              (size_t)(unsigned char)p[7];

			payload = p + 8;
			n = flen <= (size_t)(end - payload) ? flen : (size_t)(end - payload);
			p = payload + n;
		} else {
			p = end;
		}
		if (n >= sizeof(text)) {
			payload += n - (sizeof(text) - 1);
			n = sizeof(text) - 1;
		}
		if (tl + n >= sizeof(text)) {
			size_t drop = tl + n - (sizeof(text) - 1);

			memmove(text, text + drop, tl - drop);
			tl -= drop;
		}
		memcpy(text + tl, payload, n);
		tl += n;
	}
	while (tl > 0 && (text[tl - 1] == '\n' || text[tl - 1] == '\r' || text[tl - 1] == ' '))
		tl--;
	text[tl] = '\0';
	{
		char *line = strrchr(text, '\n');
		size_t o = 0;

		line = line ? line + 1 : text;
		for (; *line && o + 1 < outlen; line++)
			out[o++] = (*line >= 0x20 && *line < 0x7f) ? *line : '?';
		out[o] = '\0';
	}
}

/* ---- log streams ---- */

void
docker_demux_feed(struct docker_demux *d, const char *data, size_t len, docker_payload_cb *out,
                  void *arg)
{
	while (len > 0) {
		size_t n;

		if (d->raw) {
			out(arg, data, len);
			return;
		}
		if (d->left > 0) {
			n = len < d->left ? len : d->left;
			out(arg, data, n);
			d->left -= (uint32_t)n;
			data += n;
			len -= n;
			continue;
		}
		n = sizeof(d->hdr) - d->hlen;
		n = len < n ? len : n;
		memcpy(d->hdr + d->hlen, data, n);
		d->hlen += n;
		data += n;
		len -= n;
		if (d->hlen < sizeof(d->hdr))
			continue;
		d->hlen = 0;
		if (d->hdr[0] > 2 || d->hdr[1] || d->hdr[2] || d->hdr[3]) {
			/* Not a frame header: a TTY's output. What we took is text. */
			d->raw = 1;
			out(arg, (const char *)d->hdr, sizeof(d->hdr));
			continue;
		}
		d->left = ((uint32_t)d->hdr[4] << 24) | ((uint32_t)d->hdr[5] << 16) |
		          ((uint32_t)d->hdr[6] << 8) | (uint32_t)d->hdr[7];
	}
}

struct docker_logs {
	struct xfer *x;
	struct docker_demux demux;
	docker_payload_cb *on_data;
	void (*done)(void *arg, long status, const char *error);
	void *arg;
};

static void
logs_data(void *arg, const char *data, size_t len)
{
	struct docker_logs *l = arg;

	docker_demux_feed(&l->demux, data, len, l->on_data, l->arg);
}

static void
logs_done(void *arg, const struct fetch_reply *fr)
{
	struct docker_logs *l = arg;
	const char *error = fr->error;
	json_t *j = NULL;

	if (fr->status >= 300) {
		j = json_loadb(fr->body, fr->len, 0, NULL);
		error = json_string_value(json_object_get(j, "message"));
		if (error == NULL)
			error = "engine error";
	}
	l->done(l->arg, fr->status, error);
	json_decref(j);
	free(l);
}

struct docker_logs *
docker_logs(const char *path, long timeout_ms, docker_payload_cb *on_data,
            void (*done)(void *arg, long status, const char *error), void *arg)
{
	struct fetch_opts o = {0};
	struct docker_logs *l;
	char url[1024];

	if ((size_t)snprintf(url, sizeof(url), "%s%s%s", base_url, api_prefix, path) >= sizeof(url))
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->on_data = on_data;
	l->done = done;
	l->arg = arg;
	o.url = url;
	o.unix_socket = socket_path;
	o.timeout_ms = timeout_ms;
	o.max_body = (size_t)1 << 20; /* an error's body */
	o.on_data = logs_data;
	o.handle = &l->x;
	if (fetch_start(&o, logs_done, l) == -1) {
		free(l);
		return NULL;
	}
	return l;
}

void
docker_logs_cancel(struct docker_logs *l)
{
	fetch_cancel(l->x);
	free(l);
}

void
docker_logs_pause(struct docker_logs *l, int pause)
{
	fetch_pause(l->x, pause);
}

/* ---- events ---- */

static struct {
	void (*on_event)(json_t *ev);
	void (*done)(const char *why);
	char buf[65536];
	size_t len;
} ev;

static void
events_data(void *arg, const char *data, size_t len)
{
	(void)arg;
	while (len > 0) {
		size_t n = len < sizeof(ev.buf) - ev.len ? len : sizeof(ev.buf) - ev.len;
		char *nl;

		memcpy(ev.buf + ev.len, data, n);
		ev.len += n;
		data += n;
		len -= n;
		while ((nl = memchr(ev.buf, '\n', ev.len)) != NULL) {
			size_t ll = (size_t)(nl - ev.buf);
			json_t *o = json_loadb(ev.buf, ll, 0, NULL);

			if (o != NULL) {
				ev.on_event(o);
				json_decref(o);
			}
			memmove(ev.buf, nl + 1, ev.len - ll - 1);
			ev.len -= ll + 1;
		}
		if (ev.len == sizeof(ev.buf))
			ev.len = 0; /* an event larger than 64 KiB: drop it */
	}
}

static void
events_done(void *arg, const struct fetch_reply *r)
{
	(void)arg;
	ev.len = 0;
	ev.done(r->status == 200 ? "the engine closed the event stream"
	                         : (r->error ? r->error : "events refused"));
}

int
docker_stream(const char *path, void (*on_event)(json_t *e), void (*done)(const char *why))
{
	struct fetch_opts o = {0};
	char url[1024];

	ev.on_event = on_event;
	ev.done = done;
	ev.len = 0;
	if ((size_t)snprintf(url, sizeof(url), "%s%s%s", base_url, api_prefix, path) >= sizeof(url))
		return -1;
	o.url = url;
	o.unix_socket = socket_path;
	o.on_data = events_data;
	return fetch_start(&o, events_done, NULL);
}
