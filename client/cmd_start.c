/*
 * wsctl start: ask wsd for a workspace and follow its progress, line by
 * line, until it is ready or has failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wsctl.h"

struct progress {
	int tty;
	int json;
	int step;
	int ok_printed; /* the current step's " ok" is out already (a wait for a boot slot followed)
	                 */
	double pending_t0; /* when the wait for a boot slot began; 0: none */
	double t0;
	json_t *ws;
	json_t *error;
};

static const struct {
	const char *phase;
	const char *label;
} phases[] = {
    {"preparing", "preparing ............."},
    {"creating", "creating container ...."},
    {"starting", "starting .............."},
    {"waiting", "waiting for Jupyter and SSH ..."},
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A paced start waits for a boot slot: "[0/4] waiting to boot: 12 ahead
 * of you, about 6 s", rewritten in place as the queue moves.
 */
static void
pending_line(struct progress *p, json_t *v)
{
	json_int_t ahead = json_integer_value(json_object_get(v, "ahead"));
	json_t *eta = json_object_get(v, "eta_s");

	if (!p->tty)
		return;
	if (p->pending_t0 == 0) {
		if (p->step >= 0)
			fprintf(stderr, " ok\n");
		p->ok_printed = 1;
		p->pending_t0 = now();
	}
	fprintf(stderr, "\r[0/4] waiting to boot: %lld ahead of you", (long long)ahead);
	if (json_is_number(eta))
		fprintf(stderr, ", about %.0f s", json_number_value(eta) + 0.5);
	fprintf(stderr, "\033[K");
}

static void
pending_end(struct progress *p)
{
	if (!p->tty || p->pending_t0 == 0)
		return;
	fprintf(stderr, "\r[0/4] waiting to boot ........ ok (%.1f s)\033[K\n",
	        now() - p->pending_t0);
	p->pending_t0 = 0;
}

static void
step_to(struct progress *p, int step)
{
	for (; p->tty && p->step < step; p->step++) {
		if (p->step >= 0 && !p->ok_printed)
			fprintf(stderr, " ok\n");
		p->ok_printed = 0;
		if (p->step + 1 < step || p->step + 1 < 4)
			fprintf(stderr, "[%d/4] %s", p->step + 2, phases[p->step + 1].label);
	}
}

static int
on_line(const char *line, size_t len, void *arg)
{
	struct progress *p = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *v;

	if (o == NULL)
		return 0;
	if ((v = json_object_get(o, "progress")) != NULL) {
		const char *phase = json_string_value(json_object_get(v, "phase"));

		if (phase && strcmp(phase, "pending") == 0) {
			pending_line(p, v);
			json_decref(o);
			return 0;
		}
		pending_end(p);
		for (int i = 0; phase && i < 4; i++)
			if (strcmp(phase, phases[i].phase) == 0 && p->tty)
				step_to(p, i);
	} else if ((v = json_object_get(o, "workspace")) != NULL) {
		p->ws = json_incref(v);
	} else if (json_object_get(o, "error") != NULL) {
		p->error = json_incref(o);
	}
	json_decref(o);
	return 0;
}

/* Append path's components to buf (length *n), each after a '/'. 0 or -1. */
static int
cmd_start_append(char *buf, size_t size, size_t *n, const char *path)
{
	while (*path != '\0') {
		size_t len = strcspn(path, "/");

		if (len > 0 && !(len == 1 && path[0] == '.')) {
			if (*n + len + 2 > size)
				return -1;
			buf[(*n)++] = '/';
			memcpy(buf + *n, path, len);
			*n += len;
		}
		path += len;
		while (*path == '/')
			path++;
	}
	return 0;
}

/*
 * SRC:DST[:ro|:rw] into {"source", "target", "read_only"}. A relative SRC
 * is taken from the current directory ("." and "//" dropped; ".." is left
 * for wsd to refuse). wsd checks everything again. NULL with a message
 * when the argument is malformed or cannot be sent.
 */
static json_t *
cmd_start_mount(const char *arg)
{
	char *copy, *dst, *mode, src[4096], cwd[4096];
	json_t *m = NULL;
	size_t n = 0;

	/* Checked first: the messages below print arg. */
	if (args_check("--mount", arg) == -1 || (copy = strdup(arg)) == NULL)
		return NULL;
	dst = strchr(copy, ':');
	if (dst == NULL || dst == copy || dst[1] == '\0') {
		fprintf(stderr, "wsctl: --mount \"%s\": expected SRC:DST or SRC:DST:ro\n", arg);
		goto out;
	}
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode != NULL) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0) {
			fprintf(stderr, "wsctl: --mount \"%s\": the third part must be ro or rw\n",
			        arg);
			goto out;
		}
	}
	cwd[0] = '\0';
	if (copy[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		fprintf(stderr, "wsctl: --mount: cannot find the current directory\n");
		goto out;
	}
	/* Join, dropping empty and "." components. */
	if (cmd_start_append(src, sizeof(src), &n, cwd) == -1 ||
	    cmd_start_append(src, sizeof(src), &n, copy) == -1) {
		fprintf(stderr, "wsctl: --mount: path too long\n");
		goto out;
	}
	if (n == 0)
		src[n++] = '/';
	src[n] = '\0';
	/* arg is valid UTF-8; the current directory need not be. */
	m = json_object();
	if (args_set(m, "source", "the current directory (for --mount)", src) == -1 ||
	    args_set(m, "target", "--mount", dst) == -1) {
		json_decref(m);
		m = NULL;
		goto out;
	}
	json_object_set_new(m, "read_only", json_boolean(mode != NULL && strcmp(mode, "ro") == 0));
out:
	free(copy);
	return m;
}

