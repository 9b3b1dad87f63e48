/*
 * Command-line arguments that more than one command reads: the --json
 * flag.
 */
#include <getopt.h>

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
