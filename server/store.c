/*
 * The store: SQLite on its own thread. See store.h for why.
 *
 * Transactions are queued in order to one thread that owns the only
 * connection; each runs as BEGIN IMMEDIATE .. COMMIT, or is rolled back
 * whole when a statement fails (disk full, read-only file system), and
 * its callback then learns why. Statements are prepared once and cached
 * by their text.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

struct stmt {
	char *sql;
	json_t *params;
	STAILQ_ENTRY(stmt) entry;
};

struct store_tx {
	STAILQ_HEAD(, stmt) stmts;
	store_cb *cb;
	void *arg;
	int ok;
	char err[256];
	json_t *rows;
	uint64_t ran_ns; /* how long the store thread took (for metrics, read on the loop) */
	STAILQ_ENTRY(store_tx) entry;
};

STAILQ_HEAD(tx_list, store_tx);

static sqlite3 *db;
static int version;
static uv_thread_t thread;
static uv_mutex_t mu;
static uv_cond_t cv;
static uv_async_t done_async;
static int running, quit;
/* Queued for the thread, and run and waiting for the loop: both under mu. */
static struct tx_list todo = STAILQ_HEAD_INITIALIZER(todo);
static struct tx_list done = STAILQ_HEAD_INITIALIZER(done);

/* Statement cache: a handful of distinct statements, found by text. */
#define CACHE_MAX 64
static struct {
	char *sql;
	sqlite3_stmt *st;
} cache[CACHE_MAX];
static size_t ncache;

/*
 * The migrations: migrations[i] takes the schema from version i to i + 1.
 * Never edit one that has shipped; add the next.
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE quotas ("
    "  kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),"
    "  name TEXT NOT NULL,"
    "  limits TEXT NOT NULL," /* JSON object of the set limits */
    "  updated_at REAL NOT NULL,"
    "  PRIMARY KEY (kind, name));"
    "CREATE TABLE workspaces ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  template TEXT NOT NULL,"
    "  created_at REAL NOT NULL,"
    "  expires_at REAL,"
    "  ready_at REAL,"
    "  container_id TEXT,"
    "  gpus TEXT NOT NULL DEFAULT '');"
    /* A GPU or a port has at most one holder, also in the file. */
    "CREATE TABLE allocations ("
    "  resource TEXT PRIMARY KEY," /* "gpu:UUID" or "port:N" */
    "  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE);"
    "CREATE INDEX allocations_ws ON allocations (workspace_id);"
    "CREATE TABLE usage ("
    "  workspace_id TEXT PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  gpus INTEGER NOT NULL,"
    "  started_at REAL NOT NULL,"
    "  stopped_at REAL);"
    "CREATE INDEX usage_started ON usage (started_at);"
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  at REAL NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  actor_uid INTEGER NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  result TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_at ON audit (at);",
    /* 1 -> 2: idle reclaim's clock, so that a restart gives no fresh hour */
    "CREATE TABLE idle ("
    "  workspace_id TEXT PRIMARY KEY," /* a workspace on record */
    "  idle_since REAL NOT NULL,"      /* its last activity seen, unix seconds */
    "  warned_at REAL);",              /* when its owner was warned; NULL: not */
    /* 2 -> 3: the last lines of failed workspaces (wslogs.c), token filtered */
    "CREATE TABLE failed_logs ("
    "  uid INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  workspace_id TEXT NOT NULL,"
    "  at REAL NOT NULL,"
    "  lines TEXT NOT NULL,"
    "  PRIMARY KEY (uid, name));",
    /* 3 -> 4: starts queued for GPUs (queue.c); a row leaves when it starts or is cancelled. */
    "CREATE TABLE queue ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL UNIQUE," /* arrival order */
    "  name TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  queued_at REAL NOT NULL,"
    "  wait INTEGER NOT NULL DEFAULT 0,"   /* a client waits (--wait) */
    "  groups TEXT NOT NULL DEFAULT '[]'," /* JSON: the owner's groups, for quotas */
    "  request TEXT NOT NULL);",           /* JSON: template, limits, GPUs, keys, mounts */
    /*
     * 4 -> 5: the outbox of notices to users (notice.c), written before
     * delivery so that a SIGKILL neither loses nor repeats one; and the
     * lifetime a workspace was extended by (wsctl extend).
     */
    "CREATE TABLE notices ("
    "  seq INTEGER PRIMARY KEY,"
    "  at REAL NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  user TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  workspace TEXT NOT NULL,"
    "  dedupe TEXT NOT NULL UNIQUE," /* workspace id, kind, deadline: one notice each */
    "  json TEXT NOT NULL,"          /* the event as notify_command gets it */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at REAL NOT NULL DEFAULT 0," /* notify_command's next try */
    "  tty_at REAL,"                     /* written to the user's terminals */
    "  delivered_at REAL,"
    "  failed_at REAL);"
    "CREATE INDEX notices_undelivered ON notices (delivered_at, failed_at);"
    "ALTER TABLE workspaces ADD COLUMN extended REAL NOT NULL DEFAULT 0;",
};

