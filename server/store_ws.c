/*
 * Statements on wsd's records. Each write is queued to the store thread
 * (store.c); only the start-up loads run synchronously.
 */
#include "store_ws.h"

#include <stdio.h>

#include "gpu.h"

void
store_ws_record_tx(struct store_tx *tx, const struct store_ws_row *w)
{
	char gpus[GPU_MAX * (GPU_UUID_MAX + 1)] = "", res[GPU_UUID_MAX + 8];
	size_t off = 0;

	for (size_t i = 0; i < w->ngpus; i++)
		off += (size_t)snprintf(gpus + off, sizeof(gpus) - off, "%s%s", i ? "," : "",
		                        w->gpu_uuids[i]);
	store_tx_add(
	    tx,
	    "INSERT OR REPLACE INTO workspaces (id, name, owner, uid, template, created_at, "
	    "expires_at, ready_at, container_id, gpus, extended) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    json_pack("[s, s, s, i, s, I, o, o, s, s, I]", w->id, w->name, w->owner, (int)w->uid,
	              w->tmpl, (json_int_t)w->created_at,
	              w->expires_at ? json_integer(w->expires_at) : json_null(),
	              w->ready_at ? json_integer(w->ready_at) : json_null(), w->container_id, gpus,
	              (json_int_t)w->extended));
	store_tx_add(tx, "DELETE FROM allocations WHERE workspace_id = ?", json_pack("[s]", w->id));
	for (size_t i = 0; i < w->ngpus; i++) {
		snprintf(res, sizeof(res), "gpu:%s", w->gpu_uuids[i]);
		store_tx_add(
		    tx, "INSERT OR REPLACE INTO allocations (resource, workspace_id) VALUES (?, ?)",
		    json_pack("[s, s]", res, w->id));
	}
	for (int i = 0; i < 2; i++) {
		if (w->ports[i] <= 0)
			continue;
		snprintf(res, sizeof(res), "port:%d", w->ports[i]);
		store_tx_add(
		    tx, "INSERT OR REPLACE INTO allocations (resource, workspace_id) VALUES (?, ?)",
		    json_pack("[s, s]", res, w->id));
	}
}

void
store_ws_accepted_tx(struct store_tx *tx, const struct store_ws_row *w)
{
	store_tx_add(
	    tx,
	    "INSERT INTO audit (at, actor, actor_uid, action, target, result, detail) "
	    "VALUES (?, ?, ?, 'start', ?, 'accepted', ?)",
	    json_pack("[f, s, i, s, s]", store_now(), w->owner, (int)w->uid, w->name, w->id));
}

void
store_ws_record(const struct store_ws_row *w)
{
	struct store_tx *tx = store_tx_new();

	store_ws_record_tx(tx, w);
	store_tx_run(tx, NULL, NULL);
}

void
store_ws_unrecord(const char *id, double when)
{
	struct store_tx *tx = store_tx_new();

	store_tx_add(tx, "DELETE FROM workspaces WHERE id = ?", json_pack("[s]", id));
	store_tx_add(tx, "DELETE FROM idle WHERE workspace_id = ?", json_pack("[s]", id));
	store_tx_add(
	    tx, "UPDATE usage SET stopped_at = ? WHERE workspace_id = ? AND stopped_at IS NULL",
	    json_pack("[f, s]", when, id));
	store_tx_run(tx, NULL, NULL);
}

void
store_usage_open(const char *id, const char *owner, unsigned uid, const char *name, int gpus,
                 double started_at)
{
	store_run("INSERT OR REPLACE INTO usage (workspace_id, owner, uid, name, gpus, "
	          "started_at) VALUES (?, ?, ?, ?, ?, ?)",
	          json_pack("[s, s, i, s, i, f]", id, owner, (int)uid, name, gpus, started_at),
	          NULL, NULL);
}

void
store_usage_close(const char *id, double when)
{
	store_run("UPDATE usage SET stopped_at = ? WHERE workspace_id = ? AND stopped_at IS NULL",
	          json_pack("[f, s]", when, id), NULL, NULL);
}

int
store_quota_put(const char *kind, const char *name, const char *limits, store_cb *cb, void *arg)
{
	return store_run("INSERT OR REPLACE INTO quotas (kind, name, limits, updated_at) "
	                 "VALUES (?, ?, ?, ?)",
	                 json_pack("[s, s, s, f]", kind, name, limits, store_now()), cb, arg);
}

int
store_quota_rm(const char *kind, const char *name, store_cb *cb, void *arg)
{
	return store_run("DELETE FROM quotas WHERE kind = ? AND name = ?",
	                 json_pack("[s, s]", kind, name), cb, arg);
}

int
store_load_quotas(json_t **rows, char *err, size_t errlen)
{
	return store_query_sync("SELECT kind, name, limits FROM quotas", NULL, rows, err, errlen);
}

int
store_load_usage(double since, double now, json_t **rows, char *err, size_t errlen)
{
	if (store_query_sync("UPDATE usage SET stopped_at = ? WHERE stopped_at IS NULL AND "
	                     "workspace_id NOT IN (SELECT id FROM workspaces)",
	                     json_pack("[f]", now), NULL, err, errlen) == -1)
		return -1;
	return store_query_sync("SELECT owner, gpus, started_at, stopped_at FROM usage WHERE "
	                        "stopped_at IS NOT NULL AND stopped_at > ? AND gpus > 0",
	                        json_pack("[f]", since), rows, err, errlen);
}

