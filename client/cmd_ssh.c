/*
 * wsctl ssh: log in to a workspace with OpenSSH, its host key pinned in
 * wslab's own known_hosts file, so there is never an "authenticity of
 * host" question and a wrong key is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsctl.h"

static int
cmd_ssh_exec(int argc, char **argv)
{
	json_t *ws = NULL;
	char path[600], kh[800], opt_kh[900], port[16], dest[300];
	const char *host, *user;
	char **av;
	int ret;
	int n = 0, rest;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: wsctl ssh NAME|ID [-- COMMAND...]\n");
		return EXIT_USAGE;
	}
	rest = 2;
	if (argc > 2 && strcmp(argv[2], "--") == 0)
		rest = 3;
	if (client_ws_path(argv[1], path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if ((ret = client_get(path, &ws)) != EXIT_OK)
		return ret;
	if (strcmp(json_string_value(json_object_get(ws, "state")) ?: "", "queued") == 0) {
		fprintf(stderr,
		        "wsctl: %s is queued, not running yet (position %lld in the queue); "
		        "wsctl wait %s waits until it is ready\n",
		        argv[1],
		        (long long)json_integer_value(json_object_get(ws, "queue_position")),
		        argv[1]);
		json_decref(ws);
		return EXIT_FAIL;
	}
	host = json_string_value(json_object_get(ws, "ssh_host"));
	user = json_string_value(json_object_get(ws, "ssh_user"));
	if (host == NULL || user == NULL || ssh_pin(ws, kh, sizeof(kh)) == -1) {
		fprintf(stderr, "wsctl: cannot pin the workspace's host key\n");
		json_decref(ws);
		return EXIT_FAIL;
	}
	snprintf(port, sizeof(port), "%lld",
	         (long long)json_integer_value(json_object_get(ws, "ssh_port")));
	snprintf(opt_kh, sizeof(opt_kh), "UserKnownHostsFile=%s", kh);
	snprintf(dest, sizeof(dest), "%s@%s", user, host);
	json_decref(ws);

	av = calloc((size_t)(argc - rest) + 16, sizeof(char *));
	if (av == NULL)
		return EXIT_FAIL;
	av[n++] = "ssh";
	av[n++] = "-p";
	av[n++] = port;
	av[n++] = "-o";
	av[n++] = opt_kh;
	av[n++] = "-o";
	av[n++] = "GlobalKnownHostsFile=/dev/null";
	av[n++] = "-o";
	av[n++] = "StrictHostKeyChecking=yes";
	av[n++] = "-o";
	av[n++] = "HostKeyAlgorithms=ssh-ed25519";
	av[n++] = dest; /* ssh reads no options after the destination */
	for (int i = rest; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	execvp("ssh", av);
	perror("wsctl: ssh");
	free(av);
	return EXIT_FAIL;
}

const struct cmd cmd_ssh_entry = {
    "ssh",
    "ssh NAME|ID [-- COMMAND...]",
    "Log in to a workspace with ssh (or run COMMAND there). The workspace's host\n"
    "key is pinned, so ssh never asks whether to trust it.\n",
    cmd_ssh_exec,
};