static int
bind_params(sqlite3_stmt *st, json_t *params)
{
	size_t i;
	json_t *v;
	int rc = SQLITE_OK;

	json_array_foreach(params, i, v)
	{
		int k = (int)i + 1;

		if (json_is_integer(v))
			rc = sqlite3_bind_int64(st, k, json_integer_value(v));
		else if (json_is_real(v))
			rc = sqlite3_bind_double(st, k, json_real_value(v));
		else if (json_is_string(v))
			rc = sqlite3_bind_text(st, k, json_string_value(v),
			                       (int)json_string_length(v), SQLITE_TRANSIENT);
		else if (json_is_boolean(v))
			rc = sqlite3_bind_int(st, k, json_is_true(v));
		else
			rc = sqlite3_bind_null(st, k);
		if (rc != SQLITE_OK)
			return rc;
	}
	return rc;
}

static json_t *
row_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);

	for (int c = 0; c < n; c++) {
		json_t *v;

		switch (sqlite3_column_type(st, c)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, c));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, c));
			break;
		case SQLITE_TEXT:
			v = json_stringn((const char *)sqlite3_column_text(st, c),
			                 (size_t)sqlite3_column_bytes(st, c));
			break;
		default:
			v = json_null();
			break;
		}
		json_object_set_new(o, sqlite3_column_name(st, c), v ? v : json_null());
	}
	return o;
}

/* The statement for sql; *cached tells whether the cache keeps it. */
static sqlite3_stmt *
store_prepared(const char *sql, int *cached, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	*cached = 1;
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].sql, sql) == 0)
			return cache[i].st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return NULL;
	}
	if (ncache < CACHE_MAX) {
		cache[ncache].sql = xstrdup(sql);
		cache[ncache++].st = st;
	} else {
		*cached = 0;
	}
	return st;
}

/* Run one statement; rows (when wanted) gets its rows. */
static int
exec_one(const char *sql, json_t *params, json_t **rows, char *err, size_t errlen)
{
	int rc, cached;
	sqlite3_stmt *st = store_prepared(sql, &cached, err, errlen);

	if (st == NULL)
		return -1;
	if (rows != NULL)
		*rows = json_array();
	rc = bind_params(st, params);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows != NULL)
			json_array_append_new(*rows, row_json(st));
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (!cached)
		sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		if (rows != NULL) {
			json_decref(*rows);
			*rows = NULL;
		}
		return -1;
	}
	return 0;
}

