/*
 * The user's SSH keys: every ~/.ssh/NAME.pub that libssh accepts, or a new
 * ed25519 key made with libssh when there is none. And the pinned host
 * keys of workspaces, in a known_hosts file of wslab's own.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sshkey.h"
#include "wsctl.h"

const char *
keys_home(void)
{
	static char home[512];
	struct passwd *pw;

	if (home[0] == '\0') {
		pw = getpwuid(getuid());
		snprintf(home, sizeof(home), "%s", pw && pw->pw_dir ? pw->pw_dir : "/");
	}
	return home;
}

static int
read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* 1 when keys holds line's key (type and base64; comments may differ). */
static int
keys_have(json_t *keys, const char *line)
{
	size_t n = strcspn(line, " "), i;
	json_t *k;

	n += strcspn(line + n + 1, " ") + 1;
	json_array_foreach(keys, i, k)
	{
		const char *s = json_string_value(k);

		if (strncmp(s, line, n) == 0 && (s[n] == '\0' || s[n] == ' '))
			return 1;
	}
	return 0;
}

/*
 * The keys that may log in to this server as the user: a student on a
 * laptop reaches workspaces with the key they reach the server with.
 * Only plain lines: a key with options (from=, command=, restrict) is
 * limited here and is not made broader in a workspace. Lines that are
 * not printable ASCII are left out rather than refused: the file is
 * sshd's, not wsctl's.
 */
static void
keys_authorized(json_t *keys, const char *dir)
{
	char path[700], line[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/authorized_keys", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && json_array_size(keys) < 16) {
		size_t n = strlen(line);
		int ascii = 1;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (line[i] < 0x20 || line[i] > 0x7e)
				ascii = 0;
		if (ascii && sshkey_check_public(line) == 0 && !keys_have(keys, line))
			args_append(keys, path, line);
	}
	fclose(f);
}

json_t *
keys_collect(void)
{
	char dir[600], path[1200], line[8192], pub[256], err[256];
	json_t *keys = json_array();
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/.ssh", keys_home());
	d = opendir(dir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL && json_array_size(keys) < 16) {
			size_t n = strlen(e->d_name);

			if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			/* A key whose comment is not UTF-8 is refused, not left out. */
			if (read_line(path, line, sizeof(line)) == 0 &&
			    sshkey_check_public(line) == 0 && args_append(keys, path, line) == -1) {
				closedir(d);
				json_decref(keys);
				return NULL;
			}
		}
		closedir(d);
	}
	keys_authorized(keys, dir);
	if (json_array_size(keys) > 0)
		return keys;

	/* No key at all: make one where ssh looks by default. */
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "wsctl: cannot create %s: %s\n", dir, strerror(errno));
		return keys;
	}
	snprintf(path, sizeof(path), "%s/id_ed25519", dir);
	if (sshkey_generate(path, pub, sizeof(pub), err, sizeof(err)) == -1) {
		fprintf(stderr, "wsctl: cannot make an SSH key: %s\n", err);
		return keys;
	}
	snprintf(path, sizeof(path), "%s/id_ed25519.pub", dir);
	{
		FILE *f = fopen(path, "wxe");

		if (f != NULL) {
			fprintf(f, "%s wslab\n", pub);
			fclose(f);
		}
	}
	fprintf(stderr, "wsctl: you had no SSH key; made %s/id_ed25519 (ed25519, no passphrase)\n",
	        dir);
	if (args_append(keys, path, pub) == -1) {
		json_decref(keys);
		return NULL;
	}
	return keys;
}

/* $XDG_CACHE_HOME/wslab or ~/.cache/wslab, created 0700. */
static int
cache_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	char parent[600];

	if (xdg != NULL && xdg[0] == '/')
		snprintf(parent, sizeof(parent), "%s", xdg);
	else
		snprintf(parent, sizeof(parent), "%s/.cache", keys_home());
	if (mkdir(parent, 0700) == -1 && errno != EEXIST)
		return -1;
	snprintf(buf, len, "%s/wslab", parent);
	if (mkdir(buf, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
keys_commit(const char *path, const char *drop, const char *text)
{
	char tmp[1200], line[8192];
	FILE *in, *out;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	out = fopen(tmp, "we");
	if (out == NULL)
		return -1;
	/* Keep the other lines; replace drop's. */
	in = drop != NULL ? fopen(path, "re") : NULL;
	if (in != NULL) {
		while (fgets(line, sizeof(line), in) != NULL)
			if (strncmp(line, drop, strlen(drop)) != 0)
				fputs(line, out);
		fclose(in);
	}
	fputs(text, out);
	if (fclose(out) != 0 || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
ssh_pin(json_t *ws, char *path, size_t len)
{
	const char *host = json_string_value(json_object_get(ws, "ssh_host"));
	const char *key = json_string_value(json_object_get(ws, "ssh_host_key"));
	json_int_t port = json_integer_value(json_object_get(ws, "ssh_port"));
	char dir[700], prefix[300], line[8192];

	if (host == NULL || key == NULL || port <= 0 || cache_dir(dir, sizeof(dir)) == -1)
		return -1;
	snprintf(path, len, "%s/known_hosts", dir);
	snprintf(prefix, sizeof(prefix), "[%s]:%lld ", host, (long long)port);
	snprintf(line, sizeof(line), "%s%s\n", prefix, key);
	return keys_commit(path, prefix, line);
}
