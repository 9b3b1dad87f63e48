/*
 * wsctl logs: what a workspace's entrypoint, Jupyter and sshd wrote, as
 * plain text on stdout; with --follow, what they write next, until the
 * workspace stops (or Ctrl-C). A workspace that failed to start shows its
 * last lines for a day, until its name is started again. USER/NAME reads
 * another user's workspace (admins only).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsctl.h"

struct logs_out {
	json_t *error; /* an error line or document */
};

static int
on_line(const char *line, size_t len, void *arg)
{
	struct logs_out *lo = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *v;

	if (o == NULL)
		return 0;
	if ((v = json_object_get(o, "line")) != NULL && json_is_string(v)) {
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
		putchar('\n');
		fflush(stdout); /* --follow: each line as it comes */
	} else if (json_object_get(o, "error") != NULL && lo->error == NULL) {
		lo->error = json_incref(o);
	}
	json_decref(o);
	return 0;
}

static int
cmd_logs_exec(int argc, char **argv)
{
	static const struct option opts[] = {{"tail", required_argument, NULL, 'n'},
	                                     {"follow", no_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct logs_out lo = {0};
	const char *tail = NULL, *slash;
	char path[700], user[300];
	size_t n;
	long status;
	int ch, follow = 0, ret = EXIT_OK;

	optind = 0; /* glibc: 0 rescans from scratch */
	while ((ch = getopt_long(argc, argv, "n:f", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			tail = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: wsctl logs NAME|ID|USER/NAME [--tail N] [--follow]\n");
		return EXIT_USAGE;
	}
	if (tail != NULL &&
	    (tail[0] == '\0' || strspn(tail, "0123456789") != strlen(tail) || strlen(tail) > 5)) {
		fprintf(stderr, "wsctl: --tail: \"%s\" is not a number of lines (1 to 10000)\n",
		        tail);
		return EXIT_USAGE;
	}
	slash = strchr(argv[optind], '/');
	if (slash == NULL) {
		if (client_ws_path(argv[optind], path, sizeof(path)) == -1)
			return EXIT_USAGE;
	} else {
		/* An admin's read of another user's workspace. */
		if ((size_t)(slash - argv[optind]) >= sizeof(user))
			return EXIT_USAGE;
		snprintf(user, sizeof(user), "%.*s", (int)(slash - argv[optind]), argv[optind]);
		if (args_path(path, sizeof(path), "/v1/admin/workspaces/", "USER", user) == -1)
			return EXIT_USAGE;
		n = strlen(path);
		if (args_path(path + n, sizeof(path) - n, "/", "NAME", slash + 1) == -1)
			return EXIT_USAGE;
	}
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/logs?tail=%s%s", tail ? tail : "100",
	         follow ? "&follow=1" : "");
	if (client_call("GET", path, NULL, NULL, on_line, &lo, &status) == -1) {
		json_decref(lo.error);
		return EXIT_CONN;
	}
	if (status != 200 || lo.error != NULL)
		ret = client_error(lo.error, status);
	json_decref(lo.error);
	return ret;
}

const struct cmd cmd_logs_entry = {
    "logs",
    "logs NAME|ID [--tail N] [--follow]",
    "Print what a workspace's entrypoint, Jupyter and sshd wrote: its last N lines\n"
    "(default 100, at most 10000). With --follow, go on printing what they write\n"
    "until the workspace stops or you press Ctrl-C. The Jupyter token is shown as\n"
    "<token>. A workspace that failed keeps its last 100 lines and the reason for\n"
    "24 hours, until you start one of the same name. Admins read another user's\n"
    "workspace as USER/NAME.\n"
    "\n"
    "  -n, --tail N   the last N lines (1 to 10000; default 100)\n"
    "  -f, --follow   keep printing new lines until the workspace stops\n",
    cmd_logs_exec,
};
