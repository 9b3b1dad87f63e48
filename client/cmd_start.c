/*
 * wsctl start: ask wsd for a workspace and follow its progress, line by
 * line, until it is ready or has failed. With --wait a start that finds
 * no free GPUs waits in wsd's queue (Ctrl-C cancels it); with --queue it
 * is queued and wsctl returns at once. start_follow (also wsctl wait)
 * follows a workspace again after wsd restarted.
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
	json_t *queued; /* the reply of a start that was queued (--queue) */
	char id[13];    /* of the workspace, from the first progress line */
	long position;  /* in the queue, last shown; 0: not queued */
	int restarting; /* wsd said it shuts down: come back */
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

/* "in 12 min", "at 14:05", or "unknown" (wsd knows no end of the GPUs' holders). */
static void
eta_text(json_t *eta, char *buf, size_t len)
{
	double s;

	if (!json_is_number(eta)) {
		snprintf(buf, len, "unknown");
		return;
	}
	s = json_number_value(eta) - (double)time(NULL);
	if (s < 60)
		snprintf(buf, len, "within a minute");
	else if (s < 7200)
		snprintf(buf, len, "in about %.0f min", s / 60);
	else
		snprintf(buf, len, "in about %.1f h", s / 3600);
}

/* Queued for GPUs: "[0/4] queued: position 2, estimated start in about 12 min". */
static void
queued_line(struct progress *p, json_t *v)
{
	long pos = (long)json_integer_value(json_object_get(v, "position"));
	char eta[48];

	eta_text(json_object_get(v, "estimated_start"), eta, sizeof(eta));
	if (p->tty) {
		fprintf(stderr,
		        "\r[0/4] queued for %lld GPUs: position %ld, estimated start %s\033[K",
		        (long long)json_integer_value(json_object_get(v, "gpus")), pos, eta);
	} else if (!p->json && pos != p->position) {
		fprintf(stderr, "queued: position %ld, estimated start %s\n", pos, eta);
	}
	if (p->position == 0 && p->pending_t0 == 0)
		p->pending_t0 = now();
	p->position = pos;
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
		const char *id = json_string_value(json_object_get(v, "id"));

		if (id != NULL && strlen(id) < sizeof(p->id))
			snprintf(p->id, sizeof(p->id), "%s", id);
		if (phase && strcmp(phase, "queued") == 0) {
			queued_line(p, v);
			json_decref(o);
			return 0;
		}
		if (p->position > 0) {
			if (p->tty)
				fprintf(stderr,
				        "\r[0/4] queued ................ ok (%.1f s)\033[K\n",
				        now() - p->pending_t0);
			p->position = 0;
			p->pending_t0 = 0;
		}
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
		const char *code =
		    json_string_value(json_object_get(json_object_get(o, "error"), "code"));

		if (code != NULL && strcmp(code, "wsd_restarting") == 0)
			p->restarting = 1;
		else
			p->error = json_incref(o);
	} else if (json_is_string(json_object_get(o, "state")) &&
	           strcmp(json_string_value(json_object_get(o, "state")), "queued") == 0) {
		p->queued = json_incref(o);
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

static int start_done(struct progress *p, long status);
static int start_queued(struct progress *p);

static int
cmd_start_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},    {"template", required_argument, NULL, 't'},
	    {"memory", required_argument, NULL, 'm'},  {"shm", required_argument, NULL, 's'},
	    {"cpus", required_argument, NULL, 'c'},    {"gpus", required_argument, NULL, 'g'},
	    {"gpu-ids", required_argument, NULL, 'G'}, {"mount", required_argument, NULL, 'M'},
	    {"json", no_argument, NULL, 'j'},          {"queue", no_argument, NULL, 'q'},
	    {"wait", no_argument, NULL, 'w'},          {NULL, 0, NULL, 0}};
	struct progress p = {0};
	json_t *body = json_object(), *keys;
	long status;
	int ch, ret = EXIT_FAIL, queue = 0, wait = 0;

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
		case 'q':
			queue = 1;
			break;
		case 'w':
			wait = 1;
			break;
		default:
			goto usage;
		}
	}
	if (queue && wait) {
		fprintf(stderr, "wsctl: --queue and --wait: choose one (--queue returns at once, "
		                "--wait waits until the workspace is ready)\n");
		goto usage;
	}
	if (queue)
		json_object_set_new(body, "queue", json_true());
	if (wait)
		json_object_set_new(body, "wait", json_true());
	if (optind != argc) {
		fprintf(stderr, "wsctl: start takes no arguments (see wsctl help start)\n");
		goto usage;
	}
	if ((keys = keys_collect()) == NULL)
		goto usage;
	json_object_set_new(body, "ssh_keys", keys);
	p.tty = isatty(2) && !p.json;
	p.t0 = now();
	if (client_call("POST", "/v1/workspaces", body, NULL, on_line, &p, &status) == -1 &&
	    !(wait && p.id[0] != '\0')) {
		ret = EXIT_CONN;
		goto out;
	}
	if (p.queued != NULL) {
		ret = start_queued(&p);
	} else if (p.ws != NULL || p.error != NULL || p.id[0] == '\0' || !wait) {
		ret = start_done(&p, status);
	} else {
		/* wsd went away while we waited: our start is on record; follow it again. */
		if (p.tty)
			fprintf(stderr, "\nwsctl: wsd restarts; following %s again\n", p.id);
		ret = start_follow(p.id, p.json);
	}
	goto out;
