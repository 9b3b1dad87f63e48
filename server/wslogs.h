/*
 * wsctl logs: a workspace's output for its owner and admins, read from
 * the engine (engine_logs) and streamed as JSON lines, the Jupyter token
 * filtered out (loglines.c). A workspace that failed leaves its last
 * lines behind: kept in memory and in the store, readable until its name
 * is started again or for WSLOGS_KEEP_S, WSLOGS_KEEP_PER_USER per user.
 */
#ifndef WSD_WSLOGS_H
#define WSD_WSLOGS_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "admin.h"
#include "http.h"

#define WSLOGS_KEEP_LINES 100
#define WSLOGS_KEEP_BYTES (16 * 1024)
#define WSLOGS_KEEP_S (24 * 3600)
#define WSLOGS_KEEP_PER_USER 5
/* Replies queued to a reader past which the engine's transfer pauses. */
#define WSLOGS_HIGH_WATER (64 * 1024)

struct workspace;

void wslogs_init(uv_loop_t *loop);
/* The kept logs on record (start-up, before the store thread). */
int wslogs_load(char *err, size_t errlen);
void wslogs_shutdown(void);

/* GET /v1/workspaces/NAME/logs and GET /v1/admin/workspaces/USER/NAME/logs. */
void wslogs_get(struct request *req, route_arg *args);
void wslogs_admin_get(struct request *req, route_arg *args);

/*
 * ws failed and its container is about to be removed: read its last lines
 * and keep them, then call done(ws). Returns 0, or -1 when nothing can be
 * read (done is not called). done never runs inside this call.
 */
int wslogs_keep(struct workspace *ws, void (*done)(struct workspace *ws));
/* ws failed with no container to read (it was never made): keep the reason alone. */
void wslogs_keep_reason(const struct workspace *ws);
/* A new start of (uid, name): what was kept of the last one goes. */
void wslogs_forget(uid_t uid, const char *name);
/* Kept logs in memory (tests). */
size_t wslogs_kept_count(void);

#endif
