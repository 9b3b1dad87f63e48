/*
 * Host-side files of a workspace. Homes are created with the owner's
 * ownership and never deleted. An existing home is used only when it is a
 * real directory (not a symlink) owned by the user: a student cannot point
 * wsd at someone else's files by planting a link.
 *
 * User mounts are checked here too, as the caller: the pool thread takes
 * on the caller's file-system identity (cred.c: uid, primary and
 * supplementary groups) for the whole check, so the kernel itself decides
 * whether the caller may search every directory on the way to the source
 * and read the source, ACLs included, and a path the caller cannot reach
 * gets one answer whether it exists or not. The real path must lie in a
 * mount root, and every directory from the root down to it, and it, must
 * belong to the user (in a shared root, read-only, it need not). The walk
 * opens each component with O_PATH|O_NOFOLLOW, so a link that appears
 * after realpath() is refused, and nothing is opened for reading but the
 * checked object itself, once its type is known (a FIFO cannot block us,
 * a device is never touched).
 *
 * What was checked is what gets mounted: the walk keeps the checked
 * object open, and wsd bind-mounts that very object (through its
 * /proc/self/fd link, which names the object, not a path) onto a staging
 * point under state_dir/mounts/ID, reachable by root only. The engine gets
 * the staging point. A student who renames a directory and plants a link
 * after the check changes nothing: the engine never walks the student's
 * path. The staging mounts go once the container has started (its mount
 * namespace holds its own copies) or when the start fails.
 */
#include "wsfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred.h"
#include "ident.h"
#include "path.h"
#include "sshkey.h"
#include "valid.h"
#include "xmalloc.h"

/* mkdir with exactly mode, whatever the umask; EEXIST when it is there. */
static int
mkdir_mode(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1)
		return -1;
	if (chmod(path, mode) == -1) {
		int e = errno;

		rmdir(path);
		errno = e;
		return -1;
	}
	return 0;
}

