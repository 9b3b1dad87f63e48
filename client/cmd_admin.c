/*
 * wsctl admin: quotas, every workspace, usage and the audit log. wsd
 * decides who is an admin; this file only turns command lines into
 * requests and replies into tables.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"
#include "wsctl.h"

static int
admin_ls(int argc, char **argv)
{
	json_t *reply = NULL, *ws;
	int json = 0, ret;
	size_t i;

	if (args_json(argc, argv, &json) == -1 || optind != argc) {
		fprintf(stderr, "usage: wsctl admin ls [--json]\n");
		return EXIT_USAGE;
	}
	if ((ret = client_get("/v1/admin/workspaces", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	printf("%-12s %-16s %-12s %-9s %-7s %7s %6s %5s %8s\n", "OWNER", "NAME", "ID", "STATE",
	       "GPUS", "MEMORY", "SSH", "AGE", "EXPIRES");
	json_array_foreach(json_object_get(reply, "workspaces"), i, ws)
	{
		char mem[32], age[16], gpus[64], left[16];

		size_format(json_integer_value(json_object_get(ws, "memory")), mem, sizeof(mem));
		print_times(ws, age, left, sizeof(age));
		print_gpu_list(ws, gpus, sizeof(gpus));
		printf("%-12s %-16s %-12s %-9s %-7s %7s %6lld %5s %8s\n",
		       json_string_value(json_object_get(ws, "owner")),
		       json_string_value(json_object_get(ws, "name")),
		       json_string_value(json_object_get(ws, "id")),
		       json_string_value(json_object_get(ws, "state")), gpus, mem,
		       (long long)json_integer_value(json_object_get(ws, "ssh_port")), age, left);
	}
	ws = json_object_get(reply, "boot");
	if (json_is_object(ws)) {
		if (json_is_true(json_object_get(ws, "paced")))
			printf(
			    "booting %lld (limit now %lld, between %lld and %lld), pending %lld\n",
			    (long long)json_integer_value(json_object_get(ws, "booting")),
			    (long long)json_integer_value(json_object_get(ws, "limit")),
			    (long long)json_integer_value(json_object_get(ws, "min")),
			    (long long)json_integer_value(json_object_get(ws, "max")),
			    (long long)json_integer_value(json_object_get(ws, "pending")));
		else
			printf("booting %lld (pacing off)\n",
			       (long long)json_integer_value(json_object_get(ws, "booting")));
	}
	json_decref(reply);
	return EXIT_OK;
}

static int
admin_stop(int argc, char **argv)
{
	char path[300], *slash;
	json_t *ws = NULL;
	long status;
	int ret = EXIT_OK;

	if (argc == 2 && args_check("OWNER/NAME", argv[1]) == -1)
		return EXIT_USAGE;
	if (argc != 2 || (slash = strchr(argv[1], '/')) == NULL || slash == argv[1] ||
	    slash[1] == '\0' || strlen(argv[1]) > 200 || strchr(slash + 1, '/') != NULL ||
	    strspn(argv[1], "abcdefghijklmnopqrstuvwxyz0123456789_.-/") != strlen(argv[1])) {
		fprintf(stderr, "usage: wsctl admin stop OWNER/NAME\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/admin/workspaces/%s", argv[1]);
	if (client_call("DELETE", path, NULL, &ws, NULL, NULL, &status) == -1)
		return EXIT_CONN;
	if (status != 200)
		ret = client_error(ws, status);
	else
		printf("stopped %s/%s; home directory kept\n",
		       json_string_value(json_object_get(ws, "owner")),
		       json_string_value(json_object_get(ws, "name")));
	json_decref(ws);
	return ret;
}

/*
 * A limit's value from the command line (option what): a number, or a word
 * wsd checks. NULL, said why, when it cannot be sent.
 */
static json_t *
limit_value(const char *name, const char *what, const char *arg)
{
	char *end;

	if (strcmp(arg, "inherit") == 0)
		return json_null();
	if (strcmp(name, "gpus") == 0 || strcmp(name, "workspaces") == 0 ||
	    strcmp(name, "queued") == 0) {
		long long n = strtoll(arg, &end, 10);

		if (*arg != '\0' && *end == '\0')
			return json_integer(n);
	} else if (strcmp(name, "cpus") == 0 || strcmp(name, "gpu_hours") == 0) {
		double d = strtod(arg, &end);

		if (*arg != '\0' && *end == '\0')
			return json_real(d);
	}
	return args_string(what, arg);
}

