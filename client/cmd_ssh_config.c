/*
 * wsctl ssh-config: OpenSSH configuration for the student's own machine,
 * so that `ssh wslab-NAME`, scp, sftp, rsync and VS Code's Remote-SSH reach
 * a workspace: through a ProxyJump over this server when its ports are on
 * loopback, its host key pinned as cmd_ssh.c pins it here (one file of
 * wslab's own, StrictHostKeyChecking). Meant to run over ssh and be
 * redirected on the laptop:
 *
 *     ssh lab01 wsctl ssh-config >> ~/.ssh/config
 *     ssh lab01 wsctl ssh-config --known-hosts > ~/.ssh/wslab_known_hosts
 *
 * The entries sit between "# BEGIN wslab" and "# END wslab" lines, so a
 * new run replaces the old block (see the help). Everything is collected
 * and checked before the first byte goes out: on any error stdout stays
 * empty and nothing half-written lands in the student's config. Tokens
 * never go into the config; the Jupyter URL is printed on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sshconf.h"
#include "wsctl.h"

struct ssh_config {
	json_t *info; /* wsd's /v1/info */
	json_t *ws;   /* the workspaces, in order */
	long jupyter_port;
	const char *known_hosts;
	char *conf, *known; /* the texts */
	size_t conf_len, known_len;
};

/* The workspaces named, or every ready one of the user's. */
static int
ssh_config_collect(struct ssh_config *c, int n, char **names)
{
	char path[600];
	json_t *ws, *all = NULL;
	size_t i;
	int ret;

	c->ws = json_array();
	for (int k = 0; k < n; k++) {
		if (client_ws_path(names[k], path, sizeof(path)) == -1)
			return EXIT_USAGE;
		if ((ret = client_get(path, &ws)) != EXIT_OK)
			return ret;
		json_array_append_new(c->ws, ws);
	}
	if (n > 0)
		return EXIT_OK;
	if ((ret = client_get("/v1/workspaces", &all)) != EXIT_OK)
		return ret;
	json_array_foreach(json_object_get(all, "workspaces"), i, ws)
	{
		const char *st = json_string_value(json_object_get(ws, "state"));

		if (st != NULL && strcmp(st, "ready") == 0)
			json_array_append(c->ws, ws);
	}
	json_decref(all);
	return EXIT_OK;
}

/* Both texts, every value checked; EXIT_OK or EXIT_FAIL after saying why. */
static int
ssh_config_build(struct ssh_config *c)
{
	const char *jump = json_string_value(json_object_get(c->info, "ssh_jump_host"));
	const char *addr = json_string_value(json_object_get(c->info, "workspace_address"));
	FILE *conf = open_memstream(&c->conf, &c->conf_len);
	FILE *known = open_memstream(&c->known, &c->known_len);
	int ret = EXIT_FAIL;
	char why[256];
	json_t *ws;
	size_t i;

	if (conf == NULL || known == NULL)
		goto out;
	fprintf(conf, SSHCONF_BEGIN " (wsctl ssh-config; a new run replaces this block: wsctl help "
	                            "ssh-config)\n");
	json_array_foreach(c->ws, i, ws)
	{
		const char *name = json_string_value(json_object_get(ws, "name"));
		const char *state = json_string_value(json_object_get(ws, "state"));
		struct sshconf_host h = {
		    .name = name,
		    /* Through the jump host: the address it reaches the ports at. */
		    .hostname =
		        jump != NULL ? addr : json_string_value(json_object_get(ws, "ssh_host")),
		    .port = (long)json_integer_value(json_object_get(ws, "ssh_port")),
		    .user = json_string_value(json_object_get(ws, "ssh_user")),
		    .jump = jump,
		    .host_key = json_string_value(json_object_get(ws, "ssh_host_key")),
		    .known_hosts = c->known_hosts,
		    .local_port = c->jupyter_port != 0 ? c->jupyter_port + (long)i : 0,
		    .inner_port =
		        (long)json_integer_value(json_object_get(c->info, "jupyter_inner_port")),
		};

		if (state == NULL || strcmp(state, "ready") != 0) {
			fprintf(stderr, "wsctl: workspace %s is %s, not ready\n",
			        name != NULL ? name : "?", state != NULL ? state : "unknown");
			goto out;
		}
		if (h.local_port > 65535) {
			fprintf(stderr, "wsctl: --jupyter-port %ld: %s would get port %ld\n",
			        c->jupyter_port, name, h.local_port);
			goto out;
		}
		if (sshconf_check(&h, why, sizeof(why)) == -1) {
			fprintf(stderr, "wsctl: %s\n", why);
			goto out;
		}
		if (sshconf_host(conf, &h) == -1 || sshconf_known(known, &h) == -1)
			goto out;
	}
	fprintf(conf, SSHCONF_END "\n");
	ret = EXIT_OK;
out:
	if (conf != NULL)
		fclose(conf);
	if (known != NULL)
		fclose(known);
	return ret;
}

/* Where Jupyter is, once `ssh wslab-NAME` runs: on stderr, for it holds the token. */
static void
ssh_config_jupyter(const struct ssh_config *c)
{
	json_t *ws;
	size_t i;

	json_array_foreach(c->ws, i, ws)
	{
		const char *path =
		    print_url_path(json_string_value(json_object_get(ws, "jupyter_url")));

		if (path != NULL)
			fprintf(stderr,
			        "wsctl: while ssh wslab-%s runs, Jupyter is at "
			        "http://127.0.0.1:%ld%s\n",
			        json_string_value(json_object_get(ws, "name")),
			        c->jupyter_port + (long)i, path);
	}
}