int
wsfs_mkdirs(const char *path, mode_t mode)
{
	char buf[512], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_mode(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir_mode(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * path, made with mode when missing, must be a real directory (no link)
 * owned by wsd's uid; the setuid, setgid and sticky bits and every bit of
 * group and others that keep does not hold are taken away (never added).
 */
static int
state_dir(const char *path, mode_t mode, mode_t keep, char *err, size_t errlen)
{
	struct stat st;
	mode_t want;

	if (wsfs_mkdirs(path, mode) == -1 || lstat(path, &st) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s must be a directory owned by uid %u, not a link", path,
		         (unsigned)geteuid());
		return -1;
	}
	want = (st.st_mode & 0700) | (st.st_mode & keep);
	if (want != (st.st_mode & 07777) && chmod(path, want) == -1) {
		snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A file of the store: 0600, owned by wsd's uid, no link. With make, an
 * empty one is made when missing (SQLite takes an empty file as a new
 * database), so that its mode never depends on a umask; SQLite gives the
 * -wal and -shm files it makes the database's mode and owner.
 */
static int
state_file(const char *dir, const char *name, int make, char *err, size_t errlen)
{
	char path[600];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (make) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			close(fd);
		else if (errno != EEXIST)
			goto fail;
	}
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s must be a regular file owned by uid %u, not a link", path,
		         (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & 07777) != 0600 && chmod(path, 0600) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

int
wsfs_shared_init(const char *dir, char *err, size_t errlen)
{
	char sub[600];

	if (state_dir(dir, 0711, 011, err, errlen) == -1)
		return -1;
	snprintf(sub, sizeof(sub), "%s/workspaces", dir);
	if (state_dir(sub, 0700, 0, err, errlen) == -1)
		return -1;
	/* wsnode's reports (node_report.h). */
	snprintf(sub, sizeof(sub), "%s/nodes", dir);
	return state_dir(sub, 0700, 0, err, errlen);
}

int
wsfs_state_init(const char *dir, char *err, size_t errlen)
{
	char sub[600];

	if (state_dir(dir, 0711, 011, err, errlen) == -1)
		return -1;
	snprintf(sub, sizeof(sub), "%s/workspaces", dir);
	if (state_dir(sub, 0700, 0, err, errlen) == -1)
		return -1;
	snprintf(sub, sizeof(sub), "%s/mounts", dir);
	if (state_dir(sub, 0700, 0, err, errlen) == -1)
		return -1;
	return state_file(dir, "wsd.db", 1, err, errlen) == -1 ||
	               state_file(dir, "wsd.db-wal", 0, err, errlen) == -1 ||
	               state_file(dir, "wsd.db-shm", 0, err, errlen) == -1
	           ? -1
	           : 0;
}

static int
write_file(const char *dir, const char *name, const char *text, mode_t mode, uid_t uid, gid_t gid,
           struct wsfs_out *out)
{
	char path[600];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len || fchown(fd, uid, gid) == -1 ||
	    fchmod(fd, mode) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot write %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
make_home(const struct wsfs_in *in, struct wsfs_out *out)
{
	struct stat st;

	if (wsfs_mkdirs(in->home_root, 0755) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot create %s: %s", in->home_root,
		         strerror(errno));
		return -1;
	}
	snprintf(out->home, sizeof(out->home), "%s/%s", in->home_root, out->user);
	/*
	 * Made whole under a temporary name, then moved into place without
	 * replacing anything: a second start of the same new user, preparing
	 * at the same moment, never sees the home before it is the user's.
	 */
	if (lstat(out->home, &st) == -1 && errno == ENOENT) {
		char tmp[sizeof(out->home) + 48];
		unsigned char r[6];

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			memset(r, 0, sizeof(r));
		snprintf(tmp, sizeof(tmp), "%s/.new-%02x%02x%02x%02x%02x%02x", in->home_root, r[0],
		         r[1], r[2], r[3], r[4], r[5]);
		if (mkdir(tmp, 0700) == -1 || chown(tmp, in->uid, out->gid) == -1) {
			snprintf(out->err, sizeof(out->err), "cannot create %s: %s", out->home,
			         strerror(errno));
			rmdir(tmp);
			return -1;
		}
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out->home, RENAME_NOREPLACE) == 0)
			return 0;
		rmdir(tmp);
		if (errno != EEXIST) {
			snprintf(out->err, sizeof(out->err), "cannot create %s: %s", out->home,
			         strerror(errno));
			return -1;
		}
	}
	if (lstat(out->home, &st) == -1 || !S_ISDIR(st.st_mode) || st.st_uid != in->uid) {
		snprintf(out->err, sizeof(out->err),
		         "%s is not a directory owned by %s; ask an admin to fix it", out->home,
		         out->user);
		out->status = 409;
		return -1;
	}
	return 0;
}

/* The configured root in list whose real path holds real; its real path in root. */
static const char *
real_root(const char *list, const char *real, char *root, size_t len)
{
	char entry[WS_PATH_MAX + 1], *r;

	while (path_list_next(&list, entry, sizeof(entry))) {
		r = realpath(entry, NULL);
		if (r == NULL)
			continue;
		if (path_under(real, r) && strlen(r) < len) {
			snprintf(root, len, "%s", r);
			free(r);
			return root;
		}
		free(r);
	}
	return NULL;
}

/*
 * Walk real down from root without following links, as whoever this
 * thread is (the caller, during the mount checks): every directory on the
 * way must let it search (EACCES). Every component below root, and real
 * itself, must not be a link (ELOOP) and must be held as owner says
 * (EPERM): WALK_ANY, WALK_UID (it belongs to uid), or WALK_ROOT (swarm
 * mode, root included: root's, and a directory writable by root alone, so
 * nobody else can change what the path names); all but the last must be
 * directories. The last one's stat goes to st and, with keep set, its
 * O_PATH descriptor to *keep. 0, or -1 with errno.
 */
enum walk_owner { WALK_ANY, WALK_UID, WALK_ROOT };

static int
held(const struct stat *st, uid_t uid, enum walk_owner owner)
{
	if (owner == WALK_UID)
		return st->st_uid == uid;
	if (owner == WALK_ROOT)
		return st->st_uid == 0 && (!S_ISDIR(st->st_mode) || (st->st_mode & 022) == 0);
	return 1;
}

static int
walk(const char *root, const char *real, uid_t uid, enum walk_owner owner, struct stat *st,
     int *keep)
{
	const char *p = real + strlen(root);
	char comp[256];
	int fd, next, ret = -1;

	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1)
		goto out;
	while (*p == '/')
		p++;
	if ((*p == '\0' || owner == WALK_ROOT) && !held(st, uid, owner)) {
		errno = EPERM;
		goto out;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1)
			goto out;
		close(fd);
		fd = next;
		if (fstat(fd, st) == -1)
			goto out;
		if (S_ISLNK(st->st_mode)) {
			errno = ELOOP;
			goto out;
		}
		if (!held(st, uid, owner)) {
			errno = EPERM;
			goto out;
		}
		p += n;
		while (*p == '/')
			p++;
		if (*p != '\0' && !S_ISDIR(st->st_mode)) {
			errno = ENOTDIR;
			goto out;
		}
	}
	ret = 0;
	if (keep != NULL) {
		*keep = fd;
		return 0;
	}
out:
	next = errno; /* the caller reads why */
	close(fd);
	errno = next;
	return ret;
}