static int
admin_quota(int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	                                     {"group", required_argument, NULL, 'g'},
	                                     {"gpus", required_argument, NULL, 'G'},
	                                     {"workspaces", required_argument, NULL, 'w'},
	                                     {"memory", required_argument, NULL, 'm'},
	                                     {"shm", required_argument, NULL, 's'},
	                                     {"cpus", required_argument, NULL, 'c'},
	                                     {"lifetime", required_argument, NULL, 'l'},
	                                     {"gpu-hours", required_argument, NULL, 'H'},
	                                     {"idle-timeout", required_argument, NULL, 'I'},
	                                     {"queued", required_argument, NULL, 'Q'},
	                                     {"extension", required_argument, NULL, 'E'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {NULL, 0, NULL, 0}};
	const char *verb, *user = NULL, *group = NULL;
	json_t *body = json_object(), *reply = NULL;
	char path[200], what[32];
	long status;
	int ch, idx, json = 0, ret = EXIT_USAGE;

	if (argc < 2)
		goto usage;
	verb = argv[1];
	optind = 0;
	while ((ch = getopt_long(argc - 1, argv + 1, "", opts, &idx)) != -1) {
		const char *name = NULL;
		json_t *v;

		switch (ch) {
		case 'u':
			user = optarg;
			continue;
		case 'g':
			group = optarg;
			continue;
		case 'j':
			json = 1;
			continue;
		case 'G':
			name = "gpus";
			break;
		case 'w':
			name = "workspaces";
			break;
		case 'm':
			name = "memory";
			break;
		case 's':
			name = "shm";
			break;
		case 'c':
			name = "cpus";
			break;
		case 'l':
			name = "lifetime";
			break;
		case 'H':
			name = "gpu_hours";
			break;
		case 'I':
			name = "idle_timeout";
			break;
		case 'Q':
			name = "queued";
			break;
		case 'E':
			name = "extension";
			break;
		default:
			goto usage;
		}
		/* Every option is long, so idx names it. */
		snprintf(what, sizeof(what), "--%s", opts[idx].name);
		if ((v = limit_value(name, what, optarg)) == NULL)
			goto out;
		json_object_set_new(body, name, v);
	}
	if (optind != argc - 1 || (user && group))
		goto usage;
	if (user != NULL &&
	    args_path(path, sizeof(path), "/v1/admin/quotas/user/", "--user", user) == -1)
		goto out;
	if (group != NULL &&
	    args_path(path, sizeof(path), "/v1/admin/quotas/group/", "--group", group) == -1)
		goto out;
	if (strcmp(verb, "set") == 0) {
		if (!(user || group) || json_object_size(body) == 0)
			goto usage;
		if (client_call("PUT", path, body, &reply, NULL, NULL, &status) == -1) {
			ret = EXIT_CONN;
			goto out;
		}
	} else if (strcmp(verb, "rm") == 0) {
		if (!(user || group) || json_object_size(body) != 0)
			goto usage;
		if (client_call("DELETE", path, NULL, &reply, NULL, NULL, &status) == -1) {
			ret = EXIT_CONN;
			goto out;
		}
	} else if (strcmp(verb, "show") == 0) {
		if (json_object_size(body) != 0)
			goto usage;
		if (client_call("GET", user || group ? path : "/v1/admin/quotas", NULL, &reply,
		                NULL, NULL, &status) == -1) {
			ret = EXIT_CONN;
			goto out;
		}
	} else {
		goto usage;
	}
	if (status != 200) {
		ret = client_error(reply, status);
		goto out;
	}
	if (json) {
		ret = client_print_json(reply);
		reply = NULL;
		goto out;
	}
	ret = EXIT_OK;
	if (strcmp(verb, "rm") == 0) {
		printf("removed the quota of %s %s\n", user ? "user" : "group",
		       user ? user : group);
	} else if (strcmp(verb, "set") == 0) {
		print_limits_header();
		snprintf(path, sizeof(path), "%s %s", user ? "user" : "group", user ? user : group);
		print_limits_row(path, json_object_get(reply, "limits"));
	} else if (!(user || group)) {
		json_t *e;
		size_t i;

		print_limits_header();
		print_limits_row("default", json_object_get(reply, "defaults"));
		json_array_foreach(json_object_get(reply, "entries"), i, e)
		{
			snprintf(path, sizeof(path), "%s %s",
			         json_string_value(json_object_get(e, "kind")),
			         json_string_value(json_object_get(e, "name")));
			print_limits_row(path, json_object_get(e, "limits"));
		}
	} else {
		json_t *e = json_object_get(reply, "entry");

		if (json_object_get(reply, "effective") != NULL)
			print_quota(json_object_get(reply, "effective"));
		printf("Own entry: ");
		if (json_is_object(e)) {
			printf("\n");
			print_limits_header();
			print_limits_row(path + strlen("/v1/admin/quotas/"),
			                 json_object_get(e, "limits"));
		} else {
			printf("none (group entries and the default apply)\n");
		}
	}
	goto out;
usage:
	fprintf(stderr, "usage: wsctl admin quota set --user U | --group G [--gpus N] "
	                "[--workspaces N]\n"
	                "           [--memory SIZE] [--shm SIZE] [--cpus N] [--lifetime DURATION] "
	                "[--gpu-hours N] [--queued N]\n"
	                "           [--idle-timeout DURATION] [--extension DURATION]\n"
	                "       wsctl admin quota show [--user U | --group G] [--json]\n"
	                "       wsctl admin quota rm --user U | --group G\n");
out:
	json_decref(body);
	json_decref(reply);
	return ret;
}

