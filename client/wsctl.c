/*
 * wsctl: start, list, show, stop, read the logs of and log in to wslab workspaces.
 * Global options come before the command; each command parses its own.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "wsctl.h"

const char *wsctl_socket = WSCTL_DEFAULT_SOCKET;

/* Every command; each file cmd_*.c ends with its entry. */
static const struct cmd *const cmd_table[] = {
    &cmd_start_entry, &cmd_ls_entry,         &cmd_show_entry,      &cmd_stop_entry,
    &cmd_logs_entry,  &cmd_gpus_entry,       &cmd_quota_entry,     &cmd_admin_entry,
    &cmd_ssh_entry,   &cmd_ssh_config_entry, &cmd_templates_entry, &cmd_wait_entry,
    &cmd_queue_entry, &cmd_extend_entry,     &cmd_web_entry,
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static const struct cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wsctl [--socket PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  wsctl %s\n", cmd_table[i]->usage);
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
