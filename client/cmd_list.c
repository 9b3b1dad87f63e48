/* wsctl ls and wsctl show. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "size.h"
#include "wsctl.h"

void
print_age(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (s < 7200)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%lldh", s / 3600);
	else
		snprintf(buf, len, "%lldd", s / 86400);
}

long long
parse_time(const char *iso)
{
	struct tm tm = {0};

	if (iso == NULL || strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

void
ws_times(json_t *ws, char *age, char *left, size_t len)
{
	const char *exp = json_string_value(json_object_get(ws, "expires_at"));

	print_age((long long)time(NULL) -
	              parse_time(json_string_value(json_object_get(ws, "created_at"))),
	          age, len);
	if (exp != NULL)
		print_age(parse_time(exp) - (long long)time(NULL), left, len);
	else
		snprintf(left, len, "never");
}

void
print_ssh_command(json_t *ws)
{
	printf("SSH:      ssh -p %lld %s@%s   (or: wsctl ssh %s)\n",
	       (long long)json_integer_value(json_object_get(ws, "ssh_port")),
	       json_string_value(json_object_get(ws, "ssh_user")),
	       json_string_value(json_object_get(ws, "ssh_host")),
	       json_string_value(json_object_get(ws, "name")));
}

void
gpu_list(json_t *ws, char *buf, size_t len)
{
	json_t *g;
	size_t i, off = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(ws, "gpus"), i, g)
	{
		int n = snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
		                 (long long)json_integer_value(json_object_get(g, "index")));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, len, "-");
}

void
print_gpus(json_t *ws)
{
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(ws, "gpus"), i, g) printf(
	    "GPU:      %lld %s (%s)\n", (long long)json_integer_value(json_object_get(g, "index")),
	    json_string_value(json_object_get(g, "name")),
	    json_string_value(json_object_get(g, "uuid")));
}

static void
print_mounts(json_t *ws)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(ws, "mounts"), i, m)
	    printf("Mount:    %s -> %s%s\n", json_string_value(json_object_get(m, "source")),
	           json_string_value(json_object_get(m, "target")),
	           json_is_true(json_object_get(m, "read_only")) ? " (read-only)" : "");
}

static int
parse_json_flag(int argc, char **argv, int *json)
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

int
cmd_ls_exec(int argc, char **argv)
{
	json_t *reply = NULL, *ws;
	int ret;
	int json = 0;
	size_t i;

	if (parse_json_flag(argc, argv, &json) == -1 || optind != argc)
		return EXIT_USAGE;
	if ((ret = client_get("/v1/workspaces", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	printf("%-16s %-12s %-9s %-10s %-7s %5s %7s %6s %6s %5s %8s\n", "NAME", "ID", "STATE",
	       "TEMPLATE", "GPUS", "CPUS", "MEMORY", "SHM", "SSH", "AGE", "EXPIRES");
	json_array_foreach(json_object_get(reply, "workspaces"), i, ws)
	{
		char mem[32], shm[32], age[16], gpus[64], left[16];

		size_format(json_integer_value(json_object_get(ws, "memory")), mem, sizeof(mem));
		size_format(json_integer_value(json_object_get(ws, "shm")), shm, sizeof(shm));
		ws_times(ws, age, left, sizeof(age));
		gpu_list(ws, gpus, sizeof(gpus));
		printf("%-16s %-12s %-9s %-10s %-7s %5g %7s %6s %6lld %5s %8s\n",
		       json_string_value(json_object_get(ws, "name")),
		       json_string_value(json_object_get(ws, "id")),
		       json_string_value(json_object_get(ws, "state")),
		       json_string_value(json_object_get(ws, "template")), gpus,
		       json_number_value(json_object_get(ws, "cpus")), mem, shm,
		       (long long)json_integer_value(json_object_get(ws, "ssh_port")), age, left);
	}
	json_decref(reply);
	return EXIT_OK;
}

int
cmd_show_exec(int argc, char **argv)
{
	json_t *ws = NULL;
	char path[600], mem[32], shm[32];
	int ret;
	int json = 0;
	const char *url;

	if (parse_json_flag(argc, argv, &json) == -1 || optind != argc - 1) {
		fprintf(stderr, "usage: wsctl show NAME|ID [--json]\n");
		return EXIT_USAGE;
	}
	client_ws_path(argv[optind], path, sizeof(path));
	if ((ret = client_get(path, &ws)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(ws);
	size_format(json_integer_value(json_object_get(ws, "memory")), mem, sizeof(mem));
	size_format(json_integer_value(json_object_get(ws, "shm")), shm, sizeof(shm));
	printf("Name:     %s\n", json_string_value(json_object_get(ws, "name")));
	printf("ID:       %s\n", json_string_value(json_object_get(ws, "id")));
	printf("Owner:    %s\n", json_string_value(json_object_get(ws, "owner")));
	printf("State:    %s\n", json_string_value(json_object_get(ws, "state")));
	printf("Template: %s (%s)\n", json_string_value(json_object_get(ws, "template")),
	       json_string_value(json_object_get(ws, "image")));
	printf("Limits:   %g CPUs, %s memory, %s /dev/shm\n",
	       json_number_value(json_object_get(ws, "cpus")), mem, shm);
	printf("Created:  %s\n", json_string_value(json_object_get(ws, "created_at")));
	if (json_string_value(json_object_get(ws, "ready_at")))
		printf("Ready:    %s\n", json_string_value(json_object_get(ws, "ready_at")));
	if (json_string_value(json_object_get(ws, "expires_at")))
		printf("Expires:  %s (stopped then; the home is kept)\n",
		       json_string_value(json_object_get(ws, "expires_at")));
	printf("Container: %.12s\n", json_string_value(json_object_get(ws, "container_id")));
	print_gpus(ws);
	print_mounts(ws);
	url = json_string_value(json_object_get(ws, "jupyter_url"));
	if (url != NULL)
		printf("Jupyter:  %s\n", url);
	print_ssh_command(ws);
	json_decref(ws);
	return EXIT_OK;
}
