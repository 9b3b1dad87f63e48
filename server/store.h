/*
 * The durable state of wsd: SQLite in WAL mode at state_dir/wsd.db, with
 * versioned schema migrations. It holds quotas, workspaces with their GPU
 * and port allocations, usage records and the audit log.
 *
 * The loop never touches the database file. At start-up, before the loop
 * serves anyone, wsd opens, migrates and loads it synchronously; from then
 * on every read and write is a transaction queued to one store thread,
 * run in order, and its result comes back on the loop (uv_async). What
 * the loop decides with (quotas, holdings) lives in memory; the store
 * makes it survive a crash.
 */
#ifndef WSD_STORE_H
#define WSD_STORE_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#define STORE_SCHEMA_VERSION 5

/*
 * Open (creating) path, set WAL, run the migrations up to
 * STORE_SCHEMA_VERSION. Returns 0, or -1 with err.
 */
int store_open(const char *path, char *err, size_t errlen);
/* The schema version of the open database. */
int store_version(void);

/*
 * Run one statement now, on the calling thread: only before store_start
 * (start-up) or in tests. params is a JSON array (stolen; NULL for none);
 * rows, when not NULL, receives an array of objects keyed by column name.
 */
int store_query_sync(const char *sql, json_t *params, json_t **rows, char *err, size_t errlen);

/* Start the store thread; completions run on loop. */
int store_start(uv_loop_t *loop);
/* Finish queued transactions, stop the thread, close the database. */
void store_close(void);

/*
 * ok: 1 when the whole transaction committed. rows: the rows of its last
 * statement (borrowed; valid during the callback).
 */
typedef void store_cb(void *arg, int ok, const char *err, json_t *rows);

struct store_tx;

struct store_tx *store_tx_new(void);
/* Add a statement; params is a JSON array of values (stolen; NULL for none). */
void store_tx_add(struct store_tx *tx, const char *sql, json_t *params);
/*
 * Queue the transaction (stolen). cb may be NULL: errors are then logged.
 * Returns 0, or -1 when the store is not running (cb is not called).
 */
int store_tx_run(struct store_tx *tx, store_cb *cb, void *arg);

/* One statement as a transaction of its own. */
int store_run(const char *sql, json_t *params, store_cb *cb, void *arg);

/* Append to the audit log (never a secret in any field). */
void store_audit(const char *actor, unsigned actor_uid, const char *action, const char *target,
                 const char *result, const char *detail);

/*
 * A consistent copy of the database at path into out (created, 0600; an
 * existing out is refused), with SQLite's online backup API from a
 * read-only connection of its own: a running wsd keeps writing (WAL), the
 * copy is the state of one moment. Returns 0, or -1 with err.
 */
int store_backup(const char *path, const char *out, char *err, size_t errlen);

/* Now, as Unix seconds with a fraction. */
double store_now(void);

#endif
