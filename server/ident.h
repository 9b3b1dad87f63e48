/*
 * Who a user is, from the system's user and group databases: their name,
 * their groups by name, and admin rights. Blocking (NSS may be a network
 * service): pool threads only.
 *
 * Entries are read into a buffer that doubles on ERANGE up to
 * IDENT_BUF_MAX, and the group list grows up to IDENT_GROUPS_MAX. Past
 * that, or on any other error of the databases, the lookup fails as a
 * whole: nobody is served with fewer groups than they have (a group's
 * quota may restrict as well as grant), nor as a non-admin because the
 * admin group could not be read.
 */
#ifndef WSD_IDENT_H
#define WSD_IDENT_H

#include <stddef.h>
#include <sys/types.h>

#include "types.h"

/* The largest passwd or group entry read (a group's member list, mostly). */
#define IDENT_BUF_MAX (4 << 20)
/* The most groups a user may be in (the kernel's NGROUPS_MAX). */
#define IDENT_GROUPS_MAX 65536

struct ident {
	uid_t uid;
	gid_t gid;
	char user[UNIX_NAME_MAX + 1]; /* "" when the uid has no entry */
	int admin;                    /* root, or a member of admin_group */
	/*
	 * Names of the user's groups, primary first (malloc'd). A group whose
	 * name is longer than UNIX_NAME_MAX is left out: no quota can name it.
	 */
	char (*groups)[UNIX_NAME_MAX + 1];
	size_t ngroups;
};

/*
 * Look up a user by uid (name NULL) or by name; admin_group may be NULL
 * or "". Returns 1 when found; 0 when there is no such user (id names no
 * one: user "", no groups, admin only for uid 0); -1 when the databases
 * could not be read in full, with why (nothing is guessed). id is to be
 * freed with ident_free in every case.
 */
int ident_lookup(struct ident *id, uid_t uid, const char *name, const char *admin_group, char *why,
                 size_t whylen);
void ident_free(struct ident *id);

struct passwd;
struct group;
/*
 * getpwuid_r (name NULL) or getpwnam_r into *buf, grown as needed (free
 * it after use). Returns 1 found, 0 none, -1 error with errno (ERANGE:
 * larger than IDENT_BUF_MAX).
 */
int ident_passwd(uid_t uid, const char *name, struct passwd *pw, char **buf);
/* getgrgid_r or getgrnam_r, as ident_passwd. */
int ident_group(gid_t gid, const char *name, struct group *gr, char **buf);

#endif
