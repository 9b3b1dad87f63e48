/*
 * User and group lookups that never silently come up short. glibc answers
 * ERANGE when an entry does not fit the caller's buffer (nss_files even
 * for an entry it only passes over on its way through /etc/group), and
 * getgrouplist -1 when the array is too small; both used to drop the
 * group in question, so a restricting group quota fell back to the
 * default. Here the buffer doubles until the entry fits, up to a cap,
 * and beyond the cap the lookup fails and says so.
 */
#include "ident.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define BUF_FIRST (16 * 1024)

/* glibc says "not found" with 0 and no result; other NSS modules with these. */
static int
not_found(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH;
}

int
ident_passwd(uid_t uid, const char *name, struct passwd *pw, char **buf)
{
	for (size_t size = BUF_FIRST;; size *= 2) {
		struct passwd *res = NULL;
		int e;

		*buf = xrealloc(*buf, size);
		e = name != NULL ? getpwnam_r(name, pw, *buf, size, &res)
		                 : getpwuid_r(uid, pw, *buf, size, &res);
		if (e == 0 && res != NULL)
			return 1;
		if (not_found(e))
			return 0;
		if (e != ERANGE || size >= IDENT_BUF_MAX) {
			errno = e;
			return -1;
		}
	}
}

int
ident_group(gid_t gid, const char *name, struct group *gr, char **buf)
{
	for (size_t size = BUF_FIRST;; size *= 2) {
		struct group *res = NULL;
		int e;

		*buf = xrealloc(*buf, size);
		e = name != NULL ? getgrnam_r(name, gr, *buf, size, &res)
		                 : getgrgid_r(gid, gr, *buf, size, &res);
		if (e == 0 && res != NULL)
			return 1;
		if (not_found(e))
			return 0;
		if (e != ERANGE || size >= IDENT_BUF_MAX) {
			errno = e;
			return -1;
		}
	}
}

static void
lookup_error(char *why, size_t whylen, const char *what, int e)
{
	if (e == ERANGE)
		snprintf(why, whylen, "%s: the entry is larger than %d MiB", what,
		         IDENT_BUF_MAX >> 20);
	else
		snprintf(why, whylen, "%s: %s", what, strerror(e));
}

/* Every group of user (primary gid first), by gid. Returns the count or -1. */
static int
group_ids(const char *user, gid_t gid, gid_t **gids, char *why, size_t whylen)
{
	int n = 64;

	*gids = xmalloc((size_t)n * sizeof(**gids));
	for (;;) {
		int want = n;

		if (getgrouplist(user, gid, *gids, &want) != -1)
			return want;
		/* glibc said how many there are; grow to that (they may change meanwhile). */
		if (want > IDENT_GROUPS_MAX) {
			snprintf(why, whylen, "groups of %s: more than %d", user, IDENT_GROUPS_MAX);
			return -1;
		}
		n = want > n ? want : 2 * n;
		*gids = xrealloc(*gids, (size_t)n * sizeof(**gids));
	}
}

int
ident_lookup(struct ident *id, uid_t uid, const char *name, const char *admin_group, char *why,
             size_t whylen)
{
	struct passwd pw;
	struct group gr;
	char *buf = NULL, *gbuf = NULL, what[64];
	gid_t *gids = NULL;
	int r, n, ret = -1;

	memset(id, 0, sizeof(*id));
	id->uid = uid;
	r = ident_passwd(uid, name, &pw, &buf);
	if (r == -1) {
		if (name != NULL)
			snprintf(what, sizeof(what), "user %.32s", name);
		else
			snprintf(what, sizeof(what), "uid %u", (unsigned)uid);
		lookup_error(why, whylen, what, errno);
		goto out;
	}
	if (r == 0 || strlen(pw.pw_name) >= sizeof(id->user)) {
		/* No one we can name: no groups, admin by uid 0 alone. */
		id->admin = name == NULL && uid == 0;
		ret = 0;
		goto out;
	}
	id->uid = pw.pw_uid;
	id->gid = pw.pw_gid;
	snprintf(id->user, sizeof(id->user), "%s", pw.pw_name);
	if ((n = group_ids(id->user, pw.pw_gid, &gids, why, whylen)) == -1)
		goto out;
	id->groups = xcalloc((size_t)n, sizeof(*id->groups));
	for (int i = 0; i < n; i++) {
		r = ident_group(gids[i], NULL, &gr, &gbuf);
		if (r == -1) {
			snprintf(what, sizeof(what), "group %u", (unsigned)gids[i]);
			lookup_error(why, whylen, what, errno);
			goto out;
		}
		/* A gid without a name, or a name too long for a quota: none can apply. */
		if (r == 1 && strlen(gr.gr_name) < sizeof(id->groups[0]))
			snprintf(id->groups[id->ngroups++], sizeof(id->groups[0]), "%s",
			         gr.gr_name);
	}
	id->admin = id->uid == 0;
	if (!id->admin && admin_group != NULL && admin_group[0] != '\0') {
		r = ident_group(0, admin_group, &gr, &gbuf);
		if (r == -1) {
			snprintf(what, sizeof(what), "admin group %.32s", admin_group);
			lookup_error(why, whylen, what, errno);
			goto out;
		}
		if (r == 1 && gr.gr_gid == pw.pw_gid)
			id->admin = 1;
		for (char **m = r == 1 ? gr.gr_mem : NULL; m != NULL && *m != NULL; m++)
			if (strcmp(*m, id->user) == 0)
				id->admin = 1;
	}
	ret = 1;
out:
	free(buf);
	free(gbuf);
	free(gids);
	if (ret == -1) {
		free(id->groups);
		id->groups = NULL;
		id->ngroups = 0;
		id->admin = 0;
	}
	return ret;
}

void
ident_free(struct ident *id)
{
	free(id->groups);
	id->groups = NULL;
	id->ngroups = 0;
}
