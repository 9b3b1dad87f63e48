/*
 * The one place that decides what a workspace container may do: a pure
 * function from the validated request, the template, the user and the
 * allocated ports to the engine's container-create body.
 */
#ifndef WSD_SPEC_H
#define WSD_SPEC_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"
#include "types.h"

#define SPEC_JUPYTER_PORT 8888
#define SPEC_SSH_PORT 2222

struct spec_in {
	const char *id;    /* workspace id */
	const char *name;  /* workspace name */
	const char *owner; /* user name */
	uid_t uid;
	gid_t gid;
	const struct template *tmpl;
	int64_t memory;
	int64_t shm;
	double cpus;
	const char *home_src; /* host directory mounted as the home */
	const char *etc_src;  /* host directory mounted at /etc/wslab */
	const char *publish_address;
	int jupyter_port; /* host ports */
	int ssh_port;
	int64_t created_at;           /* unix seconds */
	int64_t expires_at;           /* unix seconds; 0: no lifetime limit */
	double gpu_hours;             /* the weekly GPU-hours limit in force; < 0: none */
	int64_t idle_timeout;         /* seconds; < 0: never reclaimed when idle */
	const char *const *gpu_uuids; /* the GPUs handed to the workspace */
	size_t ngpus;
	const char *gpu_mode; /* "nvidia" (DeviceRequests driver) or "cdi" */
	const char *instance; /* which wsd manages it (label wslab.instance) */
	const char *network;  /* the engine network it joins; NULL: "bridge" */
	const char *node_id;  /* swarm: the node it is placed on */
	/*
	 * User mounts: mounts[i] as checked (its source the real path, shown in
	 * the label wslab.mounts), mount_src[i] what the engine binds (the
	 * staging point). mount_src NULL: each mounts[i].source; mount_src[i]
	 * NULL: no engine mount, wsd mounted it inside home_src (a target in
	 * the home), but it is in the label.
	 */
	const struct mount_req *mounts;
	const char *const *mount_src;
	size_t nmounts;
};

/* User mounts as shown to users and kept in the label wslab.mounts. */
json_t *spec_mounts_json(const struct mount_req *m, size_t n);

/* Returns a new reference to the create body, or NULL when out of memory. */
json_t *spec_build(const struct spec_in *in);

#endif
