/*
 * What more than one command prints: a workspace's times, GPUs and ssh
 * command (start, ls, show, admin ls), and tables of quota limits (quota,
 * admin quota). Values come from wsd's replies as they are.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "size.h"
#include "wsctl.h"

/* What each limit is, for tables. */
static const char *const limit_names[] = {"gpus", "workspaces", "memory",    "shm",
                                          "cpus", "lifetime",   "gpu_hours", "queued"};
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
	json_t *g;
	size_t i;

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

static void
print_limit(const char *name, json_t *v, char *buf, size_t len)
{
	if (v == NULL) {
		snprintf(buf, len, "-");
	} else if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
	} else if (strcmp(name, "memory") == 0 || strcmp(name, "shm") == 0) {
		size_format(json_integer_value(v), buf, len);
	} else if (strcmp(name, "lifetime") == 0) {
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
