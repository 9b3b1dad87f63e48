/*
 * HTTP to wsd over its unix socket with libcurl's easy interface. Blocking
 * is right here: wsctl does one thing at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "wsctl.h"

int client_quiet;

struct sink {
	char *buf;
	size_t len, cap;
	line_cb *lines;
	void *arg;
	int stop;
};

static size_t
write_cb(char *data, size_t size, size_t n, void *userp)
{
	struct sink *s = userp;
	size_t len = size * n;

	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8192;
		char *nb;

		while (cap < s->len + len + 1)
			cap *= 2;
		if (cap > (size_t)64 << 20 || (nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	if (s->lines != NULL) {
		char *nl;

		/* Hand out complete lines as they arrive. */
		while (!s->stop && (nl = memchr(s->buf, '\n', s->len)) != NULL) {
			size_t ll = (size_t)(nl - s->buf);

			*nl = '\0';
			if (ll > 0 && s->lines(s->buf, ll, s->arg) != 0)
				s->stop = 1;
			memmove(s->buf, nl + 1, s->len - ll - 1);
			s->len -= ll + 1;
			s->buf[s->len] = '\0';
		}
	}
	return len;
}

int
client_call(const char *method, const char *path, json_t *body, json_t **reply, line_cb *lines,
            void *arg, long *status)
{
	struct sink s = {0};
	struct curl_slist *hdr = NULL;
	char url[1024], *text = NULL;
	CURL *c;
	CURLcode rc;
	int ret = 0;

	*status = 0;
	if (reply)
		*reply = NULL;
	c = curl_easy_init();
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://wsd%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, wsctl_socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (lines) {
		hdr = curl_slist_append(hdr, "Accept: application/x-ndjson");
		s.lines = lines;
		s.arg = arg;
	}
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.stop)) {
		if (!client_quiet)
			fprintf(stderr, "wsctl: cannot reach wsd at %s: %s\n", wsctl_socket,
			        curl_easy_strerror(rc));
		ret = -1;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (lines && s.len > 0 && !s.stop)
		lines(s.buf, s.len, arg);
	if (reply && !lines && s.len > 0)
		*reply = json_loadb(s.buf, s.len, 0, NULL);
out:
	free(s.buf);
	free(text);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return ret;
}

int
client_error(json_t *reply, long status)
{
	const char *msg =
	    json_string_value(json_object_get(json_object_get(reply, "error"), "message"));

	if (msg != NULL)
		fprintf(stderr, "wsctl: %s\n", msg);
	else
		fprintf(stderr, "wsctl: wsd answered %ld\n", status);
	return EXIT_FAIL;
}

int
client_ws_path(const char *name, char *buf, size_t len)
{
	return args_path(buf, len, "/v1/workspaces/", "NAME|ID", name);
}

int
client_get(const char *path, json_t **reply)
{
	long status;
	int r;

	if (client_call("GET", path, NULL, reply, NULL, NULL, &status) == -1)
		return EXIT_CONN;
	if (status == 200 && *reply != NULL)
		return EXIT_OK;
	r = client_error(*reply, status);
	json_decref(*reply);
	*reply = NULL;
	return r;
}

int
client_print_json(json_t *reply)
{
	json_dumpf(reply, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(reply);
	return EXIT_OK;
}
