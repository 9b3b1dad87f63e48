/* wsctl ls and wsctl show. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "size.h"
#include "wsctl.h"

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
cmd_ls_exec(int argc, char **argv)
{
	json_t *reply = NULL, *ws;
	int ret;
	int json = 0;
	size_t i;

	if (args_json(argc, argv, &json) == -1 || optind != argc)
		return EXIT_USAGE;
	if ((ret = client_get("/v1/workspaces", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	printf("%-16s %-12s %-9s %-10s %-7s %5s %7s %6s %6s %5s %8s %s\n", "NAME", "ID", "STATE",
	       "TEMPLATE", "GPUS", "CPUS", "MEMORY", "SHM", "SSH", "AGE", "EXPIRES", "IDLE");
	json_array_foreach(json_object_get(reply, "workspaces"), i, ws)
	{
		char mem[32], shm[32], age[16], gpus[64], left[16], idle[16], reclaim[16], il[48];

		size_format(json_integer_value(json_object_get(ws, "memory")), mem, sizeof(mem));
		size_format(json_integer_value(json_object_get(ws, "shm")), shm, sizeof(shm));
		print_times(ws, age, left, sizeof(age));
		print_gpu_list(ws, gpus, sizeof(gpus));
		if (print_idle(ws, idle, reclaim, sizeof(idle)))
			snprintf(il, sizeof(il), "%s, reclaimed in %s", idle, reclaim);
		else
			snprintf(il, sizeof(il), "-");
		printf("%-16s %-12s %-9s %-10s %-7s %5g %7s %6s %6lld %5s %8s %s\n",
		       json_string_value(json_object_get(ws, "name")),
		       json_string_value(json_object_get(ws, "id")),
		       json_string_value(json_object_get(ws, "state")),
		       json_string_value(json_object_get(ws, "template")), gpus,
		       json_number_value(json_object_get(ws, "cpus")), mem, shm,
		       (long long)json_integer_value(json_object_get(ws, "ssh_port")), age, left,
		       il);
	}
	json_decref(reply);
	return EXIT_OK;
}

static int
cmd_show_exec(int argc, char **argv)
{
	json_t *ws = NULL;
	char path[600], mem[32], shm[32], idle[16], reclaim[16];
	int ret;
	int json = 0;
	const char *url;

	if (args_json(argc, argv, &json) == -1 || optind != argc - 1) {
		fprintf(stderr, "usage: wsctl show NAME|ID [--json]\n");
		return EXIT_USAGE;
	}
	if (client_ws_path(argv[optind], path, sizeof(path)) == -1)
		return EXIT_USAGE;
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
	if (print_idle(ws, idle, reclaim, sizeof(idle)))
		printf("Idle:     %s, reclaimed in %s unless used (the home is kept)\n", idle,
		       reclaim);
	printf("Container: %.12s\n", json_string_value(json_object_get(ws, "container_id")));
	print_gpus(ws);
	print_mounts(ws);
	url = json_string_value(json_object_get(ws, "jupyter_url"));
	if (url != NULL)
		printf("Jupyter:  %s\n", url);
	print_ssh_command(ws);
	print_laptop(ws);
	json_decref(ws);
	return EXIT_OK;
}

const struct cmd cmd_ls_entry = {
    "ls",
    "ls [--json]",
    "List your workspaces.\n",
    cmd_ls_exec,
};

const struct cmd cmd_show_entry = {
    "show",
    "show NAME|ID [--json]",
    "Show one workspace: state, limits, Jupyter URL, ssh command.\n",
    cmd_show_exec,
};
