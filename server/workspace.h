/*
 * Workspaces and their lifecycle. One state machine, driven by engine
 * replies, probe results and timers:
 *
 *   [queued] -> preparing -> [pending] -> creating -> starting -> waiting -> ready
 *      |            \____________\____________\__________\__________\___> failed
 *      '-> stopped (cancelled)                                    ready -> stopping -> stopped
 *
 * A start waits in "queued" for GPUs (queue.c) only when it asked to
 * (--queue, --wait) and they are not free; it holds nothing but its name
 * and its place. A start waits in "pending" for a boot slot (boot.c)
 * only when a class starts at once; one start alone never waits.
 *
 * Every state change goes through one function (ws_set_state), which
 * logs it at debug level. Every path into "failed" removes what the
 * start made and frees its ports and GPUs. Workspaces are refcounted: a
 * pending engine call, probe or waiting client holds a reference.
 *
 * What a workspace asks of the engine goes through engine.h; its JSON
 * is written by wsjson.c; a restarted wsd finds it again in reconcile.c.
 */
#ifndef WSD_WORKSPACE_H
#define WSD_WORKSPACE_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <uv.h>

#include "boot.h"
#include "config.h"
#include "quotas.h"
#include "types.h"
#include "valid.h"

enum ws_state {
	WS_QUEUED, /* waits for GPUs; holds no GPUs or ports (queue.c) */
	WS_PREPARING,
	WS_PENDING, /* holds its quota, GPUs and ports; waits for a boot slot */
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
	LIST_ENTRY(ws_waiter) link;
};

LIST_HEAD(ws_waiters, ws_waiter);
TAILQ_HEAD(ws_list, workspace);

struct workspace {
	int refs;
	char id[13];
	char name[WS_NAME_MAX + 1];
	char owner[UNIX_NAME_MAX + 1];
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
	char container_id[65]; /* the engine's reference of its object */
	int jupyter_port, ssh_port;
	int gpu_pos[GPU_MAX]; /* inventory positions of its GPUs */
	int ngpus;
	int node; /* swarm: its node's position in nodes.h's table; -1: the one engine */
	int64_t created_at, ready_at;
	int64_t expires_at;      /* 0: no lifetime limit */
	int64_t extended;        /* seconds wsctl extend added to its lifetime */
	int64_t lifetime_warned; /* its owner was warned of this expires_at; 0: not */
	int extending;           /* an extension is being written */
	double gpu_hours;        /* the owner's weekly GPU-hours limit at its start; < 0: none */
	int gpu_hours_warned;
	/* idle reclaim (idle.c) */
	int64_t idle_timeout;  /* seconds, the owner's limit at its start; < 0: never */
	double idle_since;     /* its last activity seen, unix seconds; 0: not ready yet */
	double idle_warned_at; /* its owner was warned then; 0: not */
	double idle_stored;    /* idle_since as the store has it */
	double last_gpu, last_jupyter, last_ssh; /* evidence: last seen active; 0: never */
	int idle_checks;                         /* checks completed by this wsd */
	int idle_checking;                       /* a check in flight */
	uint64_t idle_next;                      /* loop time of its next check */
	double usage_start;   /* when it became ready (usage counts from here); 0: not yet */
	double usage_counted; /* usage up to this time is in the metrics' counter */
	uint64_t start_ns;    /* uv_hrtime() of an accepted start; 0: adopted */
	uint64_t state_ns;    /* uv_hrtime() it entered its state */
	int start_timed;      /* its start's outcome is observed */
	int recorded;         /* its row is in the store */
	enum ws_state state;
	int stop_requested;
	int adopted;
	int seen;                /* listed by the engine in the last reconcile */
	int create_sent;         /* an engine object may exist even without a reference */
	int port_retries;        /* starts retried on other ports (a port was taken meanwhile) */
	int logs_kept;           /* failed: its last lines were asked for (wslogs.c) */
	struct api_error *error; /* set once it failed */
	struct boot_ticket boot; /* its place in the boot pacing */
	/* queued (queue.c) */
	double queued_at;   /* 0: never queued */
	int64_t queue_seq;  /* arrival order */
	int want_gpus;      /* GPUs it waits for */
	int queue_wait;     /* queued for a client that waits (--wait), not --queue */
	int queue_pos;      /* 1-based, from the last plan */
	int queue_reserved; /* the blocked head: freed GPUs wait for it */
	double queue_eta;   /* estimated start from the last plan; < 0: unknown */
	int memory_given, shm_given, cpus_given;
	char (*groups)[UNIX_NAME_MAX + 1]; /* its owner's, for the quota at dispatch */
	size_t ngroups;
	/* readiness */
	uv_timer_t timer;
	uint64_t deadline;
	int jupyter_ok, ssh_ok, probes_out, attempts;
	struct ws_waiters waiters;
	TAILQ_ENTRY(workspace) link;
};

