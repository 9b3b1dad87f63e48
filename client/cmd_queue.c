/*
 * wsctl queue (and wsctl admin queue): the starts waiting for GPUs, in
 * the order they will get them. Everyone sees positions and the GPUs
 * asked for; names only for their own; admins see all owners.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wsctl.h"

int
cmd_queue_show(int argc, char **argv, int admin)
{
	json_t *reply = NULL, *q;
	int json = 0, ret;
	size_t i;

	if (args_json(argc, argv, &json) == -1 || optind != argc) {
		fprintf(stderr, "usage: wsctl %squeue [--json]\n", admin ? "admin " : "");
		return EXIT_USAGE;
	}
	if ((ret = client_get(admin ? "/v1/admin/queue" : "/v1/queue", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	q = json_object_get(reply, "queue");
	printf("%lld of %lld GPUs free, %zu starts queued\n",
	       (long long)json_integer_value(json_object_get(reply, "free_gpus")),
	       (long long)json_integer_value(json_object_get(reply, "gpus")), json_array_size(q));
	if (json_array_size(q) == 0)
		goto out;
	printf("%-4s %-4s %-8s %-16s %-12s %s\n", "POS", "GPUS", "WAITING", "NAME", "OWNER",
	       "ESTIMATED START");
	for (i = 0; i < json_array_size(q); i++) {
		json_t *e = json_array_get(q, i), *eta = json_object_get(e, "estimated_start");
		double waited =
		    (double)time(NULL) - json_number_value(json_object_get(e, "queued_at"));
		char est[32] = "unknown", w[16];

		if (json_is_number(eta)) {
			time_t t = (time_t)json_number_value(eta);
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(est, sizeof(est), "%Y-%m-%d %H:%M", &tm);
		}
		snprintf(w, sizeof(w),
		         waited < 120    ? "%.0fs"
		         : waited < 7200 ? "%.0fm"
		                         : "%.1fh",
		         waited < 120    ? waited
		         : waited < 7200 ? waited / 60
		                         : waited / 3600);
		printf("%-4lld %-4lld %-8s %-16s %-12s %s\n",
		       (long long)json_integer_value(json_object_get(e, "position")),
		       (long long)json_integer_value(json_object_get(e, "gpus")), w,
		       json_string_value(json_object_get(e, "name")) ?: "-",
		       json_string_value(json_object_get(e, "owner"))
		           ?: (json_is_true(json_object_get(e, "mine")) ? "you" : "-"),
		       est);
	}
out:
	json_decref(reply);
	return EXIT_OK;
}

static int
cmd_queue_exec(int argc, char **argv)
{
	return cmd_queue_show(argc, argv, 0);
}

const struct cmd cmd_queue_entry = {
    "queue",
    "queue [--json]",
    "The starts waiting for GPUs (wsctl start --queue or --wait), in the order\n"
    "they will get them: position, GPUs asked for, time waited, and the\n"
    "estimated start (\"unknown\" when wsd knows no end of the GPUs' holders).\n"
    "Names are shown for your own starts only. Order: the fewest GPU-hours in\n"
    "the last 7 days first, first come among equals; a start that has waited\n"
    "queue_max_wait goes first; the head's GPUs are kept for it as they free.\n",
    cmd_queue_exec,
};
