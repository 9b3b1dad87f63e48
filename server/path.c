/*
 * Paths as text: whether one is absolute and normalised, whether it lies
 * under another, and comma-separated lists of them (the mount keys of
 * wsd.conf). Pure string functions that know neither the file system nor
 * the configuration, so that config.c and valid.c both build on them.
 */
#include "path.h"

#include <stdio.h>
#include <string.h>

#include "types.h"

int
path_check(const char *p, size_t len, char *why, size_t whylen)
{
	const char *c, *comp;

	if (len == 0 || strlen(p) != len) {
		snprintf(why, whylen, "must be a non-empty path");
		return -1;
	}
	if (len >= WS_PATH_MAX) {
		snprintf(why, whylen, "longer than %d bytes", WS_PATH_MAX - 1);
		return -1;
	}
	for (c = p; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(why, whylen,
			         "control characters (CR, LF, tab...) are not allowed");
			return -1;
		}
	}
	if (p[0] != '/') {
		snprintf(why, whylen, "must be an absolute path (starting with /)");
		return -1;
	}
	if (len == 1)
		return 0;
	if (p[len - 1] == '/') {
		snprintf(why, whylen, "must not end with /");
		return -1;
	}
	if (strstr(p, "//") != NULL) {
		snprintf(why, whylen, "must not contain //");
		return -1;
	}
	/* Lexical only: the kernel resolves "..", so no ".." is let through. */
	for (comp = p + 1; comp != NULL; comp = strchr(comp, '/')) {
		size_t n;

		if (*comp == '/')
			comp++;
		n = strcspn(comp, "/");
		if (n == 2 && comp[0] == '.' && comp[1] == '.') {
			snprintf(why, whylen, "\"..\" is not allowed in a path");
			return -1;
		}
		if (n == 1 && comp[0] == '.') {
			snprintf(why, whylen, "\".\" is not allowed in a path");
			return -1;
		}
	}
	return 0;
}

int
path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
path_list_next(const char **s, char *buf, size_t len)
{
	const char *p = *s, *e;
	size_t n;

	if (*p == '\0')
		return 0;
	e = p + strcspn(p, ",");
	*s = *e == ',' ? e + 1 : e;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - p);
	if (n >= len)
		n = len - 1; /* too long to be valid: path_list_check refuses it */
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

const char *
path_list_find(const char *list, const char *path, char *buf, size_t len)
{
	while (path_list_next(&list, buf, len))
		if (buf[0] == '/' && path_under(path, buf))
			return buf;
	return NULL;
}

int
path_list_check(const char *list, char *why, size_t whylen)
{
	char entry[WS_PATH_MAX + 1], w[128];

	while (path_list_next(&list, entry, sizeof(entry))) {
		if (path_check(entry, strlen(entry), w, sizeof(w)) == -1) {
			snprintf(why, whylen, "\"%.200s\": %s", entry, w);
			return -1;
		}
		if (strcmp(entry, "/") == 0) {
			snprintf(why, whylen, "\"/\" is not allowed (name directories below it)");
			return -1;
		}
	}
	return 0;
}

/*
 * Where no mount point may be: wsd's own mounts (see valid_mount_target)
 * and what the engine owns.
 */
static const char *const reserved_points[] = {"/etc/wslab", "/etc/passwd", "/etc/group", "/home",
                                              "/proc",      "/sys",        "/dev"};

int
path_mount_points_check(const char *list, char *why, size_t whylen)
{
	char entry[WS_PATH_MAX + 1];

	if (path_list_check(list, why, whylen) == -1)
		return -1;
	while (path_list_next(&list, entry, sizeof(entry))) {
		for (size_t i = 0; i < sizeof(reserved_points) / sizeof(reserved_points[0]); i++) {
			if (path_under(entry, reserved_points[i]) ||
			    path_under(reserved_points[i], entry)) {
				snprintf(why, whylen, "\"%.200s\" overlaps %s", entry,
				         reserved_points[i]);
				return -1;
			}
		}
	}
	return 0;
}