static int
exec_script(const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_open(const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char why[256];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	/*
	 * WAL: a crash of wsd loses no committed transaction; readers never
	 * wait. A 512 KiB page cache, not the default 2 MiB: the store is
	 * written far more than read (reads come from wsd's memory), and the
	 * system's page cache holds the file anyway.
	 */
	if (exec_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-512;",
	                why, sizeof(why)) == -1) {
		snprintf(err, errlen, "store %s: %s", path, why);
		goto fail;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path, sqlite3_errmsg(db));
		goto fail;
	}
	version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "store %s: schema version %d is newer than this wsd knows (%d); "
		         "refusing to touch it",
		         path, version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	while (version < STORE_SCHEMA_VERSION) {
		char script[64];

		snprintf(script, sizeof(script), "PRAGMA user_version=%d;", version + 1);
		if (exec_script("BEGIN IMMEDIATE;", why, sizeof(why)) == -1 ||
		    exec_script(migrations[version], why, sizeof(why)) == -1 ||
		    exec_script(script, why, sizeof(why)) == -1 ||
		    exec_script("COMMIT;", why, sizeof(why)) == -1) {
			exec_script("ROLLBACK;", (char[64]){0}, 64);
			snprintf(err, errlen, "store %s: migration to version %d failed: %s", path,
			         version + 1, why);
			goto fail;
		}
		log_info("store %s: schema migrated to version %d", path, version + 1);
		version++;
	}
	return 0;
fail:
	sqlite3_close(db);
	db = NULL;
	return -1;
}

int
store_backup(const char *path, const char *out, char *err, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int fd, rc = -1;

	/* The copy holds everything wsd keeps: root's only, and never over a file. */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(src && dst ? dst : src ? src : NULL));
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		snprintf(err, errlen, "backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	/* All pages in one step: one read transaction, so one moment's state. */
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup: %s", sqlite3_errstr(rc));
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc == -1)
		unlink(out);
	return rc;
}

int
store_version(void)
{
	return version;
}

int
store_query_sync(const char *sql, json_t *params, json_t **rows, char *err, size_t errlen)
{
	int rc;

	if (db == NULL || running) {
		snprintf(err, errlen, "store not open for synchronous use");
		json_decref(params);
		return -1;
	}
	rc = exec_one(sql, params, rows, err, errlen);
	json_decref(params);
	return rc;
}

static void
tx_free(struct store_tx *tx)
{
	struct stmt *s;

	while ((s = STAILQ_FIRST(&tx->stmts)) != NULL) {
		STAILQ_REMOVE_HEAD(&tx->stmts, entry);
		free(s->sql);
		json_decref(s->params);
		free(s);
	}
	json_decref(tx->rows);
	free(tx);
}

static void
tx_exec(struct store_tx *tx)
{
	char why[256] = "";
	struct stmt *s;
	uint64_t start = uv_hrtime();

	tx->ok = 0;
	if (exec_script("BEGIN IMMEDIATE;", why, sizeof(why)) == -1)
		goto out;
	STAILQ_FOREACH(s, &tx->stmts, entry) {
		json_decref(tx->rows);
		tx->rows = NULL;
		if (exec_one(s->sql, s->params, STAILQ_NEXT(s, entry) == NULL ? &tx->rows : NULL,
		             why, sizeof(why)) == -1) {
			exec_script("ROLLBACK;", (char[64]){0}, 64);
			goto out;
		}
	}
	if (exec_script("COMMIT;", why, sizeof(why)) == -1) {
		exec_script("ROLLBACK;", (char[64]){0}, 64);
		goto out;
	}
	tx->ok = 1;
out:
	if (!tx->ok)
		snprintf(tx->err, sizeof(tx->err), "%s", why);
	tx->ran_ns = uv_hrtime() - start;
}

static void
thread_main(void *arg)
{
	(void)arg;
	uv_mutex_lock(&mu);
	for (;;) {
		struct store_tx *tx;

		while (STAILQ_EMPTY(&todo) && !quit)
			uv_cond_wait(&cv, &mu);
		if ((tx = STAILQ_FIRST(&todo)) == NULL)
			break;
		STAILQ_REMOVE_HEAD(&todo, entry);
		uv_mutex_unlock(&mu);
		tx_exec(tx);
		uv_mutex_lock(&mu);
		STAILQ_INSERT_TAIL(&done, tx, entry);
		uv_async_send(&done_async);
	}
	uv_mutex_unlock(&mu);
}