static int
cmd_start_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},    {"template", required_argument, NULL, 't'},
	    {"memory", required_argument, NULL, 'm'},  {"shm", required_argument, NULL, 's'},
	    {"cpus", required_argument, NULL, 'c'},    {"gpus", required_argument, NULL, 'g'},
	    {"gpu-ids", required_argument, NULL, 'G'}, {"mount", required_argument, NULL, 'M'},
	    {"json", no_argument, NULL, 'j'},          {NULL, 0, NULL, 0}};
	struct progress p = {0};
	json_t *body = json_object(), *reply = NULL, *keys;
	long status;
	int ch, ret = EXIT_FAIL;
	char path[600];

	p.step = -1;
	optind = 0; /* glibc: 0 rescans from scratch */
	while ((ch = getopt_long(argc, argv, "n:t:m:s:c:g:G:M:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (args_set(body, "name", "--name", optarg) == -1)
				goto usage;
			break;
		case 't':
			if (args_set(body, "template", "--template", optarg) == -1)
				goto usage;
			break;
		case 'm':
			if (args_set(body, "memory", "--memory", optarg) == -1)
				goto usage;
			break;
		case 's':
			if (args_set(body, "shm", "--shm", optarg) == -1)
				goto usage;
			break;
		case 'c': {
			char *end;
			double v = strtod(optarg, &end);

			if (end == optarg || *end != '\0') {
				fprintf(stderr, "wsctl: --cpus: \"%s\" is not a number\n", optarg);
				goto usage;
			}
			json_object_set_new(body, "cpus", json_real(v));
			break;
		}
		case 'g': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0') {
				fprintf(stderr, "wsctl: --gpus: \"%s\" is not a number\n", optarg);
				goto usage;
			}
			/* The server checks the range and says why. */
			json_object_set_new(body, "gpus", json_integer(v));
			break;
		}
		case 'G': {
			json_t *ids = json_array();
			char *copy, *save = NULL, *tok;

			if (args_check("--gpu-ids", optarg) == -1 ||
			    (copy = strdup(optarg)) == NULL) {
				json_decref(ids);
				goto usage;
			}
			for (tok = strtok_r(copy, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				if (args_append(ids, "--gpu-ids", tok) == -1)
					break;
			free(copy);
			json_object_set_new(body, "gpu_ids", ids);
			if (tok != NULL)
				goto usage;
			break;
		}
		case 'M': {
			json_t *m = cmd_start_mount(optarg);

			if (m == NULL)
				goto usage;
			if (json_object_get(body, "mounts") == NULL)
				json_object_set_new(body, "mounts", json_array());
			json_array_append_new(json_object_get(body, "mounts"), m);
			break;
		}
		case 'j':
			p.json = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "wsctl: start takes no arguments (see wsctl help start)\n");
		goto usage;
	}
	if ((keys = keys_collect()) == NULL)
		goto usage;
	json_object_set_new(body, "ssh_keys", keys);
	p.tty = isatty(2) && !p.json;
	p.t0 = now();
	if (client_call("POST", "/v1/workspaces", body, NULL, on_line, &p, &status) == -1) {
		ret = EXIT_CONN;
		goto out;
	}
	if (p.ws != NULL) {
		step_to(&p, 3);
		if (p.tty)
			fprintf(stderr, " ok (%.1f s)\n", now() - p.t0);
		ssh_pin(p.ws, path, sizeof(path));
		if (p.json) {
			json_dumpf(p.ws, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			printf("Jupyter:  %s\n",
			       json_string_value(json_object_get(p.ws, "jupyter_url")));
			print_gpus(p.ws);
			print_ssh_command(p.ws);
			print_laptop(p.ws);
		}
		ret = EXIT_OK;
	} else {
		if (p.tty && p.step >= 0)
			fprintf(stderr, " failed\n");
		/* A plain error reply arrives as one line too. */
		ret = client_error(p.error ? p.error : reply, status);
	}
	goto out;
usage:
	ret = EXIT_USAGE;
out:
	json_decref(p.ws);
	json_decref(p.error);
	json_decref(body);
	return ret;
}

const struct cmd cmd_start_entry = {
    "start",
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
    cmd_start_exec,
};