struct ws_ctx {
	uv_loop_t *loop;
	const struct config *cfg;
	char public_host[256];
	char probe_host[64]; /* where this server reaches workspace ports */
	/* The host a laptop jumps through to reach workspace ports ("" when it
	 * reaches them directly), and whether they are on loopback only. */
	char jump_host[300];
	int ports_local;
	int host_cpus;
	const char *gpu_mode; /* "nvidia" or "cdi" */
};

/*
 * What the layers above the lifecycle decide or want to hear of: the GPU
 * queue (queue.c), idle reclaim (idle.c) and the logs of failures
 * (wslogs.c). main.c registers them at start-up, so that the lifecycle
 * calls up into them without depending on them (the way http.c calls
 * api_handle). Any may be NULL: nothing is queued, kept or told.
 */
struct ws_hooks {
	/* The GPU queue: may a start of ngpus (lifetime in seconds; < 0 none) start now? */
	int (*would_start)(int ngpus, double lifetime);
	/* Why a start that may not wait is refused. */
	void (*refuse)(int ngpus, struct api_error *err);
	/* A registered workspace in state queued joins the queue. */
	void (*enqueue)(struct workspace *ws);
	/* GPUs or quota came free, or the queue changed: dispatch now. */
	void (*changed)(void);
	/* Someone wants GPUs that are held. */
	void (*gpu_demand)(void);
	/* A failed workspace's last lines, read before its object goes: 0 and done later, or -1. */
	int (*keep_logs)(struct workspace *ws, void (*done)(struct workspace *ws));
	/* A failure with no object to read: keep its reason. */
	void (*keep_reason)(const struct workspace *ws);
	/* A start takes a name: what was kept of an earlier one is history. */
	void (*name_taken)(uid_t uid, const char *name);
};

void ws_init(uv_loop_t *loop, const struct config *cfg);
void ws_set_hooks(const struct ws_hooks *hooks);
/* Take up what a reload changed (cfg is the same, updated, struct). */
void ws_configure(const struct config *cfg);
void ws_shutdown(void);
int ws_shutting_down(void);
const struct ws_ctx *ws_context(void);
/* The host its ports are reached at: by users (URLs, ssh), and by wsd's probes. */
const char *ws_public_host(const struct workspace *ws);
const char *ws_probe_host(const struct workspace *ws);
void ws_set_gpu_mode(const char *mode);

/* Move the metrics' GPU-seconds counter up to now for every ready workspace. */
void ws_usage_metrics(void);

/* Every workspace wsd knows, newest first. */
struct ws_list *ws_registry(void);
#define WS_FOREACH(ws) TAILQ_FOREACH(ws, ws_registry(), link)

/* What who holds now: workspaces, GPUs, GPU-seconds of the rolling week. */
void ws_quota_use(const struct ws_who *who, struct quota_use *use);

/*
 * Begin a start for uid. On success returns the new workspace (the caller
 * holds one reference) and the request's keys are moved into it; on
 * refusal returns NULL and fills err. Nothing is created on refusal.
 */
struct workspace *ws_start(struct start_req *req, const struct ws_who *who, struct api_error *err);
/*
 * For queue.c: a queued workspace's quota now (0, or -1 with err), and
 * its start: it takes ports and GPUs and goes on as ws_start's do.
 * Returns 0, or -1 when it failed (its waiters were told).
 */
int ws_queued_quota(struct workspace *ws, struct api_error *err);
int ws_dispatch(struct workspace *ws);
/* For queue.c: a queued workspace read back from the store joins the registry. */
void ws_requeue(struct workspace *ws);
/* Tell a workspace's waiters where it stands now. */
void ws_progress(struct workspace *ws);
/* Stop a workspace; ev STOPPED reaches its waiters when it is gone. */
void ws_stop(struct workspace *ws);
/* Stop on behalf of someone (audited): "stop", "admin_stop" or "expire". */
void ws_stop_by(struct workspace *ws, const char *actor, unsigned actor_uid, const char *why);

struct workspace *ws_find(uid_t uid, const char *name_or_id);
struct workspace *ws_find_id(const char *id);
struct workspace *ws_find_ref(const char *container_id);

void ws_ref(struct workspace *ws);
void ws_unref(struct workspace *ws);
void ws_wait(struct workspace *ws, struct ws_waiter *w);
void ws_unwait(struct workspace *ws, struct ws_waiter *w);

const char *ws_state_name(enum ws_state s);

/*
 * For reconcile.c: a workspace found running on the engine, filled in by
 * the caller (id, owner, limits, ports, GPUs held), joins the registry;
 * ready_at > 0 makes it ready at once, else it is probed until ready.
 */
struct workspace *ws_new(void);
void ws_free_unregistered(struct workspace *ws);
void ws_adopt(struct workspace *ws);
/* Fail: say why to its waiters and tear it down (once). */
void ws_fail(struct workspace *ws, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Where its files are: state_dir/workspaces/ID. */
void ws_dir(const char *id, char *buf, size_t len);

#endif