usage:
	ret = EXIT_USAGE;
out:
	json_decref(p.ws);
	json_decref(p.error);
	json_decref(p.queued);
	json_decref(body);
	return ret;
}

/* Ready (print it as start does) or failed (say why). */
static int
start_done(struct progress *p, long status)
{
	char path[600];

	if (p->ws != NULL) {
		step_to(p, 3);
		if (p->tty)
			fprintf(stderr, " ok (%.1f s)\n", now() - p->t0);
		ssh_pin(p->ws, path, sizeof(path));
		if (p->json) {
			json_dumpf(p->ws, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			printf("Jupyter:  %s\n",
			       json_string_value(json_object_get(p->ws, "jupyter_url")));
			print_gpus(p->ws);
			print_ssh_command(p->ws);
			print_laptop(p->ws);
		}
		return EXIT_OK;
	}
	if (p->tty && p->step >= 0)
		fprintf(stderr, " failed\n");
	/* A plain error reply arrives as one line too. */
	return client_error(p->error, status);
}

/* --queue: where it stands; wsctl wait, ls and stop take it from here. */
static int
start_queued(struct progress *p)
{
	json_t *q = p->queued;
	char eta[48];

	if (p->json) {
		json_dumpf(q, stdout, JSON_INDENT(2));
		putchar('\n');
		return EXIT_OK;
	}
	eta_text(json_object_get(q, "estimated_start"), eta, sizeof(eta));
	printf("%s queued: position %lld, %lld GPUs, estimated start %s\n",
	       json_string_value(json_object_get(q, "name")),
	       (long long)json_integer_value(json_object_get(q, "queue_position")),
	       (long long)json_integer_value(json_object_get(q, "gpus_requested")), eta);
	printf("wsctl wait %s waits until it is ready; wsctl stop %s cancels it\n",
	       json_string_value(json_object_get(q, "name")),
	       json_string_value(json_object_get(q, "name")));
	return EXIT_OK;
}

int
start_follow(const char *name_or_id, int json)
{
	struct progress p = {0};
	char path[600];
	double deadline = now() + WSCTL_REATTACH_S;
	long status = 0;
	size_t n;
	int ret;

	if (client_ws_path(name_or_id, path, sizeof(path) - 8) == -1)
		return EXIT_USAGE;
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/wait");
	p.json = json;
	p.tty = isatty(2) && !json;
	p.t0 = now();
	for (;;) {
		int rc;

		p.step = -1;
		p.restarting = 0;
		client_quiet = 1;
		rc = client_call("GET", path, NULL, NULL, on_line, &p, &status);
		client_quiet = 0;
		if (p.ws != NULL || p.error != NULL)
			break;
		if (rc == 0 && !p.restarting && status != 200) {
			break; /* a plain refusal without a line: say the status */
		}
		if (rc == 0)
			deadline = now() + WSCTL_REATTACH_S; /* it answered: a new restart */
		if (now() > deadline) {
			fprintf(stderr, "wsctl: wsd at %s did not come back within %d s\n",
			        wsctl_socket, WSCTL_REATTACH_S);
			return EXIT_CONN;
		}
		usleep(250 * 1000);
	}
	ret = start_done(&p, status);
	json_decref(p.ws);
	json_decref(p.error);
	json_decref(p.queued);
	return ret;
}

const struct cmd cmd_start_entry = {
    "start",
    "start [--name N] [--template T] [--memory SIZE] [--shm SIZE] [--cpus N]\n"
    "              [--gpus N | --gpu-ids LIST] [--mount SRC:DST[:ro]]... [--wait | --queue]\n"
    "              [--json]",
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
    "  --wait          when the GPUs are not free, wait in the queue until they are\n"
    "                  (Ctrl-C cancels and leaves nothing)\n"
    "  --queue         when the GPUs are not free, queue the start and return at once\n"
    "                  (wsctl wait NAME follows it, wsctl stop NAME cancels it)\n"
    "  --json          print the workspace as one JSON object\n"
    "\n"
    "The queue goes by the fewest GPU-hours in the last 7 days, first come among\n"
    "equals; a start that waited long goes first (see wsctl queue).\n",
    cmd_start_exec,
};