/*
 * Whether this thread may read the object behind the O_PATH descriptor fd
 * (a directory or a regular file, st its stat): it is opened again for
 * reading through /proc/self/fd, which names that very object, and closed.
 * O_NONBLOCK: a lease another process holds does not make us wait (the
 * permission was granted when EWOULDBLOCK comes back). 0, or -1 with errno.
 */
static int
readable(int fd, const struct stat *st)
{
	char path[32];
	int r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC |
	                   (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
	if (r == -1)
		return errno == EWOULDBLOCK ? 0 : -1;
	close(r);
	return 0;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISFIFO(m))
		return "FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "device";
	return "special file";
}

/*
 * The one answer for a source the caller cannot reach: the same whether
 * it exists or not, and naming nothing but what the caller sent.
 */
static void
unreachable(struct wsfs_out *out, size_t i, const char *source)
{
	snprintf(out->err, sizeof(out->err),
	         "mounts[%zu].source: %s: permission denied (you must be allowed to search "
	         "every directory on the way to it and to read it)",
	         i, source);
	out->status = 403;
}

/*
 * The part of a target in the home below /home/USER/ (valid_mount_target
 * has made sure it is this user's home and not the home itself); NULL for
 * a target elsewhere (under a mount point).
 */
static const char *
home_rest(const char *target, const char *user)
{
	if (!path_under(target, "/home"))
		return NULL;
	return target + strlen("/home/") + strlen(user) + 1;
}

/*
 * Walk rest (relative, '/' between components) down from dirfd without
 * following links, as whoever this thread is. Every component but the
 * last must be a directory (ENOTDIR); the last a directory when want_dir
 * is set (ENOTDIR), else a regular file (EISDIR, EINVAL); a link anywhere
 * is ELOOP. A missing component ends the walk with 0 when create is not
 * set (what does not exist holds no link); with create set it is made, as
 * this thread (a directory, or an empty file for the last when want_dir is
 * not set), and the walk goes on. With keep, the last component's O_PATH
 * descriptor goes to *keep. *end: where in rest the component that failed
 * ends. 0, or -1 with errno.
 */
