/*
 * wsctl: start, list, show, stop and log in to wslab workspaces.
 * Global options come before the command; each command parses its own.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "wsctl.h"

const char *wsctl_socket = WSCTL_DEFAULT_SOCKET;

static const struct cmd cmd_table[] = {
    {"start",
     "start [--name N] [--template T] [--memory SIZE] [--shm SIZE] [--cpus N]\n"
     "              [--gpus N | --gpu-ids LIST] [--mount SRC:DST[:ro]]... [--json]",
     "Create and start a workspace, wait until Jupyter and SSH answer, and print\n"
     "the Jupyter URL (with its token) and the ssh command. Your ~/.ssh/NAME.pub keys\n"
     "are the only way in over SSH (an ed25519 key is made when you have none).\n"
     "\n"
     "  --name N        workspace name (a-z, 0-9, - _ .; default: ws1, ws2, ...)\n"
     "  --template T    a template of the server (wsd lists them in /v1/info)\n"
     "  --memory SIZE   memory limit, like 8g (swap is never added)\n"
     "  --shm SIZE      /dev/shm size, like 2g (PyTorch DataLoader workers need it)\n"
     "  --cpus N        CPUs, like 4 or 0.5\n"
     "  --gpus N        N free GPUs, picked by wsd (close together on the bus)\n"
     "  --gpu-ids LIST  these GPUs, by index or UUID: 0,3\n"
     "  --mount SRC:DST[:ro]\n"
     "                  mount the host path SRC (yours, inside a mount root the\n"
     "                  server allows) at DST: inside /home/USER or under a mount\n"
     "                  point of the server; :ro for read-only (up to 8)\n"
     "  --json          print the workspace as one JSON object\n",
     cmd_start_exec},
    {"ls", "ls [--json]", "List your workspaces.\n", cmd_ls_exec},
    {"show", "show NAME|ID [--json]",
     "Show one workspace: state, limits, Jupyter URL, ssh command.\n", cmd_show_exec},
    {"stop", "stop NAME|ID",
     "Stop a workspace and remove its container. Your home directory is kept.\n", cmd_stop_exec},
    {"gpus", "gpus [--json]",
     "List the server's GPUs: model, memory, utilisation, and free or held (you see\n"
     "your own workspaces' names; admins see everyone's).\n",
     cmd_gpus_exec},
    {"quota", "quota [--json]",
     "Your limits (GPUs, workspaces, memory, shm, CPUs, lifetime, GPU-hours per\n"
     "rolling week), what you use now, and where each limit comes from: your own\n"
     "entry, your most generous group, or the server's default.\n",
     cmd_quota_exec},
    {"admin",
     "admin ls [--json] | stop OWNER/NAME | quota set|show|rm ... |\n"
     "              usage [--since DATE] [--json] | audit [--since DATE] [--json]",
     "Admin commands (root and members of the server's admin group; others get\n"
     "\"forbidden\" and nothing changes).\n"
     "\n"
     "  admin ls                      every workspace on the server\n"
     "  admin stop OWNER/NAME         stop anyone's workspace (the home is kept)\n"
     "  admin quota set --user U | --group G [--gpus N] [--workspaces N]\n"
     "        [--memory SIZE] [--shm SIZE] [--cpus N] [--lifetime DURATION] [--gpu-hours N]\n"
     "                                set limits; a value may be \"unlimited\", or\n"
     "                                \"inherit\" to drop it from this entry\n"
     "  admin quota show [--user U | --group G] [--json]\n"
     "                                all entries and the default, or one entry (for a\n"
     "                                user: the limits that apply and the use)\n"
     "  admin quota rm --user U | --group G\n"
     "  admin usage [--since DATE]    GPU-hours and workspace-hours per user (default:\n"
     "                                the last 7 days; DATE like 2026-11-01 or 7d)\n"
     "  admin audit [--since DATE]    starts, stops, refusals and admin actions\n"
     "\n"
     "Precedence: a user's own entry, else the most generous of their groups'\n"
     "entries, else the default from wsd.conf; limit by limit.\n",
     cmd_admin_exec},
    {"ssh", "ssh NAME|ID [-- COMMAND...]",
     "Log in to a workspace with ssh (or run COMMAND there). The workspace's host\n"
     "key is pinned, so ssh never asks whether to trust it.\n",
     cmd_ssh_exec},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static const struct cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wsctl [--socket PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  wsctl %s\n", cmd_table[i].usage);
	fprintf(f,
	        "\n  wsctl help COMMAND   more about one command\n"
	        "\noptions:\n"
	        "  --socket PATH   wsd's socket (default $WSCTL_SOCKET, else " WSCTL_DEFAULT_SOCKET
	        ")\n"
	        "  --version       print the version\n");
}

static int
cmd_help(const struct cmd *c)
{
	printf("usage: wsctl %s\n\n%s", c->usage, c->help);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {NULL, 0, NULL, 0}};
	const struct cmd *c;
	const char *env = getenv("WSCTL_SOCKET");
	int ch, ret;

	if (env != NULL && env[0] != '\0')
		wsctl_socket = env;
	/* "+": stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+s:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			wsctl_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("wsctl %s\n", WSLAB_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return EXIT_OK;
		}
		c = cmd_find(argv[optind + 1]);
		if (c == NULL) {
			fprintf(stderr, "wsctl: no command \"%s\"\n", argv[optind + 1]);
			return EXIT_USAGE;
		}
		return cmd_help(c);
	}
	c = cmd_find(argv[optind]);
	if (c == NULL) {
		fprintf(stderr, "wsctl: no command \"%s\" (see wsctl --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	for (int i = optind + 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cmd_help(c);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = c->exec(argc - optind, argv + optind);
	curl_global_cleanup();
	return ret;
}