int
store_load_workspaces(json_t **rows, char *err, size_t errlen)
{
	return store_query_sync("SELECT w.id AS id, w.expires_at AS expires_at, w.extended AS "
	                        "extended, w.ready_at AS "
	                        "ready_at, w.container_id AS container_id, u.started_at AS "
	                        "usage_start, i.idle_since AS idle_since, i.warned_at AS "
	                        "idle_warned_at FROM workspaces w LEFT JOIN usage u ON "
	                        "u.workspace_id = w.id AND u.stopped_at IS NULL LEFT JOIN idle i "
	                        "ON i.workspace_id = w.id",
	                        NULL, rows, err, errlen);
}

int
store_ws_extend(const char *id, int64_t expires_at, int64_t extended, store_cb *cb, void *arg)
{
	return store_run("UPDATE workspaces SET expires_at = ?, extended = ? WHERE id = ?",
	                 json_pack("[I, I, s]", (json_int_t)expires_at, (json_int_t)extended, id),
	                 cb, arg);
}

void
store_ws_idle(const char *id, double idle_since, double warned_at)
{
	store_run("INSERT OR REPLACE INTO idle (workspace_id, idle_since, warned_at) "
	          "VALUES (?, ?, ?)",
	          json_pack("[s, f, o]", id, idle_since,
	                    warned_at > 0 ? json_real(warned_at) : json_null()),
	          NULL, NULL);
}

int
store_read_usage(double since, double now, store_cb *cb, void *arg)
{
	/* Each record counts from max(start, since) to min(stop, now). */
	return store_run("SELECT owner, uid, "
	                 "SUM((MIN(COALESCE(stopped_at, ?2), ?2) - MAX(started_at, ?1)) * gpus) "
	                 "AS gpu_seconds, "
	                 "SUM(MIN(COALESCE(stopped_at, ?2), ?2) - MAX(started_at, ?1)) "
	                 "AS workspace_seconds, COUNT(*) AS workspaces "
	                 "FROM usage WHERE COALESCE(stopped_at, ?2) > ?1 AND started_at < ?2 "
	                 "GROUP BY owner ORDER BY gpu_seconds DESC, owner",
	                 json_pack("[f, f]", since, now), cb, arg);
}

int
store_read_usage_of(unsigned uid, double since, double now, store_cb *cb, void *arg)
{
	return store_run("SELECT gpus, started_at, MIN(COALESCE(stopped_at, ?3), ?3) AS stopped_at "
	                 "FROM usage WHERE uid = ?1 AND COALESCE(stopped_at, ?3) > ?2 AND "
	                 "started_at < ?3",
	                 json_pack("[i, f, f]", (int)uid, since, now), cb, arg);
}

int
store_read_audit(double since, long limit, store_cb *cb, void *arg)
{
	return store_run("SELECT * FROM (SELECT seq, at, actor, actor_uid, action, target, result, "
	                 "detail FROM audit WHERE at >= ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
	                 json_pack("[f, I]", since, (json_int_t)limit), cb, arg);
}

void
store_failed_log_put(unsigned uid, const char *owner, const char *name, const char *id, double at,
                     const char *text)
{
	store_run("INSERT OR REPLACE INTO failed_logs (uid, name, owner, workspace_id, at, lines) "
	          "VALUES (?, ?, ?, ?, ?, ?)",
	          json_pack("[i, s, s, s, f, s]", (int)uid, name, owner, id, at, text), NULL, NULL);
}

void
store_failed_log_rm(unsigned uid, const char *name)
{
	store_run("DELETE FROM failed_logs WHERE uid = ? AND name = ?",
	          json_pack("[i, s]", (int)uid, name), NULL, NULL);
}

int
store_load_failed_logs(double since, json_t **rows, char *err, size_t errlen)
{
	if (store_query_sync("DELETE FROM failed_logs WHERE at < ?", json_pack("[f]", since), NULL,
	                     err, errlen) == -1)
		return -1;
	return store_query_sync("SELECT uid, owner, name, workspace_id, at, lines FROM failed_logs "
	                        "ORDER BY at",
	                        NULL, rows, err, errlen);
}

void
store_queue_add(const char *id, int64_t seq, const char *name, const char *owner, unsigned uid,
                double queued_at, int wait, const char *groups, const char *request)
{
	store_run("INSERT OR REPLACE INTO queue (id, seq, name, owner, uid, queued_at, wait, "
	          "groups, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	          json_pack("[s, I, s, s, i, f, i, s, s]", id, (json_int_t)seq, name, owner,
	                    (int)uid, queued_at, wait, groups, request),
	          NULL, NULL);
}

void
store_queue_remove_tx(struct store_tx *tx, const char *id)
{
	store_tx_add(tx, "DELETE FROM queue WHERE id = ?", json_pack("[s]", id));
}

void
store_queue_remove(const char *id)
{
	store_run("DELETE FROM queue WHERE id = ?", json_pack("[s]", id), NULL, NULL);
}

int
store_load_queue(json_t **rows, char *err, size_t errlen)
{
	return store_query_sync(
	    "SELECT id, seq, name, owner, uid, queued_at, wait, groups, request "
	    "FROM queue ORDER BY seq",
	    NULL, rows, err, errlen);
}
