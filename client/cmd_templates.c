/*
 * wsctl templates: what a student can start, from wsd's /v1/info: each
 * template's image, description, and default and largest memory, /dev/shm
 * and CPUs. The default template is marked with "*".
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "size.h"
#include "wsctl.h"

/* "4g/64g": a default and a maximum size. */
static void
cmd_templates_range(json_t *t, const char *key, const char *max_key, char *buf, size_t len)
{
	char a[32], b[32];

	size_format(json_integer_value(json_object_get(t, key)), a, sizeof(a));
	size_format(json_integer_value(json_object_get(t, max_key)), b, sizeof(b));
	snprintf(buf, len, "%s/%s", a, b);
}

static int
cmd_templates_exec(int argc, char **argv)
{
	json_t *reply = NULL, *t;
	const char *deflt;
	int json = 0, ret;
	size_t i;

	if (args_json(argc, argv, &json) == -1 || optind != argc)
		return EXIT_USAGE;
	if ((ret = client_get("/v1/info", &reply)) != EXIT_OK)
		return ret;
	if (json) {
		json_t *out = json_object();

		/* Only these two members of /v1/info: no user or engine details. */
		json_object_set(out, "templates", json_object_get(reply, "templates"));
		json_object_set(out, "default_template",
		                json_object_get(reply, "default_template"));

		json_decref(reply);
		return client_print_json(out);
	}
	deflt = json_string_value(json_object_get(reply, "default_template"));
	printf("%-14s %-28s %-11s %-11s %-9s %s\n", "TEMPLATE", "IMAGE", "MEMORY", "SHM", "CPUS",
	       "DESCRIPTION");
	json_array_foreach(json_object_get(reply, "templates"), i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));
		char mem[32], shm[32], cpus[32], label[40];

		cmd_templates_range(t, "memory", "memory_max", mem, sizeof(mem));
		cmd_templates_range(t, "shm", "shm_max", shm, sizeof(shm));
		snprintf(cpus, sizeof(cpus), "%g/%g", json_number_value(json_object_get(t, "cpus")),
		         json_number_value(json_object_get(t, "cpus_max")));
		snprintf(label, sizeof(label), "%s%s", name ? name : "?",
		         deflt && name && strcmp(deflt, name) == 0 ? " *" : "");
		printf("%-14s %-28s %-11s %-11s %-9s %s\n", label,
		       json_string_value(json_object_get(t, "image")), mem, shm, cpus,
		       json_string_value(json_object_get(t, "description")));
	}
	printf("(default/largest per workspace; * the default template)\n");
	json_decref(reply);
	return EXIT_OK;
}

const struct cmd cmd_templates_entry = {
    "templates",
    "templates [--json]",
    "List the templates you can start (wsctl start --template NAME): image,\n"
    "description, and the default and largest memory, /dev/shm and CPUs.\n",
    cmd_templates_exec,
};