static int
target_walk(int dirfd, const char *rest, int want_dir, int create, int *keep, size_t *end)
{
	const char *p = rest;
	char comp[256];
	struct stat st;
	int cur = dirfd, next, ret = -1, e;

	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		int last = p[n] == '\0';

		*end = (size_t)(p - rest) + n;
		if (n >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1 && errno == ENOENT) {
			if (!create) {
				ret = 0;
				goto out;
			}
			if (last && !want_dir) {
				int f = openat(cur, comp,
				               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				               0644);

				if (f == -1)
					goto out;
				close(f);
			} else if (mkdirat(cur, comp, 0755) == -1) {
				goto out;
			}
			next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next == -1)
			goto out;
		if (cur != dirfd)
			close(cur);
		cur = next;
		if (fstat(cur, &st) == -1)
			goto out;
		if (S_ISLNK(st.st_mode)) {
			errno = ELOOP;
			goto out;
		}
		if ((!last || want_dir) && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto out;
		}
		if (last && !want_dir && !S_ISREG(st.st_mode)) {
			errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
			goto out;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	ret = 0;
	if (keep != NULL && cur != dirfd) {
		*keep = cur;
		return 0;
	}
out:
	e = errno;
	if (cur != dirfd)
		close(cur);
	errno = e;
	return ret;
}

/* Why target_walk refused mounts[i].target; shown is its first len bytes. */
static void
target_refused(struct wsfs_out *out, size_t i, const char *target, size_t len, int e)
{
	int n = (int)len;

	out->status = e == ELOOP || e == EACCES ? 403 : 400;
	if (e == ELOOP)
		snprintf(out->err, sizeof(out->err),
		         "mounts[%zu].target: %.*s is a symbolic link; a mount target in your home "
		         "must be reached through real directories",
		         i, n, target);
	else if (e == ENOTDIR && len < strlen(target))
		snprintf(out->err, sizeof(out->err), "mounts[%zu].target: %.*s is not a directory",
		         i, n, target);
	else if (e == ENOTDIR)
		snprintf(out->err, sizeof(out->err),
		         "mounts[%zu].target: %s is not a directory, but the source is one", i,
		         target);
	else if (e == EISDIR || e == EINVAL)
		snprintf(out->err, sizeof(out->err),
		         "mounts[%zu].target: %s is not a regular file, but the source is one", i,
		         target);
	else
		snprintf(out->err, sizeof(out->err), "mounts[%zu].target: %.*s: %s", i, n, target,
		         strerror(e));
}

/*
 * A target in the home, checked before anything is made: the host path
 * below home_root/USER, walked as the caller, holds no link and no
 * non-directory on the way, and what is there already is of the source's
 * kind. Nothing to check when the home does not exist yet.
 */
static int
check_target(const struct wsfs_in *in, size_t i, int src_dir, struct wsfs_out *out)
{
	const char *target = in->mounts[i].target, *rest = home_rest(target, out->user);
	char home[WS_PATH_MAX];
	size_t end = 0;
	int fd;

	if (rest == NULL)
		return 0;
	snprintf(home, sizeof(home), "%s/%s", in->home_root, out->user);
	fd = open(home, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0; /* not there yet, or not a directory: make_home says so */
	if (target_walk(fd, rest, src_dir, 0, NULL, &end) == -1) {
		target_refused(out, i, target, (size_t)(rest - target) + end, errno);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Check mount i on the host, with this thread as the caller: its real path
 * goes to out->mount_real[i] and the checked object, held open, to
 * out->mount_fd[i]. realpath() runs as the caller too, so a path below a
 * directory the caller may not search is refused before anything says
 * whether it exists. A source that does not exist is judged by its deepest
 * existing ancestor first, so that "does not exist" is never said of a
 * path in someone else's directory.
 */
static int
check_mount(const struct wsfs_in *in, size_t i, struct wsfs_out *out)
{
	const struct mount_req *m = &in->mounts[i];
	char why[WS_PATH_MAX + 128], root[WS_PATH_MAX], probe[WS_PATH_MAX];
	char *real = NULL;
	struct stat st;
	int missing = 0, shared = 0, ret = -1;

	out->status = 403;
	if (valid_mount_target(in->mount_points, m->target, out->user, why, sizeof(why)) == -1) {
		snprintf(out->err, sizeof(out->err), "mounts[%zu].target: %s", i, why);
		return -1;
	}
	if (in->direct && home_rest(m->target, out->user) != NULL) {
		snprintf(out->err, sizeof(out->err),
		         "mounts[%zu].target: %s: in swarm mode a mount lands under a mount point, "
		         "not in your home",
		         i, m->target);
		return -1;
	}
	snprintf(probe, sizeof(probe), "%s", m->source);
	while ((real = realpath(probe, NULL)) == NULL) {
		char *slash = strrchr(probe, '/');

		if (errno == EACCES) {
			unreachable(out, i, m->source);
			return -1;
		}
		if ((errno != ENOENT && errno != ENOTDIR) || slash == NULL) {
			snprintf(out->err, sizeof(out->err),
			         "mounts[%zu].source: %s cannot be resolved: %s", i, m->source,
			         strerror(errno));
			out->status = 400;
			return -1;
		}
		missing = 1;
		slash[slash == probe ? 1 : 0] = '\0';
	}
	if (m->read_only && real_root(in->shared_mount_roots, real, root, sizeof(root))) {
		shared = 1;
	} else if (!real_root(in->mount_roots, real, root, sizeof(root))) {
		if (real_root(in->shared_mount_roots, real, root, sizeof(root)))
			snprintf(out->err, sizeof(out->err),
			         "mounts[%zu].source: %s is in the shared root %s, which can only "
			         "be mounted read-only (add :ro)",
			         i, m->source, root);
		else
			snprintf(out->err, sizeof(out->err),
			         "mounts[%zu].source: %s resolves to a path outside the allowed "
			         "mount roots",
			         i, m->source);
		goto out;
	}
	if (in->direct && !shared) {
		snprintf(
		    out->err, sizeof(out->err),
		    "mounts[%zu].source: %s: in swarm mode only read-only sources in "
		    "shared_mount_roots can be mounted (the servers see those at the same path)",
		    i, m->source);
		goto out;
	}
	/* A missing child of the root itself: nobody's yet, say so. */
	if (!(missing && strcmp(real, root) == 0) &&
	    walk(root, real, in->uid,
	         !shared      ? WALK_UID
	         : in->direct ? WALK_ROOT
	                      : WALK_ANY,
	         &st, missing ? NULL : &out->mount_fd[i]) == -1) {
		int e = errno;

		out->status = e == EPERM ? 403 : e == ELOOP ? 409 : 400;
		if (e == EACCES)
			unreachable(out, i, m->source);
		else if (e == EPERM && in->direct)
			snprintf(
			    out->err, sizeof(out->err),
			    "mounts[%zu].source: %s: in swarm mode every directory from %s down "
			    "to it must be root's and writable by root alone (a server binds it "
			    "by its path, so no one may change that path meanwhile)",
			    i, m->source, root);
		else if (e == EPERM)
			snprintf(out->err, sizeof(out->err),
			         "mounts[%zu].source: %s is not yours: it and every directory "
			         "between it and the mount root %s must belong to you",
			         i, m->source, root);
		else if (e == ELOOP)
			snprintf(out->err, sizeof(out->err),
			         "mounts[%zu].source: %s changed while it was checked; try again",
			         i, m->source);
		else
			snprintf(out->err, sizeof(out->err), "mounts[%zu].source: %s: %s", i,
			         m->source, strerror(e));
		goto out;
	}
	if (missing) {
		snprintf(out->err, sizeof(out->err), "mounts[%zu].source: %s does not exist", i,
		         m->source);
		out->status = 400;
		goto out;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		snprintf(out->err, sizeof(out->err),
		         "mounts[%zu].source: %s is a %s; only directories and regular files can "
		         "be mounted",
		         i, m->source, file_kind(st.st_mode));
		goto out;
	}
	if (readable(out->mount_fd[i], &st) == -1) {
		unreachable(out, i, m->source);
		goto out;
	}
	if (strlen(real) >= sizeof(out->mount_real[i])) {
		snprintf(out->err, sizeof(out->err), "mounts[%zu].source: real path too long", i);
		out->status = 400;
		goto out;
	}
	if (check_target(in, i, S_ISDIR(st.st_mode), out) == -1)
		goto out;
	snprintf(out->mount_real[i], sizeof(out->mount_real[i]), "%s", real);
	ret = 0;
out:
	free(real);
	return ret;
}

/*
 * Check every mount as the caller: this thread takes on the caller's
 * identity (looked up into out->cred, which stage() uses again) for the
 * checks and gives it back before anything is made.
 */
static int
check_mounts(const struct wsfs_in *in, gid_t gid, struct wsfs_out *out)
{
	struct cred_saved saved;
	int ret = 0;

	if (in->nmounts == 0)
		return 0;
	if (cred_lookup(&out->cred, out->user, in->uid, gid) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot read the groups of %s", out->user);
		out->status = 500;
		return -1;
	}
	if (cred_enter(&out->cred, &saved) == -1) {
		snprintf(out->err, sizeof(out->err),
		         "cannot check mounts as uid %u (wsd needs CAP_SETGID): %s",
		         (unsigned)in->uid, strerror(errno));
		out->status = 500;
		return -1;
	}
	for (size_t i = 0; i < in->nmounts && ret == 0; i++)
		ret = check_mount(in, i, out);
	cred_leave(&saved);
	return ret;
}

/*
 * Remove dir and the entries in it, never recursing: a workspace directory
 * holds plain files only. With staged set, each entry is a staging point:
 * unmounted first (not mounted, after a start that failed half-way, is
 * fine), then removed; rmdir and unlink both refuse (EBUSY) while something
 * is still mounted there, so a source is never touched.
 */
static int
remove_flat(const char *dir, int staged)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];
	int ret = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (staged) {
			umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
			if (rmdir(path) == -1 && (errno != ENOTDIR || unlink(path) == -1))
				ret = -1;
		} else if (unlink(path) == -1) {
			ret = -1;
		}
	}
	closedir(d);
	if (rmdir(dir) == -1)
		ret = -1;
	return ret;
}

/*
 * Targets in the home. The engine would resolve /home/USER/... inside the
 * container through the student's own directories, following any link the
 * student plants there, at any time before it mounts. So wsd binds the
 * home (home_root/USER) onto stage_dir/home, private, and binds each
 * staged source onto its target inside that copy itself: the target is
 * reached by a walk as the caller from the staged home (no link followed,
 * missing directories made by and for the caller) and named by the walk's
 * descriptor, never by a path. The engine gets stage_dir/home, with these
 * mounts on it, for /home/USER (a recursive bind, as always) and no mount
 * of its own for such a target. A read-only source stays read-only: a
 * bind copies the staged mount's flags.
 */
static int
stage_home(const struct wsfs_in *in, struct wsfs_out *out)
{
	char dir[WS_PATH_MAX], fdpath[32];
	struct cred_saved saved;
	struct stat st;
	size_t i, end = 0;
	int home = -1, top = -1, t = -1, ret = -1, any = 0;

	for (i = 0; i < in->nmounts; i++)
		any |= home_rest(in->mounts[i].target, out->user) != NULL;
	if (!any)
		return 0;
	out->status = 500;
	snprintf(dir, sizeof(dir), "%s/home", in->stage_dir);
	home = open(out->home, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home == -1 || fstat(home, &st) == -1 || st.st_uid != in->uid) {
		snprintf(out->err, sizeof(out->err), "%s is not a directory owned by %s", out->home,
		         out->user);
		goto out;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", home);
	if (mkdir(dir, 0700) == -1 || mount(fdpath, dir, NULL, MS_BIND | MS_REC, NULL) == -1 ||
	    mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) == -1 ||
	    (top = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot stage the home at %s: %s", dir,
		         strerror(errno));
		goto out;
	}
	for (i = 0; i < in->nmounts; i++) {
		const char *target = in->mounts[i].target, *rest = home_rest(target, out->user);
		int r, e;

		if (rest == NULL)
			continue;
		if (fstat(out->mount_fd[i], &st) == -1 || cred_enter(&out->cred, &saved) == -1) {
			snprintf(out->err, sizeof(out->err), "mounts[%zu]: %s", i, strerror(errno));
			goto out;
		}
		r = target_walk(top, rest, S_ISDIR(st.st_mode), 1, &t, &end);
		e = errno;
		cred_leave(&saved);
		if (r == -1) {
			target_refused(out, i, target, (size_t)(rest - target) + end, e);
			goto out;
		}
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", t);
		if (mount(out->mount_src[i], fdpath, NULL, MS_BIND, NULL) == -1) {
			snprintf(out->err, sizeof(out->err), "cannot mount mounts[%zu] at %s: %s",
			         i, target, strerror(errno));
			goto out;
		}
		close(t);
		t = -1;
		out->mount_src[i][0] = '\0';
	}
	ret = 0;
out:
	if (t != -1)
		close(t);
	if (top != -1)
		close(top);
	if (home != -1)
		close(home);
	return ret;
}

/*
 * Bind each checked object (out->mount_fd[i]) onto in->stage_dir/i, private
 * and, for :ro, read-only; out->mount_src[i] names the staging point,
 * or is empty for a target in the home (stage_home mounted it there).
 */
static int
stage(const struct wsfs_in *in, struct wsfs_out *out)
{
	char fdpath[32];
	struct stat st;
	size_t i;
	int fd;

	if (in->nmounts == 0)
		return 0;
	if (wsfs_mkdirs(in->stage_dir, 0700) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot create %s: %s", in->stage_dir,
		         strerror(errno));
		return -1;
	}
	for (i = 0; i < in->nmounts; i++) {
		char *dst = out->mount_src[i];

		snprintf(dst, sizeof(out->mount_src[i]), "%s/%zu", in->stage_dir, i);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", out->mount_fd[i]);
		if (fstat(out->mount_fd[i], &st) == -1)
			goto fail;
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dst, 0700) == -1)
				goto fail;
		} else {
			fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd == -1)
				goto fail;
			close(fd);
		}
		if (mount(fdpath, dst, NULL, MS_BIND, NULL) == -1 ||
		    mount(NULL, dst, NULL, MS_PRIVATE, NULL) == -1)
			goto fail;
		if (in->mounts[i].read_only &&
		    mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		          NULL) == -1)
			goto fail;
	}
	if (stage_home(in, out) == -1) {
		wsfs_unstage(in->stage_dir);
		return -1;
	}
	return 0;