/* usage and audit: GET with an optional since, as a table or JSON. */
static int
admin_report(int argc, char **argv, const char *what)
{
	static const struct option opts[] = {{"since", required_argument, NULL, 's'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {NULL, 0, NULL, 0}};
	char path[200];
	const char *since = NULL;
	json_t *reply = NULL, *r;
	int ch, json = 0, ret, n;
	size_t i;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			since = optarg;
		else if (ch == 'j')
			json = 1;
		else
			goto usage;
	}
	if (since != NULL && args_check("--since", since) == -1)
		return EXIT_USAGE;
	if (optind != argc || (since && strspn(since, "0123456789-:TZsmhdw") != strlen(since)))
		goto usage;
	/* since is plain ASCII now: no escaping, but never cut short. */
	n = snprintf(path, sizeof(path), "/v1/admin/%s%s%s", what, since ? "?since=" : "",
	             since ? since : "");
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "wsctl: --since: too long\n");
		return EXIT_USAGE;
	}
	if ((ret = client_get(path, &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	if (strcmp(what, "usage") == 0) {
		printf("usage from %s to %s\n", json_string_value(json_object_get(reply, "since")),
		       json_string_value(json_object_get(reply, "until")));
		printf("%-16s %8s %12s %16s %11s\n", "USER", "UID", "GPU-HOURS", "WORKSPACE-HOURS",
		       "WORKSPACES");
		json_array_foreach(json_object_get(reply, "users"), i, r)
		    printf("%-16s %8lld %12.3f %16.3f %11lld\n",
		           json_string_value(json_object_get(r, "user")),
		           (long long)json_integer_value(json_object_get(r, "uid")),
		           json_number_value(json_object_get(r, "gpu_hours")),
		           json_number_value(json_object_get(r, "workspace_hours")),
		           (long long)json_integer_value(json_object_get(r, "workspaces")));
	} else {
		printf("%-20s %-12s %-17s %-24s %-9s %s\n", "WHEN", "WHO", "ACTION", "TARGET",
		       "RESULT", "DETAIL");
		json_array_foreach(json_object_get(reply, "events"), i, r)
		    printf("%-20s %-12s %-17s %-24s %-9s %s\n",
		           json_string_value(json_object_get(r, "at")),
		           json_string_value(json_object_get(r, "actor")),
		           json_string_value(json_object_get(r, "action")),
		           json_string_value(json_object_get(r, "target")),
		           json_string_value(json_object_get(r, "result")),
		           json_string_value(json_object_get(r, "detail")));
	}
	json_decref(reply);
	return EXIT_OK;
usage:
	fprintf(stderr, "usage: wsctl admin %s [--since DATE|DURATION] [--json]\n", what);
	return EXIT_USAGE;
}

/* admin nodes: the servers of a lab in swarm mode. */
static int
admin_nodes(int argc, char **argv)
{
	json_t *reply = NULL, *n;
	int ret, json = 0;
	size_t i;

	if (argc >= 2 && (strcmp(argv[1], "rm") == 0 || strcmp(argv[1], "drain") == 0 ||
	                  strcmp(argv[1], "undrain") == 0)) {
		const char *verb = argv[1];
		char path[200];
		long status = 0;

		if (argc != 3 || strlen(argv[2]) > 64 || strchr(argv[2], '/') != NULL ||
		    argv[2][0] == '\0') {
			fprintf(stderr, "usage: wsctl admin nodes %s NODE\n", verb);
			return EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/v1/admin/nodes/%s%s", argv[2],
		         strcmp(verb, "rm") == 0 ? "" : "/drain");
		if (client_call(strcmp(verb, "drain") == 0 ? "POST" : "DELETE", path, NULL, &reply,
		                NULL, NULL, &status) == -1)
			return EXIT_CONN;
		if (status != 200)
			return client_error(reply, status);
		if (strcmp(verb, "rm") == 0)
			printf("node %s removed; %lld workspaces on it released\n", argv[2],
			       (long long)json_integer_value(json_object_get(reply, "workspaces")));
		else if (strcmp(verb, "drain") == 0)
			printf("node %s takes no new workspaces; those running there stay\n",
			       argv[2]);
		else
			printf("node %s takes new workspaces again\n", argv[2]);
		json_decref(reply);
		return EXIT_OK;
	}
	if (args_json(argc, argv, &json) == -1 || optind != argc) {
		fprintf(stderr,
		        "usage: wsctl admin nodes [--json] | nodes drain|undrain|rm NODE\n");
		return EXIT_USAGE;
	}
	if ((ret = client_get("/v1/admin/nodes", &reply)) != EXIT_OK)
		return ret;
	if (json)
		return client_print_json(reply);
	printf("%-20s %-16s %-14s %-9s %10s %s\n", "NODE", "ADDRESS", "STATUS", "ENGINE",
	       "GPUS HELD", "WORKSPACES");
	json_array_foreach(json_object_get(reply, "nodes"), i, n)
	{
		const char *unfit = json_string_value(json_object_get(n, "unfit"));

		printf("%-20.20s %-16.16s %-14s %-9.9s %4lld/%-5lld %lld%s\n",
		       json_string_value(json_object_get(n, "hostname")),
		       json_string_value(json_object_get(n, "address")),
		       json_string_value(json_object_get(n, "status")),
		       json_string_value(json_object_get(n, "engine")),
		       (long long)json_integer_value(json_object_get(n, "gpus_held")),
		       (long long)json_integer_value(json_object_get(n, "gpus")),
		       (long long)json_integer_value(json_object_get(n, "workspaces")),
		       json_is_true(json_object_get(n, "manager")) ? " (manager)" : "");
		if (unfit != NULL &&
		    strcmp(json_string_value(json_object_get(n, "status")) ?: "", "unfit") == 0)
			printf("    not used: %s\n", unfit);
	}
	json_decref(reply);
	return EXIT_OK;
}

static int
cmd_admin_exec(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "ls") == 0)
		return admin_ls(argc - 1, argv + 1);
	if (strcmp(argv[1], "stop") == 0)
		return admin_stop(argc - 1, argv + 1);
	if (strcmp(argv[1], "quota") == 0)
		return admin_quota(argc - 1, argv + 1);
	if (strcmp(argv[1], "queue") == 0)
		return cmd_queue_show(argc - 1, argv + 1, 1);
	if (strcmp(argv[1], "nodes") == 0)
		return admin_nodes(argc - 1, argv + 1);
	if (strcmp(argv[1], "usage") == 0)
		return admin_report(argc - 1, argv + 1, "usage");
	if (strcmp(argv[1], "audit") == 0)
		return admin_report(argc - 1, argv + 1, "audit");
usage:
	fprintf(stderr,
	        "usage: wsctl admin ls|stop|queue|nodes|quota|usage|audit ... (see wsctl help "
	        "admin)\n");
	return EXIT_USAGE;
}

