/*
 * Paths as text, for mount requests and the mount keys of wsd.conf. Pure
 * string functions: no file system, no configuration.
 */
#ifndef WSD_PATH_H
#define WSD_PATH_H

#include <stddef.h>

/*
 * 0 when p (len bytes, no NUL inside) is an absolute, normalised path: no
 * "." or ".." component, no "//", no trailing '/', no control character,
 * shorter than WS_PATH_MAX. Otherwise -1 and why says what is wrong.
 */
int path_check(const char *p, size_t len, char *why, size_t whylen);
/* 1 when path is dir or lies below it (whole components; both normalised). */
int path_under(const char *path, const char *dir);
/*
 * The entry of a comma-separated list of paths ("/a, /b") that holds path,
 * copied into buf; NULL when none does.
 */
const char *path_list_find(const char *list, const char *path, char *buf, size_t len);
/* The next entry of *list, trimmed, into buf, and *list moves on: 1, or 0 at the end. */
int path_list_next(const char **list, char *buf, size_t len);
/* 0 when every entry of a comma-separated list is a valid path other than "/". */
int path_list_check(const char *list, char *why, size_t whylen);
/* path_list_check, and no entry on, in or around /etc/wslab, /home, /proc... */
int path_mount_points_check(const char *list, char *why, size_t whylen);

#endif
