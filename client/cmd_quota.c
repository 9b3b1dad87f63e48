/* wsctl quota: your own limits, your use, and where each limit comes from. */
#include <getopt.h>
#include <stdio.h>

#include "wsctl.h"

static int
cmd_quota_exec(int argc, char **argv)
{
	json_t *reply = NULL;
	int json = 0, ret;

	if (args_json(argc, argv, &json) == -1 || optind != argc) {
		fprintf(stderr, "usage: wsctl quota [--json]\n");
		return EXIT_USAGE;
	}
	if ((ret = client_get("/v1/quota", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	print_quota(reply);
	json_decref(reply);
	return EXIT_OK;
}

const struct cmd cmd_quota_entry = {
    "quota",
    "quota [--json]",
    "Your limits (GPUs, workspaces, memory, shm, CPUs, lifetime, GPU-hours per\n"
    "rolling week), what you use now, and where each limit comes from: your own\n"
    "entry, your most generous group, or the server's default.\n",
    cmd_quota_exec,
};
