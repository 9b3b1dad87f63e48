/*
 * The SQL of wsd's records, beside the schema (store.c): workspaces and
 * their allocations, usage, quotas. Callers pass plain values; no other
 * file writes SQL.
 */
#ifndef WSD_STORE_WS_H
#define WSD_STORE_WS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* One workspace as recorded: its row and what it holds. */
struct store_ws_row {
	const char *id, *name, *owner, *tmpl, *container_id;
	unsigned uid;
	int64_t created_at, expires_at, ready_at; /* 0: none */
	int64_t extended;                         /* seconds added by wsctl extend */
	const char *const *gpu_uuids;
	size_t ngpus;
	int ports[2]; /* 0: none */
};

/* Add the row and its allocations (replacing earlier ones) to tx. */
void store_ws_record_tx(struct store_tx *tx, const struct store_ws_row *w);
/* The audit row of an accepted start, in the start's transaction. */
void store_ws_accepted_tx(struct store_tx *tx, const struct store_ws_row *w);
/* Record (or update) on its own. */
void store_ws_record(const struct store_ws_row *w);
/* Gone: its row and allocations go, its open usage is closed at when. */
void store_ws_unrecord(const char *id, double when);
/* Usage counts from started_at (it became ready) ... */
void store_usage_open(const char *id, const char *owner, unsigned uid, const char *name, int gpus,
                      double started_at);
/* ... until when it stopped being usable. */
void store_usage_close(const char *id, double when);

/* wsctl extend: the new deadline and the extension so far; cb gets the store's answer. */
int store_ws_extend(const char *id, int64_t expires_at, int64_t extended, store_cb *cb, void *arg);
/* Idle reclaim's clock of a workspace: its last activity, when warned (0: not). */
void store_ws_idle(const char *id, double idle_since, double warned_at);
/* Queued starts (queue.c): on record, gone (alone or in a dispatch's transaction). */
void store_queue_add(const char *id, int64_t seq, const char *name, const char *owner, unsigned uid,
                     double queued_at, int wait, const char *groups, const char *request);
void store_queue_remove(const char *id);
void store_queue_remove_tx(struct store_tx *tx, const char *id);
/* Start-up: every queued start, in arrival order. */
int store_load_queue(json_t **rows, char *err, size_t errlen);

/* Quota entries: set (limits as JSON text) or remove; cb gets the store's answer. */
int store_quota_put(const char *kind, const char *name, const char *limits, store_cb *cb,
                    void *arg);
int store_quota_rm(const char *kind, const char *name, store_cb *cb, void *arg);

/* Per-user usage within [since, now] (admin usage), rows for cb. */
int store_read_usage(double since, double now, store_cb *cb, void *arg);
/* One user's usage records overlapping [since, now]: {gpus, started_at, stopped_at}. */
int store_read_usage_of(unsigned uid, double since, double now, store_cb *cb, void *arg);
/* The newest limit audit events since, oldest first. */
int store_read_audit(double since, long limit, store_cb *cb, void *arg);

/* The kept last lines of a failed workspace: put (replacing that name's) or drop. */
void store_failed_log_put(unsigned uid, const char *owner, const char *name, const char *id,
                          double at, const char *text);
void store_failed_log_rm(unsigned uid, const char *name);

/*
 * Start-up loads (synchronous, before the loop): rows of
 * {kind, name, limits}; {owner, gpus, started_at, stopped_at} of closed
 * usage since; {id, expires_at, extended, ready_at, container_id, usage_start,
 * idle_since, idle_warned_at} of
 * the workspaces on record. store_load_usage first closes usage left open
 * by a wsd that died with no record of its workspace.
 */
int store_load_quotas(json_t **rows, char *err, size_t errlen);
int store_load_usage(double since, double now, json_t **rows, char *err, size_t errlen);
int store_load_workspaces(json_t **rows, char *err, size_t errlen);
/* {uid, owner, name, workspace_id, at, lines} kept since, oldest first; older ones are deleted. */
int store_load_failed_logs(double since, json_t **rows, char *err, size_t errlen);

#endif