fail:
	snprintf(out->err, sizeof(out->err),
	         "cannot stage mounts[%zu] at %s (wsd needs CAP_SYS_ADMIN and the engine's "
	         "mount namespace): %s",
	         i, out->mount_src[i], strerror(errno));
	wsfs_unstage(in->stage_dir);
	return -1;
}

int
wsfs_unstage(const char *stage_dir)
{
	return remove_flat(stage_dir, 1);
}

static int prepare(const struct wsfs_in *in, struct wsfs_out *out);

/*
 * state_dir/workspaces/ID, 0711 root: the container's /etc/wslab, which
 * its user must search; on the host, workspaces/ (0700) keeps everyone
 * but root out.
 */
static int
make_ws_dir(const char *ws_dir)
{
	char parent[512], *slash;

	snprintf(parent, sizeof(parent), "%s", ws_dir);
	slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (wsfs_mkdirs(parent, 0700) == -1)
			return -1;
	}
	return wsfs_mkdirs(ws_dir, 0711);
}

int
wsfs_prepare(const struct wsfs_in *in, struct wsfs_out *out)
{
	int ret;

	for (size_t i = 0; i < WS_MOUNTS_MAX; i++)
		out->mount_fd[i] = -1;
	out->cred.groups = NULL;
	ret = prepare(in, out);
	for (size_t i = 0; i < WS_MOUNTS_MAX; i++)
		if (out->mount_fd[i] != -1)
			close(out->mount_fd[i]);
	cred_free(&out->cred);
	return ret;
}

