/*
 * A caller's file-system identity, taken on by one pool thread while it
 * looks at files for that caller, so that the kernel decides (search on
 * every directory, read on the object, groups and ACLs) exactly as it
 * would for the caller. Linux keeps fsuid, fsgid and the supplementary
 * groups per thread; the raw system calls change only the calling thread
 * (glibc's setgroups() changes them all). Pool threads only.
 */
#ifndef WSD_CRED_H
#define WSD_CRED_H

#include <sys/types.h>

/* Who: the uid, the primary gid and every group of the group database. */
struct cred {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* What the thread was before cred_enter: given back by cred_leave. */
struct cred_saved {
	uid_t fsuid;
	gid_t fsgid;
	gid_t *groups;
	int ngroups;
};

/*
 * Fill c for user (its name) with primary group gid: the groups come from
 * the group database (getgrouplist). 0, or -1 when it cannot be read.
 */
int cred_lookup(struct cred *c, const char *user, uid_t uid, gid_t gid);
void cred_free(struct cred *c);
/*
 * This thread takes on c: supplementary groups, then fsgid, then fsuid
 * (which drops the capabilities that override file permissions). 0, or -1
 * with errno and the thread unchanged.
 */
int cred_enter(const struct cred *c, struct cred_saved *s);
/*
 * Back to what cred_enter saved. A thread that cannot get its identity
 * back would do root's file work as the caller: wsd aborts instead.
 */
void cred_leave(struct cred_saved *s);

#endif