const struct cmd cmd_admin_entry = {
    "admin",
    "admin ls [--json] | stop OWNER/NAME | queue [--json] |\n"
    "              nodes [--json | drain|undrain|rm NODE] |\n"
    "              quota set|show|rm ... |\n"
    "              usage [--since DATE] [--json] | audit [--since DATE] [--json]",
    "Admin commands (root and members of the server's admin group; others get\n"
    "\"forbidden\" and nothing changes).\n"
    "\n"
    "  admin ls                      every workspace on the server\n"
    "  admin stop OWNER/NAME         stop anyone's workspace (the home is kept)\n"
    "  admin queue                   the queue of starts waiting for GPUs, with owners\n"
    "  admin nodes                   swarm mode: the lab's servers, their state, GPUs\n"
    "                                and workspaces, and why wsd does not use one\n"
    "  admin nodes drain NODE        swarm mode: no new workspaces there (running ones\n"
    "                                stay); undrain: it takes them again\n"
    "  admin nodes rm NODE           swarm mode: forget a node that is down for good;\n"
    "                                its workspaces' GPUs and ports are released\n"
    "  admin quota set --user U | --group G [--gpus N] [--workspaces N]\n"
    "        [--memory SIZE] [--shm SIZE] [--cpus N] [--lifetime DURATION] [--gpu-hours N]\n"
    "        [--idle-timeout DURATION] [--queued N] [--extension DURATION]\n"
    "                                set limits; a value may be \"unlimited\", or\n"
    "                                \"inherit\" to drop it from this entry\n"
    "  admin quota show [--user U | --group G] [--json]\n"
    "                                all entries and the default, or one entry (for a\n"
    "                                user: the limits that apply and the use)\n"
    "  admin quota rm --user U | --group G\n"
    "  admin usage [--since DATE]    GPU-hours and workspace-hours per user (default:\n"
    "                                the last 7 days; DATE like 2026-11-01 or 7d)\n"
    "  admin audit [--since DATE]    starts, stops, refusals and admin actions\n"
    "\n"
    "Precedence: a user's own entry, else the most generous of their groups'\n"
    "entries, else the default from wsd.conf; limit by limit.\n",
    cmd_admin_exec,
};
