/*
 * The words of notices. A notice names the workspace, what happened, why,
 * when, and the command that helps; every byte that came from a user
 * (names are validated already, evidence is wsd's own) is made printable
 * ASCII before it reaches a terminal, so a notice cannot move a cursor.
 */
#include "notice_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "xmalloc.h"

#define NOTICE_NAME(id, name) #name,
static const char *const kind_names[NOTICE_N] = {NOTICE_KINDS(NOTICE_NAME)};
#undef NOTICE_NAME

const char *
notice_kind_name(enum notice_kind k)
{
	return k < NOTICE_N ? kind_names[k] : "?";
}

enum notice_kind
notice_kind_from(const char *name)
{
	for (int k = 0; k < NOTICE_N; k++)
		if (name != NULL && strcmp(name, kind_names[k]) == 0)
			return (enum notice_kind)k;
	return NOTICE_N;
}

void
notice_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* Local time, as the user's clock on the server shows it. */
static void
notice_time(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

void
notice_message(const struct notice_event *e, char *buf, size_t len)
{
	char when[64], why[320] = "";
	const char *n = e->workspace;

	notice_time(e->deadline > 0 ? e->deadline : e->at, when, sizeof(when));
	if (e->why != NULL && e->why[0] != '\0')
		snprintf(why, sizeof(why), " (%s)", e->why);
	switch (e->kind) {
	case NOTICE_DISPATCHED:
		snprintf(buf, len, "Your queued workspace %s got its GPUs at %s and is starting.",
		         n, when);
		break;
	case NOTICE_READY:
		snprintf(buf, len, "Your queued workspace %s is ready since %s.", n, when);
		break;
	case NOTICE_IDLE_WARNING:
		snprintf(buf, len,
		         "Your workspace %s is idle%s; it will be stopped at %s unless it is used "
		         "(the home directory is kept).",
		         n, why, when);
		break;
	case NOTICE_RECLAIMED:
		snprintf(buf, len,
		         "Your workspace %s was stopped at %s because it was idle%s; the home "
		         "directory is kept.",
		         n, when, why);
		break;
	case NOTICE_LIFETIME_WARNING:
		snprintf(buf, len,
		         "Your workspace %s reaches the end of its lifetime at %s and will be "
		         "stopped then (the home directory is kept).",
		         n, when);
		break;
	case NOTICE_EXPIRED:
		snprintf(buf, len,
		         "Your workspace %s reached the end of its lifetime at %s and was stopped; "
		         "the home directory is kept.",
		         n, when);
		break;
	default:
		snprintf(buf, len, "Your workspace %s: %s.", n, notice_kind_name(e->kind));
		break;
	}
	notice_sanitize(buf);
}

void
notice_command(const struct notice_event *e, char *buf, size_t len)
{
	const char *n = e->workspace;

	switch (e->kind) {
	case NOTICE_DISPATCHED:
		snprintf(buf, len, "wsctl wait %s", n);
		break;
	case NOTICE_READY:
		snprintf(buf, len, "wsctl show %s", n);
		break;
	case NOTICE_IDLE_WARNING:
		snprintf(buf, len, "wsctl ssh %s", n);
		break;
	case NOTICE_LIFETIME_WARNING:
		snprintf(buf, len, "wsctl extend %s --by 1h", n);
		break;
	case NOTICE_RECLAIMED:
	case NOTICE_EXPIRED:
		snprintf(buf, len, "wsctl start --name %s", n);
		break;
	default:
		buf[0] = '\0';
		break;
	}
	notice_sanitize(buf);
}

static json_t *
notice_iso(double t)
{
	time_t s = (time_t)t;
	struct tm tm;
	char buf[32];

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *
notice_json(const struct notice_event *e)
{
	char msg[768], cmd[128];
	json_t *o;

	notice_message(e, msg, sizeof(msg));
	notice_command(e, cmd, sizeof(cmd));
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s}", "kind", notice_kind_name(e->kind),
	              "user", e->user, "uid", (json_int_t)e->uid, "workspace", e->workspace,
	              "workspace_id", e->workspace_id, "at", notice_iso(e->at), "message", msg);
	if (o == NULL)
		return NULL;
	if (e->deadline > 0)
		json_object_set_new(o, "deadline", notice_iso(e->deadline));
	if (cmd[0] != '\0')
		json_object_set_new(o, "command", json_string(cmd));
	return o;
}

void
notice_tty_text(const char *message, const char *command, const char *host, char *buf, size_t len)
{
	char m[768], c[128], h[64];

	snprintf(m, sizeof(m), "%s", message);
	snprintf(c, sizeof(c), "%s", command);
	snprintf(h, sizeof(h), "%s", host);
	notice_sanitize(m);
	notice_sanitize(c);
	notice_sanitize(h);
	/* A bell and a fresh line, as write(1) does; the tty adds the carriage returns. */
	if (c[0] != '\0')
		snprintf(buf, len, "\a\nMessage from wslab on %s:\n%s\n  Try: %s\n", h, m, c);
	else
		snprintf(buf, len, "\a\nMessage from wslab on %s:\n%s\n", h, m);
}

int
notice_tty_line(const char *line, size_t n, char *out, size_t outlen)
{
	size_t len = strnlen(line, n);

	if (len == 0 || len >= outlen || line[0] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-'))
			return 0;
	}
	memcpy(out, line, len);
	out[len] = '\0';
	return strstr(out, "//") == NULL;
}

int
notice_tty_ok(mode_t mode, uid_t owner, uid_t uid)
{
	return S_ISCHR(mode) && owner == uid && (mode & S_IWGRP) != 0;
}

char **
notice_argv(const char *command)
{
	char **argv = NULL;
	size_t n = 0;
	const char *p = command;

	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrndup(p, len);
		argv[n] = NULL;
		p += len;
	}
	return argv;
}

void
notice_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
