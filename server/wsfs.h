/*
 * A workspace's files on the host: the owner's home under home_root and
 * the per-workspace directory under state_dir/workspaces/ID that is
 * mounted read-only at /etc/wslab (token, SSH host key, authorized keys,
 * passwd and group). Blocking file I/O: called on pool threads only.
 */
#ifndef WSD_WSFS_H
#define WSD_WSFS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "cred.h"
#include "types.h"

struct wsfs_in {
	uid_t uid;
	const char *home_root;
	const char *ws_dir;    /* state_dir/workspaces/ID */
	const char *stage_dir; /* state_dir/mounts/ID: where user mounts are staged */
	const char *token;
	char *const *keys;
	size_t nkeys;
	/* The mount policy (the config's lists), copied: a reload may replace them. */
	const char *mount_roots, *shared_mount_roots, *mount_points;
	const struct mount_req *mounts;
	size_t nmounts;
	/*
	 * Swarm mode: another host's engine binds each source by its path, so
	 * nothing is staged; only read-only sources in a shared root whose
	 * every directory from the root down is root's and writable by root
	 * alone (no one else can swap a part of the path) are accepted.
	 */
	int direct;
};

struct wsfs_out {
	char user[UNIX_NAME_MAX + 1];
	gid_t gid;
	char home[512];                              /* host path of the home */
	char host_key_pub[128];                      /* "ssh-ed25519 B64" */
	char mount_real[WS_MOUNTS_MAX][WS_PATH_MAX]; /* real path of each mount's source */
	char mount_src[WS_MOUNTS_MAX][WS_PATH_MAX];  /* its staging point: what the engine binds */
	/* (empty: in the staged home, stage_dir/home) */
	int mount_fd[WS_MOUNTS_MAX]; /* internal: the checked objects */
	struct cred cred;            /* internal: the caller, for mounts */
	char err[WS_PATH_MAX + 256];
	int status; /* HTTP status to report on error */
};

/*
 * Look the user up, check the user's mounts (nothing is made when one is
 * refused), make the home and the workspace directory, and stage the
 * mounts: bind what was checked onto stage_dir/N. 0 or -1.
 */
int wsfs_prepare(const struct wsfs_in *in, struct wsfs_out *out);
/*
 * Unmount and remove the staging points and stage_dir; the sources are
 * never touched. 0, or -1 when something stays (it is still mounted).
 */
int wsfs_unstage(const char *stage_dir);
/*
 * The text of authorized_keys: each key on its own line, as long as the
 * keys are, so that whatever validation accepted (WS_KEYS_MAX keys of
 * WS_KEY_LEN_MAX bytes) is written whole and a start is never refused for
 * its keys after the home was made. Freed by the caller.
 */
char *wsfs_authorized_keys(char *const *keys, size_t n);
/* Remove the workspace directory (never the home). 0 or -1. */
int wsfs_remove(const char *ws_dir);
/* Read a small file into buf (NUL-terminated, trailing newline cut). 0 or -1. */
int wsfs_read(const char *path, char *buf, size_t len);
/*
 * mkdir -p: the components it creates get exactly mode, whatever the
 * umask. 0 or -1 (errno set).
 */
int wsfs_mkdirs(const char *path, mode_t mode);
/*
 * wsd's own state, root's only whatever the umask or an older wsd left:
 * state_dir (0711: searchable, so that a home_root inside it stays
 * reachable, never listed), state_dir/workspaces and state_dir/mounts
 * (0700), wsd.db and its -wal and -shm (0600). Each must be wsd's and no
 * link; missing ones are made and wider modes narrowed. 0, or -1 with err.
 */
int wsfs_state_init(const char *state_dir, char *err, size_t errlen);
/* shared_dir (swarm mode) and its workspaces/, as state_dir's. */
int wsfs_shared_init(const char *shared_dir, char *err, size_t errlen);

#endif
