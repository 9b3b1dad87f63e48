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

static void
step_to(struct progress *p, int step)
{
	for (; p->tty && p->step < step; p->step++) {
		if (p->step >= 0)
			fprintf(stderr, " ok\n");
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

int
cmd_start_exec(int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
	                                     {"template", required_argument, NULL, 't'},
	                                     {"memory", required_argument, NULL, 'm'},
	                                     {"shm", required_argument, NULL, 's'},
	                                     {"cpus", required_argument, NULL, 'c'},
	                                     {"gpus", required_argument, NULL, 'g'},
	                                     {"gpu-ids", required_argument, NULL, 'G'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {NULL, 0, NULL, 0}};
	struct progress p = {0};
	json_t *body = json_object(), *reply = NULL;
	long status;
	int ch, ret = EXIT_FAIL;
	char path[600];

	p.step = -1;
	optind = 0; /* glibc: 0 rescans from scratch */
	while ((ch = getopt_long(argc, argv, "n:t:m:s:c:g:G:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			json_object_set_new(body, "name", json_string(optarg));
			break;
		case 't':
			json_object_set_new(body, "template", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(body, "memory", json_string(optarg));
			break;
		case 's':
			json_object_set_new(body, "shm", json_string(optarg));
			break;
		case 'c': {
			char *end;
			double v = strtod(optarg, &end);

			if (end == optarg || *end != '\0') {
				fprintf(stderr, "wsctl: --cpus: \"%s\" is not a number\n", optarg);
				json_decref(body);
				return EXIT_USAGE;
			}
			json_object_set_new(body, "cpus", json_real(v));
			break;
		}
		case 'g': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0') {
				fprintf(stderr, "wsctl: --gpus: \"%s\" is not a number\n", optarg);
				json_decref(body);
				return EXIT_USAGE;
			}
			/* The server checks the range and says why. */
			json_object_set_new(body, "gpus", json_integer(v));
			break;
		}
		case 'G': {
			json_t *ids = json_array();
			char *copy = strdup(optarg), *save = NULL, *tok;

			for (tok = strtok_r(copy, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				json_array_append_new(ids, json_string(tok));
			free(copy);
			json_object_set_new(body, "gpu_ids", ids);
			break;
		}
		case 'j':
			p.json = 1;
			break;
		default:
			json_decref(body);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "wsctl: start takes no arguments (see wsctl help start)\n");
		json_decref(body);
		return EXIT_USAGE;
	}
	if (json_object_get(body, "name") != NULL &&
	    json_string_value(json_object_get(body, "name")) == NULL) {
		fprintf(stderr, "wsctl: --name is not valid UTF-8\n");
		json_decref(body);
		return EXIT_USAGE;
	}
	json_object_set_new(body, "ssh_keys", keys_collect());
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
		}
		ret = EXIT_OK;
	} else {
		if (p.tty && p.step >= 0)
			fprintf(stderr, " failed\n");
		/* A plain error reply arrives as one line too. */
		ret = client_error(p.error ? p.error : reply, status);
	}
out:
	json_decref(p.ws);
	json_decref(p.error);
	json_decref(body);
	return ret;
}