static int
cmd_ssh_config_exec(int argc, char **argv)
{
	static const struct option opts[] = {{"known-hosts", no_argument, NULL, 'k'},
	                                     {"write", required_argument, NULL, 'w'},
	                                     {"jupyter-port", required_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	struct ssh_config c = {0};
	const char *dir = NULL;
	char khpath[1100];
	int ch, known = 0, ret = EXIT_USAGE;

	c.known_hosts = SSHCONF_KNOWN_HOSTS;
	optind = 0; /* glibc: 0 rescans from scratch */
	while ((ch = getopt_long(argc, argv, "kw:p:", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			known = 1;
			break;
		case 'w':
			dir = optarg;
			break;
		case 'p': {
			char *end;

			errno = 0;
			c.jupyter_port = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
			    c.jupyter_port < 1 || c.jupyter_port > 65535) {
				fprintf(
				    stderr,
				    "wsctl: --jupyter-port: \"%s\" is not a port (1 to 65535)\n",
				    optarg);
				goto out;
			}
			break;
		}
		default:
			goto out;
		}
	}
	if (known && dir != NULL) {
		fprintf(stderr, "wsctl: --known-hosts and --write: --write writes both files\n");
		goto out;
	}
	if (dir != NULL) {
		/* The config names the known_hosts file beside it. */
		if (dir[0] != '/' || strlen(dir) > 1000) {
			fprintf(stderr, "wsctl: --write: give an absolute directory\n");
			goto out;
		}
		snprintf(khpath, sizeof(khpath), "%s/known_hosts", dir);
		c.known_hosts = khpath;
	}
	if ((ret = client_get("/v1/info", &c.info)) != EXIT_OK ||
	    (ret = ssh_config_collect(&c, argc - optind, argv + optind)) != EXIT_OK ||
	    (ret = ssh_config_build(&c)) != EXIT_OK)
		goto out;
	if (json_array_size(c.ws) == 0)
		fprintf(stderr, "wsctl: you have no ready workspace (wsctl start makes one)\n");
	if (dir != NULL) {
		ret = EXIT_FAIL;
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "wsctl: --write %s: %s\n", dir, strerror(errno));
			goto out;
		}
		snprintf(khpath, sizeof(khpath), "%s/config", dir);
		if (keys_commit(khpath, NULL, c.conf) == -1) {
			fprintf(stderr, "wsctl: %s: %s\n", khpath, strerror(errno));
			goto out;
		}
		snprintf(khpath, sizeof(khpath), "%s/known_hosts", dir);
		if (keys_commit(khpath, NULL, c.known) == -1) {
			fprintf(stderr, "wsctl: %s: %s\n", khpath, strerror(errno));
			goto out;
		}
		fprintf(stderr, "wsctl: wrote %s/config and %s (ssh -F %s/config wslab-NAME)\n",
		        dir, khpath, dir);
	} else {
		fwrite(known ? c.known : c.conf, 1, known ? c.known_len : c.conf_len, stdout);
	}
	if (c.jupyter_port != 0 && !known)
		ssh_config_jupyter(&c);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
	free(c.conf);
	free(c.known);
	json_decref(c.ws);
	json_decref(c.info);
	return ret;
}

const struct cmd cmd_ssh_config_entry = {
    "ssh-config",
    "ssh-config [--known-hosts | --write DIR] [--jupyter-port P] [NAME...]",
    "Print OpenSSH configuration for your own machine (a laptop): one entry\n"
    "\"Host wslab-NAME\" per ready workspace (or the ones named), which jumps\n"
    "through this server when workspace ports are on loopback and pins the\n"
    "workspace's host key. Then ssh, scp, sftp, rsync -e ssh and VS Code's\n"
    "Remote-SSH reach it as wslab-NAME. On the laptop:\n"
    "\n"
    "  sed -i.bak '/^# BEGIN wslab/,/^# END wslab/d' ~/.ssh/config\n"
    "  ssh lab01 wsctl ssh-config >> ~/.ssh/config\n"
    "  ssh lab01 wsctl ssh-config --known-hosts > ~/.ssh/wslab_known_hosts\n"
    "\n"
    "The first line removes the block an earlier run appended, so the three\n"
    "lines together replace it. Your laptop's key must be one this server\n"
    "accepts (~/.ssh/authorized_keys here) when the workspace starts.\n"
    "\n"
    "  --known-hosts     print the pinned keys (\"wslab-NAME ssh-ed25519 ...\")\n"
    "                    for ~/.ssh/wslab_known_hosts instead\n"
    "  --write DIR       write DIR/config and DIR/known_hosts (the config then\n"
    "                    names DIR/known_hosts) for ssh -F DIR/config on this host\n"
    "  --jupyter-port P  forward 127.0.0.1:P to Jupyter while ssh wslab-NAME runs\n"
    "                    (P+1 for the second workspace, ...); the URL with its\n"
    "                    token goes to stderr, never into the config\n",
    cmd_ssh_config_exec,
};
