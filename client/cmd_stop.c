/* wsctl stop: remove the container; the home directory stays. */
#include <stdio.h>

#include "wsctl.h"

static int
cmd_stop_exec(int argc, char **argv)
{
	json_t *ws = NULL;
	char path[600];
	long status;
	int ret = EXIT_OK;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: wsctl stop NAME|ID\n");
		return EXIT_USAGE;
	}
	if (client_ws_path(argv[1], path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (client_call("DELETE", path, NULL, &ws, NULL, NULL, &status) == -1)
		return EXIT_CONN;
	if (status != 200)
		ret = client_error(ws, status);
	else
		printf("stopped %s; home directory kept\n",
		       json_string_value(json_object_get(ws, "name")));
	json_decref(ws);
	return ret;
}

const struct cmd cmd_stop_entry = {
    "stop",
    "stop NAME|ID",
    "Stop a workspace and remove its container. Your home directory is kept.\n",
    cmd_stop_exec,
};
