/*
 * Workspaces and their lifecycle. One state machine, driven by engine
 * replies, probe results and timers:
 *
 *   preparing -> creating -> starting -> waiting -> ready -> stopping -> stopped
 *        \__________\___________\__________\______________> failed
 *
 * Every path into "failed" removes the container and the workspace
 * directory it made and frees its ports. Workspaces are refcounted: a
 * pending engine call, probe or waiting client holds a reference.
 */
#ifndef WSD_WORKSPACE_H
#define WSD_WORKSPACE_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "quota.h"
#include "valid.h"

enum ws_state {
	WS_PREPARING,
	WS_CREATING,
	WS_STARTING,
	WS_WAITING,
	WS_READY,
	WS_STOPPING,
	WS_STOPPED,
	WS_FAILED,
};

enum ws_event { WS_EV_PROGRESS, WS_EV_READY, WS_EV_STOPPED, WS_EV_FAILED };

struct workspace;

struct ws_waiter {
	void (*cb)(struct ws_waiter *w, struct workspace *ws, enum ws_event ev);
	struct ws_waiter *next;
};

struct workspace {
	int refs;
	char id[13];
	char name[WS_NAME_MAX + 1];
	char owner[33];
	uid_t uid;
	gid_t gid;
	const struct template *tmpl;
	char *image;
	int64_t memory, shm;
	double cpus;
	char *keys[WS_KEYS_MAX];
	size_t nkeys;
	struct mount_req mounts[WS_MOUNTS_MAX]; /* sources: real paths once prepared */
	size_t nmounts;
	char token[65];
	char host_key_pub[128];
	char container_id[65];
	int jupyter_port, ssh_port;
	int gpu_pos[GPU_MAX]; /* inventory positions of its GPUs */
	int ngpus;
	int64_t created_at, ready_at;
	int64_t expires_at; /* 0: no lifetime limit */
	double usage_start; /* when it became ready (usage counts from here); 0: not yet */
	int recorded;       /* its row is in the store */
	enum ws_state state;
	int stop_requested;
	int adopted;
	int seen;                /* listed by the engine in the last reconcile */
	int create_sent;         /* a container may exist even without an id */
	struct api_error *error; /* set once it failed */
	/* readiness */
	uv_timer_t timer;
	uint64_t deadline;
	int jupyter_ok, ssh_ok, probes_out, attempts;
	struct ws_waiter *waiters;
	struct workspace *next;
};

/* Who asks for a start: from the socket and the user and group databases. */
struct ws_who {
	uid_t uid;
	const char *user;
	const char (*groups)[QUOTA_NAME_MAX + 1];
	size_t ngroups;
};

struct ws_ctx {
	uv_loop_t *loop;
	const struct config *cfg;
	char public_host[256];
	char probe_host[64];
	int host_cpus;
	const char *gpu_mode;      /* "nvidia" or "cdi" */
	struct quota_table quotas; /* set by admins */
	struct quota deflt;        /* from the configuration */
};

int ws_init(uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);
/*
 * Load quotas, known workspaces and the week's usage from the store
 * (synchronously: at start-up, before the store thread and the loop run).
 */
int ws_load(char *err, size_t errlen);
struct quota_table *ws_quotas(void);
/* The limits that apply to who, and what they hold now. */
void ws_quota_for(const struct ws_who *who, struct quota *q, struct quota_source *src,
                  struct quota_use *use);
void ws_shutdown(void);
const struct ws_ctx *ws_context(void);
void ws_set_gpu_mode(const char *mode);

/*
 * Begin a start for uid. On success returns the new workspace (the caller
 * holds one reference) and the request's keys are moved into it; on
 * refusal returns NULL and fills err. Nothing is created on refusal.
 */
struct workspace *ws_start(struct start_req *req, const struct ws_who *who, struct api_error *err);
/* Stop a workspace; ev STOPPED reaches its waiters when it is gone. */
void ws_stop(struct workspace *ws);
/* Stop on behalf of someone (audited): "stop", "admin_stop" or "expire". */
void ws_stop_by(struct workspace *ws, const char *actor, unsigned actor_uid, const char *why);

struct workspace *ws_find(uid_t uid, const char *name_or_id);
struct workspace *ws_first(void);

void ws_ref(struct workspace *ws);
void ws_unref(struct workspace *ws);
void ws_wait(struct workspace *ws, struct ws_waiter *w);
void ws_unwait(struct workspace *ws, struct ws_waiter *w);

const char *ws_state_name(enum ws_state s);
/* Give freed memory back to the system a second after the last call. */
void ws_trim_soon(void);
/* The workspace as JSON; secrets only when viewer_uid owns it. */
json_t *ws_json(const struct workspace *ws, uid_t viewer_uid);
/* The same, its members written as text into b (no braces): for lists. */
struct jtext;
void ws_json_text(struct jtext *b, const struct workspace *ws, uid_t viewer_uid);
/*
 * Reply {"workspaces": [...]} with every workspace for which keep(ws, uid)
 * says yes (NULL: all), seen by uid. Written as text: a list of a thousand
 * costs about a millisecond.
 */
struct request;
void ws_reply_list(struct request *req, int (*keep)(const struct workspace *, uid_t));

/* An event from the engine's stream (docker_events). */
void ws_engine_event(json_t *ev);

/* Re-adopt wslab containers after a restart; done_cb runs once. */
void ws_reconcile(void (*done_cb)(int adopted, int removed, const char *err));

#endif
