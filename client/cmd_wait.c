/*
 * wsctl wait: block until a queued or starting workspace is ready, and
 * come back by itself when wsd restarts meanwhile (start_follow).
 */
#include <getopt.h>
#include <stdio.h>

#include "wsctl.h"

static int
cmd_wait_exec(int argc, char **argv)
{
	int json = 0;

	if (args_json(argc, argv, &json) == -1 || optind != argc - 1) {
		fprintf(stderr, "usage: wsctl wait NAME|ID [--json]\n");
		return EXIT_USAGE;
	}
	return start_follow(argv[optind], json);
}

const struct cmd cmd_wait_entry = {
    "wait",
    "wait NAME|ID [--json]",
    "Wait until a queued or starting workspace is ready, then print its Jupyter\n"
    "URL and ssh command as start does. If wsd restarts meanwhile, wait follows\n"
    "the workspace again (for up to 2 minutes without an answer). Ctrl-C stops\n"
    "waiting; the workspace stays queued (wsctl stop NAME cancels it).\n",
    cmd_wait_exec,
};
