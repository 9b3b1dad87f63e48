/* wsctl extend: move a workspace's lifetime deadline, within the extension quota. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "wsctl.h"

static int
cmd_extend_exec(int argc, char **argv)
{
	static const struct option opts[] = {{"by", required_argument, NULL, 'b'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {NULL, 0, NULL, 0}};
	const char *by = NULL;
	json_t *body = json_object(), *ws = NULL;
	char path[600];
	long status;
	int ch, json = 0, ret = EXIT_USAGE;

	optind = 0;
	/* A required argument is taken as it is: "--by -5m" reaches wsd, which says why not. */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'b')
			by = optarg;
		else if (ch == 'j')
			json = 1;
		else
			goto usage;
	}
	if (by == NULL || optind != argc - 1 || argv[optind][0] == '-')
		goto usage;
	if (args_set(body, "by", "--by", by) == -1 ||
	    client_ws_path(argv[optind], path, sizeof(path) - 8) == -1)
		goto out;
	snprintf(path + strlen(path), 8, "/extend");
	ret = EXIT_OK;
	if (client_call("POST", path, body, &ws, NULL, NULL, &status) == -1) {
		ret = EXIT_CONN;
	} else if (status != 200) {
		ret = client_error(ws, status);
	} else if (json) {
		ret = client_print_json(ws);
		ws = NULL;
	} else {
		printf("%s now ends at %s\n", json_string_value(json_object_get(ws, "name")),
		       json_string_value(json_object_get(ws, "expires_at")));
	}
	json_decref(ws);
	goto out;
usage:
	fprintf(stderr, "usage: wsctl extend NAME|ID --by DURATION [--json]\n");
out:
	json_decref(body);
	return ret;
}

const struct cmd cmd_extend_entry = {
    "extend",
    "extend NAME|ID --by DURATION [--json]",
    "Move a ready workspace's lifetime deadline by DURATION (like 2h or 1d30m),\n"
    "within your extension quota (the total per workspace: wsctl quota). Refused\n"
    "while others wait in the queue for GPUs and the workspace holds GPUs.\n",
    cmd_extend_exec,
};
