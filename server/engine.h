/*
 * The engine seam: what the lifecycle asks of whatever runs workspaces.
 *
 * workspace.c and reconcile.c ask for "create this workspace's
 * container", "is it still running", "remove it"; a backend owns how:
 * its URL paths, object names, labels, timeouts and the reading of its
 * replies. The one backend today is a single Docker Engine
 * (engine_docker.c); a Swarm backend implements the same operations
 * with services, the way each of Redis's ae_*.c implements the same
 * aeApi* functions for its poller.
 *
 * Promises every backend keeps (docs/design.md, "The engine seam"):
 * - A call either returns -1 at once (nothing was sent, the callback
 *   never runs) or returns 0 and its callback runs exactly once, later,
 *   on the loop: never from inside the call.
 * - The result is borrowed for the callback only.
 * - ENGINE_UNREACHABLE means the engine did not answer: the operation
 *   may or may not have happened. Every other status is the engine's
 *   definite answer.
 * - "Gone" (ENGINE_GONE) means no object of that reference exists; a
 *   remove of something gone is success (remove is idempotent), and so
 *   is a stop of something already stopped.
 */
#ifndef WSD_ENGINE_H
#define WSD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "labels.h"
#include "spec.h"

enum engine_status {
	ENGINE_OK,
	ENGINE_GONE,        /* no such object (or, for create: no such image) */
	ENGINE_UNREACHABLE, /* no answer: it may or may not have happened */
	ENGINE_PORT_TAKEN,  /* start: a host port is held by another program */
	ENGINE_REFUSED,     /* any other definite no; message says why */
};

/* One workspace object as the engine reports it. */
struct engine_ws {
	const char *ref;   /* the engine's id of the object */
	const char *image; /* as the engine names it; NULL: unknown */
	int exists;
	int running;
	int jupyter_port, ssh_port; /* host ports the engine bound; 0: unknown */
	const char *node_id;        /* swarm: the node it is placed on; NULL: the one engine */
	struct ws_labels labels;    /* read back (lists only) */
};

struct engine_result {
	enum engine_status status;
	const char *message;         /* a reason fit for a student, or NULL */
	const char *ref;             /* create: the new object's reference */
	struct engine_ws ws;         /* inspect */
	const struct engine_ws *all; /* list: every workspace object of this instance */
	size_t n;
	const char *log_line;     /* logs: the last non-empty line, sanitised ("" none) */
	const char *const *procs; /* top: each process's command line */
	size_t nprocs;
};

typedef void engine_cb(void *arg, const struct engine_result *r);

/* A logs read in flight (engine_logs), and its output as it arrives. */
struct engine_logs;
typedef void engine_data_cb(void *arg, const char *data, size_t len);

/* What happened to a workspace object, from the engine's event stream. */
enum engine_event_kind {
	ENGINE_EV_CREATED, /* made or started (by us, or by a create we gave up on) */
	ENGINE_EV_DIED,    /* exited */
	ENGINE_EV_REMOVED, /* removed */
};

struct engine_event {
	enum engine_event_kind kind;
	const char *ref;
	const char *ws_id;     /* its wslab.workspace label, or NULL */
	const char *exit_code; /* DIED: as the engine says it, or NULL */
};

/* What the engine said at connect time. */
struct engine_hello {
	int ok;
	int fatal;         /* the engine is too old: retrying will not help */
	const char *error; /* when !ok */
	const char *api;   /* the API version calls are pinned to */
	json_t *cdi_dirs;  /* CDI spec directories the engine reads, or NULL (borrowed) */
};

