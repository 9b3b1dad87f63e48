/*
 * wsctl web: a one-time link that logs this user in to wsd's web page.
 * wsd binds it to the uid it reads from the socket (SO_PEERCRED); it works
 * once, within a minute (web_link_ttl), in any browser that reaches
 * web_listen (from a laptop, through `ssh -L` when it is on loopback).
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "wsctl.h"

static int
cmd_web_exec(int argc, char **argv)
{
	json_t *reply = NULL;
	int json = 0, ret;
	long status = 0;

	if (args_json(argc, argv, &json) == -1 || optind != argc)
		return EXIT_USAGE;
	if (client_call("POST", "/v1/web/link", NULL, &reply, NULL, NULL, &status) == -1)
		return EXIT_CONN;
	if (status != 201 || reply == NULL) {
		ret = client_error(reply, status);
		json_decref(reply);
		return ret;
	}
	if (json)
		return client_print_json(reply);
	printf("%s\n", json_string_value(json_object_get(reply, "url")));
	if (isatty(fileno(stderr)))
		fprintf(stderr,
		        "(good once, for %lld s; open it in your browser, do not share it)\n",
		        (long long)json_integer_value(json_object_get(reply, "expires_in")));
	json_decref(reply);
	return EXIT_OK;
}

const struct cmd cmd_web_entry = {
    "web",
    "web [--json]",
    "Print a one-time link that logs you in to the web page of this server\n"
    "(your workspaces, the GPUs, your quota and use). It works once, within a\n"
    "minute, and is bound to you: do not share it. When the page listens on the\n"
    "server's loopback only, reach it with ssh -L first (see the README).\n",
    cmd_web_exec,
};