static void
store_deliver(uv_async_t *a)
{
	struct tx_list list = STAILQ_HEAD_INITIALIZER(list);
	struct store_tx *tx;

	(void)a;
	uv_mutex_lock(&mu);
	STAILQ_CONCAT(&list, &done);
	uv_mutex_unlock(&mu);
	while ((tx = STAILQ_FIRST(&list)) != NULL) {
		STAILQ_REMOVE_HEAD(&list, entry);
		metric_observe(metric_at(m_store_tx, tx->ok ? "ok" : "error"),
		               (double)tx->ran_ns / 1e9);
		if (tx->cb != NULL)
			tx->cb(tx->arg, tx->ok, tx->ok ? NULL : tx->err, tx->rows);
		else if (!tx->ok)
			log_err("store: a write failed: %s", tx->err);
		tx_free(tx);
	}
}

int
store_start(uv_loop_t *loop)
{
	if (db == NULL)
		return -1;
	uv_mutex_init(&mu);
	uv_cond_init(&cv);
	uv_async_init(loop, &done_async, store_deliver);
	running = 1;
	if (uv_thread_create(&thread, thread_main, NULL) != 0) {
		running = 0;
		return -1;
	}
	return 0;
}

void
store_close(void)
{
	if (running) {
		uv_mutex_lock(&mu);
		quit = 1;
		uv_cond_signal(&cv);
		uv_mutex_unlock(&mu);
		uv_thread_join(&thread);
		store_deliver(&done_async);
		uv_close((uv_handle_t *)&done_async, NULL);
		uv_cond_destroy(&cv);
		uv_mutex_destroy(&mu);
		running = 0;
	}
	for (size_t i = 0; i < ncache; i++) {
		sqlite3_finalize(cache[i].st);
		free(cache[i].sql);
	}
	ncache = 0;
	if (db != NULL) {
		sqlite3_close(db);
		db = NULL;
	}
}

struct store_tx *
store_tx_new(void)
{
	struct store_tx *tx = xcalloc(1, sizeof(*tx));

	STAILQ_INIT(&tx->stmts);
	return tx;
}

void
store_tx_add(struct store_tx *tx, const char *sql, json_t *params)
{
	struct stmt *s = xcalloc(1, sizeof(*s));

	s->sql = xstrdup(sql);
	s->params = params;
	STAILQ_INSERT_TAIL(&tx->stmts, s, entry);
}

int
store_tx_run(struct store_tx *tx, store_cb *cb, void *arg)
{
	if (!running) {
		tx_free(tx);
		return -1;
	}
	tx->cb = cb;
	tx->arg = arg;
	uv_mutex_lock(&mu);
	STAILQ_INSERT_TAIL(&todo, tx, entry);
	uv_cond_signal(&cv);
	uv_mutex_unlock(&mu);
	return 0;
}

int
store_run(const char *sql, json_t *params, store_cb *cb, void *arg)
{
	struct store_tx *tx = store_tx_new();

	store_tx_add(tx, sql, params);
	return store_tx_run(tx, cb, arg);
}

double
store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
store_audit(const char *actor, unsigned actor_uid, const char *action, const char *target,
            const char *result, const char *detail)
{
	log_info("audit: %s (uid %u) %s %s: %s%s%s", actor, actor_uid, action, target, result,
	         detail[0] ? ": " : "", detail);
	store_run("INSERT INTO audit (at, actor, actor_uid, action, target, result, detail) "
	          "VALUES (?, ?, ?, ?, ?, ?, ?)",
	          json_pack("[f, s, i, s, s, s, s]", store_now(), actor, (int)actor_uid, action,
	                    target, result, detail),
	          NULL, NULL);
}