static int
prepare(const struct wsfs_in *in, struct wsfs_out *out)
{
	struct passwd pw;
	struct group gr;
	char *pbuf = NULL, *gbuf = NULL, gname[UNIX_NAME_MAX + 1], text[8192], pub[128];
	int found;

	out->status = 500;
	/* The same lookups as the request's identity: read in full, or refused. */
	found = ident_passwd(in->uid, NULL, &pw, &pbuf);
	if (found != 1) {
		if (found == 0)
			snprintf(out->err, sizeof(out->err),
			         "uid %u has no entry in the user database", (unsigned)in->uid);
		else
			snprintf(out->err, sizeof(out->err), "cannot read the user database: %s",
			         strerror(errno));
		out->status = found == 0 ? 403 : 503;
		free(pbuf);
		return -1;
	}
	if (strlen(pw.pw_name) >= sizeof(out->user)) {
		snprintf(out->err, sizeof(out->err), "user name too long");
		out->status = 403;
		free(pbuf);
		return -1;
	}
	snprintf(out->user, sizeof(out->user), "%s", pw.pw_name);
	out->gid = pw.pw_gid;
	free(pbuf);
	/* The primary group's name for the container's /etc/group (the user's name without one). */
	found = ident_group(out->gid, NULL, &gr, &gbuf);
	snprintf(gname, sizeof(gname), "%s",
	         found == 1 && strlen(gr.gr_name) < sizeof(gname) ? gr.gr_name : out->user);
	free(gbuf);

	/* Before anything is made: a refused mount leaves no trace. */
	if (check_mounts(in, out->gid, out) == -1)
		return -1;
	out->status = 500;
	if (make_home(in, out) == -1)
		return -1;
	if (make_ws_dir(in->ws_dir) == -1) {
		snprintf(out->err, sizeof(out->err), "cannot create %s: %s", in->ws_dir,
		         strerror(errno));
		return -1;
	}
	if (write_file(in->ws_dir, "jupyter_token", in->token, 0400, in->uid, out->gid, out) == -1)
		goto fail;
	{
		char path[600], err[256];

		snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key", in->ws_dir);
		if (sshkey_generate(path, pub, sizeof(pub), err, sizeof(err)) == -1 ||
		    chown(path, in->uid, out->gid) == -1) {
			snprintf(out->err, sizeof(out->err), "host key: %s", err);
			goto fail;
		}
		snprintf(out->host_key_pub, sizeof(out->host_key_pub), "%s", pub);
		snprintf(text, sizeof(text), "%s\n", pub);
		if (write_file(in->ws_dir, "ssh_host_ed25519_key.pub", text, 0644, 0, 0, out) == -1)
			goto fail;
	}
	{
		char *keys = wsfs_authorized_keys(in->keys, in->nkeys);
		int r =
		    write_file(in->ws_dir, "authorized_keys", keys, 0400, in->uid, out->gid, out);

		free(keys);
		if (r == -1)
			goto fail;
	}
	snprintf(text, sizeof(text),
	         "root:x:0:0:root:/root:/usr/sbin/nologin\n"
	         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	         "%s:x:%u:%u:%s:/home/%s:/bin/bash\n",
	         out->user, (unsigned)in->uid, (unsigned)out->gid, out->user, out->user);
	if (write_file(in->ws_dir, "passwd", text, 0644, 0, 0, out) == -1)
		goto fail;
	if (out->gid == 0)
		snprintf(text, sizeof(text), "root:x:0:\nnogroup:x:65534:\n");
	else
		snprintf(text, sizeof(text), "root:x:0:\nnogroup:x:65534:\n%s:x:%u:\n", gname,
		         (unsigned)out->gid);
	if (write_file(in->ws_dir, "group", text, 0644, 0, 0, out) == -1)
		goto fail;
	if (!in->direct && stage(in, out) == -1)
		goto fail;
	return 0;
fail:
	wsfs_remove(in->ws_dir);
	return -1;
}

char *
wsfs_authorized_keys(char *const *keys, size_t n)
{
	size_t len = 1, off = 0;
	char *text;

	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + 1;
	text = xmalloc(len);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(keys[i]);

		memcpy(text + off, keys[i], k);
		off += k;
		text[off++] = '\n';
	}
	text[off] = '\0';
	return text;
}

int
wsfs_remove(const char *ws_dir)
{
	return remove_flat(ws_dir, 0);
}

int
wsfs_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}