/* The operations of one backend. Every pointer is set. */
struct engine_ops {
	const char *name;
	/* Workspaces run on other servers (nodes.h): no top, addresses per node. */
	int remote;
	int (*hello)(int want_cdi, void (*cb)(const struct engine_hello *h));
	int (*create)(const struct spec_in *in, engine_cb *cb, void *arg);
	int (*start)(const char *ref, engine_cb *cb, void *arg);
	int (*inspect)(const char *ref, engine_cb *cb, void *arg);
	int (*stop)(const char *ref, int64_t grace_s, engine_cb *cb, void *arg);
	int (*remove)(const char *ref, const char *ws_id, const char *owner, const char *name,
	              engine_cb *cb, void *arg);
	int (*list)(engine_cb *cb, void *arg);
	int (*logs_tail)(const char *ref, engine_cb *cb, void *arg);
	/* The workspace's processes, as command lines (for its SSH sessions). */
	int (*top)(const char *ref, engine_cb *cb, void *arg);
	int (*logs)(const char *ref, int tail, int follow, engine_data_cb *data, engine_cb *done,
	            void *arg, struct engine_logs **handle);
	void (*logs_cancel)(struct engine_logs *h);
	void (*logs_pause)(struct engine_logs *h, int pause);
	int (*events)(void (*on_event)(const struct engine_event *ev),
	              void (*done)(const char *why));
	/* Swarm mode: remove a node that is down for good (-1 elsewhere). */
	int (*node_remove)(const char *node_id, engine_cb *cb, void *arg);
	/* Swarm mode: set (1) or clear (0) its label wslab.drain (-1 elsewhere). */
	int (*node_drain)(const char *node_id, int drain, engine_cb *cb, void *arg);
	const char *(*api_version)(void);
	void (*shutdown)(void);
};

/* Backends: their operations, and their set-up from the configuration. */
extern const struct engine_ops engine_docker_ops;
int engine_docker_init(const struct config *cfg, char *err, size_t errlen);
extern const struct engine_ops engine_swarm_ops;
int engine_swarm_init(const struct config *cfg, char *err, size_t errlen);

/* Pick and set up the backend named by cfg. */
int engine_init(const struct config *cfg, char *err, size_t errlen);
void engine_shutdown(void);

/*
 * Ask the engine who it is and settle the API version; with want_cdi, also
 * where it reads CDI specs. cb runs once, on the loop.
 */
int engine_hello(int want_cdi, void (*cb)(const struct engine_hello *h));
/* Create the workspace's object from its spec (named and labelled by the backend). */
int engine_create(const struct spec_in *in, engine_cb *cb, void *arg);
/* Start it; ENGINE_OK also when it runs already. */
int engine_start(const char *ref, engine_cb *cb, void *arg);
/* Is it there, is it running, which host ports did the engine bind. */
int engine_inspect(const char *ref, engine_cb *cb, void *arg);
/* Ask it to end within grace_s seconds (then killed); it stays until removed. */
int engine_stop(const char *ref, int64_t grace_s, engine_cb *cb, void *arg);
/*
 * Remove it, running or not. With ref empty, the object that a create for
 * (ws_id, owner, name) may have made without telling us its reference.
 * ENGINE_OK when it is gone (also when it was never there).
 */
int engine_remove(const char *ref, const char *ws_id, const char *owner, const char *name,
                  engine_cb *cb, void *arg);
/* Every workspace object of this wsd instance, running or not, labels read. */
int engine_list(engine_cb *cb, void *arg);
/* The last line it wrote (why it exited during start-up). */
int engine_logs_tail(const char *ref, engine_cb *cb, void *arg);
/* The processes of a running workspace object (procs, nprocs). */
int engine_top(const char *ref, engine_cb *cb, void *arg);
/*
 * Its output (stdout and stderr as written, demultiplexed): the last tail
 * lines, then with follow what it writes until it stops. data gets the
 * bytes in pieces of any size (a line may be split); done runs once at
 * the end: OK, GONE, UNREACHABLE or REFUSED. Neither runs inside the call
 * or after engine_logs_cancel. *handle is set on success.
 */
int engine_logs(const char *ref, int tail, int follow, engine_data_cb *data, engine_cb *done,
                void *arg, struct engine_logs **handle);
/* Abandon a read: no callback runs after this. */
void engine_logs_cancel(struct engine_logs *h);
/* Stop (1) or resume (0) the transfer: what a slow reader does not take is not buffered. */
void engine_logs_pause(struct engine_logs *h, int pause);
/* Follow what happens to this instance's objects until the stream ends. */
int engine_events(void (*on_event)(const struct engine_event *ev), void (*done)(const char *why));
const char *engine_api_version(void);
/* Swarm mode: forget a node that is down for good; ENGINE_OK once it is gone. */
int engine_node_remove(const char *node_id, engine_cb *cb, void *arg);
/* Swarm mode: no new workspaces on a node (drain 1), or again (0); running ones stay. */
int engine_node_drain(const char *node_id, int drain, engine_cb *cb, void *arg);
/* Do workspaces run on other servers (swarm mode)? */
int engine_remote(void);

#endif
