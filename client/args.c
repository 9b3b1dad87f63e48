/*
 * Command-line arguments that more than one command reads: the --json
 * flag, and every value that goes into a request.
 *
 * jansson will not make a string of bytes that are not valid UTF-8:
 * json_string returns NULL, and json_object_set_new or json_array_append_new
 * then leave the value out without a word. A request would then ask wsd for
 * something other than what the user typed (a workspace named ws1 for
 * --name $'\xff'). So every string wsctl sends is made here, and one it
 * cannot send as given is refused with "wsctl: WHAT: not valid UTF-8"
 * before anything is sent; the caller exits with EXIT_USAGE. No other file
 * of client/ makes a JSON string (tests/client_strings.sh checks).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "wsctl.h"

int
args_json(int argc, char **argv, int *json)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	int ch;

	optind = 0; /* glibc: 0 rescans from scratch */
	while ((ch = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (ch != 'j')
			return -1;
		*json = 1;
	}
	return 0;
}

json_t *
args_string(const char *what, const char *value)
{
	json_t *s = json_string(value);

	if (s == NULL)
		fprintf(stderr, "wsctl: %s: not valid UTF-8\n", what);
	return s;
}

int
args_check(const char *what, const char *value)
{
	json_t *s = args_string(what, value);

	if (s == NULL)
		return -1;
	json_decref(s);
	return 0;
}

int
args_set(json_t *obj, const char *key, const char *what, const char *value)
{
	json_t *s = args_string(what, value);

	return s == NULL ? -1 : json_object_set_new(obj, key, s);
}

int
args_append(json_t *array, const char *what, const char *value)
{
	json_t *s = args_string(what, value);

	return s == NULL ? -1 : json_array_append_new(array, s);
}

int
args_path(char *buf, size_t len, const char *prefix, const char *what, const char *value)
{
	char *e;
	int n;

	if (args_check(what, value) == -1)
		return -1;
	if ((e = curl_easy_escape(NULL, value, 0)) == NULL) {
		fprintf(stderr, "wsctl: %s: out of memory\n", what);
		return -1;
	}
	n = snprintf(buf, len, "%s%s", prefix, e);
	curl_free(e);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "wsctl: %s: too long\n", what);
		return -1;
	}
	return 0;
}
