/*
 * wsctl gpus: every GPU of the server, free or held. The holder's name is
 * shown to admins and to the holder; wsd says "busy" to everyone else.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "wsctl.h"

static int
cmd_gpus_exec(int argc, char **argv)
{
	json_t *reply = NULL, *g;
	int ret;
	int json = 0, node;
	size_t i;

	if (args_json(argc, argv, &json) == -1 || optind != argc)
		return EXIT_USAGE;
	if ((ret = client_get("/v1/gpus", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	if (json_array_size(json_object_get(reply, "gpus")) == 0) {
		printf("this server has no GPUs (inventory: %s)\n",
		       json_string_value(json_object_get(reply, "source")));
		json_decref(reply);
		return EXIT_OK;
	}
	/* Swarm mode: the lab's GPUs, each with its server. */
	node = json_object_get(json_array_get(json_object_get(reply, "gpus"), 0), "node") != NULL;
	if (node)
		printf("%-3s %-16s %-40s %s\n", "GPU", "NODE", "UUID", "HOLDER");
	else
		printf("%-3s %-24s %-17s %5s  %s\n", "GPU", "MODEL", "MEMORY", "UTIL", "HOLDER");
	json_array_foreach(json_object_get(reply, "gpus"), i, g)
	{
		const char *state = json_string_value(json_object_get(g, "state"));
		char mem[32], holder[96];

		snprintf(mem, sizeof(mem), "%lld/%lld MiB",
		         (long long)(json_integer_value(json_object_get(g, "memory_used")) >> 20),
		         (long long)(json_integer_value(json_object_get(g, "memory_total")) >> 20));
		if (state && strcmp(state, "held") == 0)
			snprintf(holder, sizeof(holder), "%s/%s",
			         json_string_value(json_object_get(g, "owner")),
			         json_string_value(json_object_get(g, "workspace")));
		else
			snprintf(holder, sizeof(holder), "%s", state ? state : "?");
		if (node) {
			printf("%-3lld %-16.16s %-40s %s\n",
			       (long long)json_integer_value(json_object_get(g, "index")),
			       json_string_value(json_object_get(g, "node")),
			       json_string_value(json_object_get(g, "uuid")), holder);
			continue;
		}
		printf("%-3lld %-24.24s %-17s %4lld%%  %s\n",
		       (long long)json_integer_value(json_object_get(g, "index")),
		       json_string_value(json_object_get(g, "name")), mem,
		       (long long)json_integer_value(json_object_get(g, "utilization")), holder);
	}
	printf("%lld free\n", (long long)json_integer_value(json_object_get(reply, "free")));
	json_decref(reply);
	return EXIT_OK;
}

const struct cmd cmd_gpus_entry = {
    "gpus",
    "gpus [--json]",
    "List the server's GPUs: model, memory, utilisation, and free or held (you see\n"
    "your own workspaces' names; admins see everyone's).\n",
    cmd_gpus_exec,
};
