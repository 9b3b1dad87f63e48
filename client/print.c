/*
 * What more than one command prints: a workspace's times, GPUs and ssh
 * command (start, ls, show, admin ls), and tables of quota limits (quota,
 * admin quota). Values come from wsd's replies as they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "size.h"
#include "wsctl.h"

/* What each limit is, for tables. */
static const char *const limit_names[] = {"gpus",   "workspaces", "memory",    "shm",
                                          "cpus",   "lifetime",   "gpu_hours", "idle_timeout",
                                          "queued", "extension"};
#define NLIMITS (sizeof(limit_names) / sizeof(limit_names[0]))

static void
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

static long long
parse_time(const char *iso)
{
	struct tm tm = {0};

	if (iso == NULL || strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

void
print_times(json_t *ws, char *age, char *left, size_t len)
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

int
print_idle(json_t *ws, char *idle, char *left, size_t len)
{
	const char *since = json_string_value(json_object_get(ws, "idle_since"));
	const char *at = json_string_value(json_object_get(ws, "reclaim_at"));

	if (since == NULL || at == NULL) {
		snprintf(idle, len, "-");
		snprintf(left, len, "-");
		return 0;
	}
	print_age((long long)time(NULL) - parse_time(since), idle, len);
	print_age(parse_time(at) - (long long)time(NULL), left, len);
	return 1;
}

void
print_gpu_list(json_t *ws, char *buf, size_t len)
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
	const char *node = json_string_value(json_object_get(ws, "node"));
	const char *lost = json_string_value(json_object_get(ws, "lost_reason"));
	json_t *g;
	size_t i;

	/* Swarm mode: the server it runs on. */
	if (node != NULL)
		printf("Node:     %s (%s)\n", node,
		       json_string_value(json_object_get(ws, "node_status")));
	if (lost != NULL)
		printf("Lost:     %s\n", lost);

	json_array_foreach(json_object_get(ws, "gpus"), i, g) printf(
	    "GPU:      %lld %s (%s)\n", (long long)json_integer_value(json_object_get(g, "index")),
	    json_string_value(json_object_get(g, "name")),
	    json_string_value(json_object_get(g, "uuid")));
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

const char *
print_url_path(const char *url)
{
	const char *p = url != NULL ? strstr(url, "://") : NULL;

	return p != NULL && (p = strchr(p + 3, '/')) != NULL ? p : NULL;
}

/*
 * In an SSH session on a server whose workspace ports are on loopback,
 * the Jupyter URL works only here: say how to reach it from the machine
 * the student came from. Quiet when wsd does not say.
 */
void
print_laptop(json_t *ws)
{
	const char *path = print_url_path(json_string_value(json_object_get(ws, "jupyter_url")));
	const char *jump, *addr, *colon;
	json_t *info = NULL;
	long status;
	char host[300], port[32] = "";
	int v6;

	if (getenv("SSH_CONNECTION") == NULL || path == NULL ||
	    client_call("GET", "/v1/info", NULL, &info, NULL, NULL, &status) == -1 ||
	    status != 200 || !json_is_true(json_object_get(info, "ports_local")))
		goto out;
	jump = json_string_value(json_object_get(info, "ssh_jump_host"));
	addr = json_string_value(json_object_get(info, "workspace_address"));
	if (jump == NULL || addr == NULL)
		goto out;
	/* host[:port] as wsd.conf has it, into ssh's -p and host ([v6] unbracketed). */
	colon = strrchr(jump, ':');
	if (colon != NULL && (jump[0] != '[' || colon[-1] == ']'))
		snprintf(port, sizeof(port), "-p %s ", colon + 1);
	else
		colon = jump + strlen(jump);
	if (jump[0] == '[')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - jump) - 2, jump + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - jump), jump);
	v6 = strchr(addr, ':') != NULL;
	printf("Laptop:   ssh -N -L 8888:%s%s%s:%lld %s%s@%s\n", v6 ? "[" : "", addr, v6 ? "]" : "",
	       (long long)json_integer_value(json_object_get(ws, "jupyter_port")), port,
	       json_string_value(json_object_get(ws, "ssh_user")), host);
	printf("          then http://127.0.0.1:8888%s\n", path);
	printf("          or once, for ssh, scp and VS Code: wsctl help ssh-config\n");
out:
	json_decref(info);
}

static void
print_limit(const char *name, json_t *v, char *buf, size_t len)
{
	if (v == NULL) {
		snprintf(buf, len, "-");
	} else if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
	} else if (strcmp(name, "memory") == 0 || strcmp(name, "shm") == 0) {
		size_format(json_integer_value(v), buf, len);
	} else if (strcmp(name, "lifetime") == 0 || strcmp(name, "idle_timeout") == 0 ||
	           strcmp(name, "extension") == 0) {
		long long s = json_integer_value(v);

		if (s % 3600 == 0)
			snprintf(buf, len, "%lldh", s / 3600);
		else
			snprintf(buf, len, "%llds", s);
	} else {
		snprintf(buf, len, "%g", json_number_value(v));
	}
}

void
print_limits_header(void)
{
	printf("%-24s", "WHO");
	for (size_t i = 0; i < NLIMITS; i++)
		printf(" %10s", limit_names[i]);
	printf("\n");
}

void
print_limits_row(const char *who, json_t *limits)
{
	printf("%-24s", who);
	for (size_t i = 0; i < NLIMITS; i++) {
		char b[32];

		print_limit(limit_names[i], json_object_get(limits, limit_names[i]), b, sizeof(b));
		printf(" %10s", b);
	}
	printf("\n");
}

void
print_quota(json_t *e)
{
	json_t *lim = json_object_get(e, "limits"), *from = json_object_get(e, "from");
	json_t *use = json_object_get(e, "use");

	printf("User:     %s (uid %lld)\n", json_string_value(json_object_get(e, "user")),
	       (long long)json_integer_value(json_object_get(e, "uid")));
	for (size_t i = 0; i < NLIMITS; i++) {
		char b[32];
		json_t *u = json_object_get(use, limit_names[i]);

		print_limit(limit_names[i], json_object_get(lim, limit_names[i]), b, sizeof(b));
		printf("%-11s %-10s", limit_names[i], b);
		if (u != NULL)
			printf(" in use: %-8g", json_number_value(u));
		else
			printf(" %16s", "");
		printf(" (%s)\n", json_string_value(json_object_get(from, limit_names[i])));
	}
}
