/*
 * One thread as the caller, for file checks. The kernel keeps a thread's
 * file-system uid and gid and its supplementary groups per thread, and
 * checks every path lookup and open against them (mode bits, POSIX ACLs,
 * an LSM, an NFS server's view): taking them on is the only way to get the
 * caller's answer rather than an imitation of it. glibc's setgroups() and
 * setuid() family broadcast the change to every thread of the process, so
 * the raw system calls are used; setfsuid() to a non-zero uid also clears
 * the capabilities that bypass permission checks (CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH, CAP_FOWNER...) from the thread's effective set, and
 * setfsuid(0) gives them back.
 */
#include "cred.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/* The 32-bit-id calls where an architecture also has 16-bit ones. */
#ifdef SYS_setfsuid32
#define CRED_SETFSUID SYS_setfsuid32
#define CRED_SETFSGID SYS_setfsgid32
#define CRED_SETGROUPS SYS_setgroups32
#define CRED_GETGROUPS SYS_getgroups32
#else
#define CRED_SETFSUID SYS_setfsuid
#define CRED_SETFSGID SYS_setfsgid
#define CRED_SETGROUPS SYS_setgroups
#define CRED_GETGROUPS SYS_getgroups
#endif

int
cred_lookup(struct cred *c, const char *user, uid_t uid, gid_t gid)
{
	int n = 32;

	c->uid = uid;
	c->gid = gid;
	c->groups = xmalloc(sizeof(gid_t) * (size_t)n);
	while (getgrouplist(user, gid, c->groups, &n) == -1) {
		if (n <= 0 || n > 65536) {
			free(c->groups);
			c->groups = NULL;
			errno = EINVAL;
			return -1;
		}
		c->groups = xrealloc(c->groups, sizeof(gid_t) * (size_t)n);
	}
	c->ngroups = n;
	return 0;
}

void
cred_free(struct cred *c)
{
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

/* setfsuid and setfsgid answer the previous id; an invalid id (-1) changes nothing. */
static long
fsuid_now(void)
{
	return syscall(CRED_SETFSUID, (uid_t)-1);
}

static long
fsgid_now(void)
{
	return syscall(CRED_SETFSGID, (gid_t)-1);
}

int
cred_enter(const struct cred *c, struct cred_saved *s)
{
	long n = syscall(CRED_GETGROUPS, 0, NULL);

	if (n < 0)
		return -1;
	s->groups = xmalloc(sizeof(gid_t) * (size_t)(n > 0 ? n : 1));
	s->ngroups = (int)syscall(CRED_GETGROUPS, n, s->groups);
	s->fsuid = (uid_t)fsuid_now();
	s->fsgid = (gid_t)fsgid_now();
	if (s->ngroups < 0 || syscall(CRED_SETGROUPS, (size_t)c->ngroups, c->groups) == -1) {
		int e = errno;

		free(s->groups);
		s->groups = NULL;
		errno = e;
		return -1;
	}
	syscall(CRED_SETFSGID, c->gid);
	syscall(CRED_SETFSUID, c->uid);
	if ((gid_t)fsgid_now() != c->gid || (uid_t)fsuid_now() != c->uid) {
		cred_leave(s);
		errno = EPERM;
		return -1;
	}
	return 0;
}

void
cred_leave(struct cred_saved *s)
{
	syscall(CRED_SETFSUID, s->fsuid);
	syscall(CRED_SETFSGID, s->fsgid);
	if ((uid_t)fsuid_now() != s->fsuid || (gid_t)fsgid_now() != s->fsgid ||
	    syscall(CRED_SETGROUPS, (size_t)s->ngroups, s->groups) == -1) {
		log_err("cannot give a pool thread its own identity back; stopping");
		abort();
	}
	free(s->groups);
	s->groups = NULL;
}
