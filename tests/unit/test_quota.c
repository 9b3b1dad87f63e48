/*
 * Quota policy (precedence, each limit, several groups, boundaries) and the
 * store: its migrations and its queue of transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quota.h"
#include "store.h"
#include "unit.h"

static struct quota deflt;
static struct quota_table tab;

static void
set(enum quota_kind k, const char *name, const char *json)
{
	struct quota_entry e = {0};
	struct api_error err;
	json_t *o = json_loads(json, 0, NULL);
	struct quota_entry *old = quota_table_find(&tab, k, name);

	ck_assert_ptr_nonnull(o);
	e.kind = k;
	snprintf(e.name, sizeof(e.name), "%s", name);
	if (old)
		e.q = old->q;
	ck_assert_int_eq(quota_apply_json(&e.q, o, &err), 0);
	ck_assert_int_eq(quota_table_put(&tab, &e), 0);
	json_decref(o);
}

static void
setup(void)
{
	memset(&tab, 0, sizeof(tab));
	memset(&deflt, 0, sizeof(deflt));
	deflt.set = (1u << QL_N) - 1;
	deflt.v[QL_GPUS] = 1;
	deflt.v[QL_WORKSPACES] = 2;
	deflt.v[QL_MEMORY] = (double)(INT64_C(8) << 30);
	deflt.v[QL_SHM] = QUOTA_UNLIMITED;
	deflt.v[QL_CPUS] = 4;
	deflt.v[QL_LIFETIME] = QUOTA_UNLIMITED;
	deflt.v[QL_GPU_HOURS] = QUOTA_UNLIMITED;
}

static void
teardown(void)
{
	quota_table_free(&tab);
}

static const char groups2[][UNIX_NAME_MAX + 1] = {"students", "phd"};

static void
eff(const char *user, size_t ngroups, struct quota *q, struct quota_source *src)
{
	quota_effective(&deflt, tab.e, tab.n, user, groups2, ngroups, q, src);
}

START_TEST(defaults_apply_without_entries)
{
	struct quota q;
	struct quota_source src;

	eff("alice", 2, &q, &src);
	ck_assert_double_eq(q.v[QL_GPUS], 1);
	ck_assert_double_eq(q.v[QL_WORKSPACES], 2);
	ck_assert_str_eq(src.from[QL_GPUS], "default");
	ck_assert_double_lt(q.v[QL_LIFETIME], 0);
}
END_TEST

START_TEST(user_over_group_over_default)
{
	struct quota q;
	struct quota_source src;

	set(QUOTA_GROUP, "students", "{\"gpus\": 2, \"workspaces\": 1}");
	set(QUOTA_USER, "alice", "{\"workspaces\": 5}");
	eff("alice", 1, &q, &src);
	ck_assert_double_eq(q.v[QL_WORKSPACES], 5);
	ck_assert_str_eq(src.from[QL_WORKSPACES], "user alice");
	ck_assert_double_eq(q.v[QL_GPUS], 2);
	ck_assert_str_eq(src.from[QL_GPUS], "group students");
	ck_assert_double_eq(q.v[QL_CPUS], 4);
	ck_assert_str_eq(src.from[QL_CPUS], "default");
	/* Bob is in the group but has no entry of his own. */
	eff("bob", 1, &q, &src);
	ck_assert_double_eq(q.v[QL_WORKSPACES], 1);
}
END_TEST

START_TEST(several_groups_most_generous_wins)
{
	struct quota q;
	struct quota_source src;

	set(QUOTA_GROUP, "students", "{\"gpus\": 1, \"memory\": \"64g\"}");
	set(QUOTA_GROUP, "phd", "{\"gpus\": 4, \"memory\": \"32g\"}");
	set(QUOTA_GROUP, "other", "{\"gpus\": 8}"); /* not a group of this user */
	eff("carol", 2, &q, &src);
	ck_assert_double_eq(q.v[QL_GPUS], 4);
	ck_assert_str_eq(src.from[QL_GPUS], "group phd");
	ck_assert_double_eq(q.v[QL_MEMORY], (double)(INT64_C(64) << 30));
	ck_assert_str_eq(src.from[QL_MEMORY], "group students");
	set(QUOTA_GROUP, "students", "{\"gpus\": \"unlimited\"}");
	eff("carol", 2, &q, &src);
	ck_assert_double_lt(q.v[QL_GPUS], 0);
}
END_TEST

START_TEST(user_entry_may_lower_a_group)
{
	struct quota q;

	set(QUOTA_GROUP, "students", "{\"gpus\": 4}");
	set(QUOTA_USER, "dave", "{\"gpus\": 0}");
	eff("dave", 1, &q, NULL);
	ck_assert_double_eq(q.v[QL_GPUS], 0);
}
END_TEST

static int
check(const struct quota *q, struct quota_use use, struct quota_ask *a, struct api_error *e)
{
	return quota_check(q, NULL, &use, a, e);
}

START_TEST(each_limit_at_its_boundary)
{
	struct quota q;
	struct api_error e;
	struct quota_ask a = {.gpus = 1, .memory = INT64_C(8) << 30, .shm = 1 << 30, .cpus = 4};
	struct quota_use u = {0};

	eff("eve", 0, &q, NULL);
	ck_assert_int_eq(check(&q, u, &a, &e), 0); /* exactly at every limit */
	u.workspaces = 2;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_int_eq(e.status, 403);
	ck_assert_str_eq(e.code, "quota_exceeded");
	ck_assert_ptr_nonnull(strstr(e.message, "workspaces at once: you have 2, the limit is 2"));
	u.workspaces = 1;
	u.gpus = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "GPUs held at once: you hold 1 and ask for 1"));
	a.gpus = 0; /* a CPU workspace needs no GPU quota */
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
	a.memory = (INT64_C(8) << 30) + 1;
	a.memory_given = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "memory per workspace"));
	a.memory = INT64_C(8) << 30;
	a.cpus = 4.5;
	a.cpus_given = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "CPUs per workspace: 4.5 asked, the limit is 4"));
}
END_TEST

START_TEST(defaults_are_lowered_not_refused)
{
	struct quota q;
	struct api_error e;
	struct quota_ask a = {.memory = INT64_C(16) << 30, .shm = INT64_C(12) << 30, .cpus = 8};
	struct quota_use u = {0};

	eff("frank", 0, &q, NULL);
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
	ck_assert_int_eq(a.memory, INT64_C(8) << 30);
	ck_assert_int_eq(a.shm, INT64_C(8) << 30); /* never above memory */
	ck_assert_double_eq(a.cpus, 4);
	a.shm = INT64_C(12) << 30;
	a.memory = INT64_C(16) << 30;
	a.shm_given = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_str_eq(e.code, "invalid_value");
}
END_TEST

START_TEST(gpu_hours_per_week)
{
	struct quota q;
	struct api_error e;
	struct quota_ask a = {.gpus = 1, .memory = 1 << 30, .shm = 1 << 20, .cpus = 1};
	struct quota_use u = {.gpu_seconds = 10 * 3600 - 1};

	set(QUOTA_USER, "gina", "{\"gpu_hours\": 10, \"gpus\": 8}");
	eff("gina", 0, &q, NULL);
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
	u.gpu_seconds = 10 * 3600;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "GPU-hours per rolling week: 10.00 used"));
	a.gpus = 0;
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
}
END_TEST

/* Queued starts at once: counted apart from workspaces; default 1; a user may be given more. */
START_TEST(queued_starts)
{
	struct quota q;
	struct api_error e;
	struct quota_ask a = {.gpus = 1, .memory = 1 << 30, .shm = 1 << 20, .cpus = 1};
	struct quota_use u = {.gpus = 0, .workspaces = 1};

	deflt.v[QL_QUEUED] = 1;
	eff("hank", 0, &q, NULL);
	ck_assert_int_eq(check(&q, u, &a, &e), 0); /* not queued: the queue limit does not apply */
	a.queue = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
	u.queued = 1;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(
	    strstr(e.message, "queued starts at once: you have 1, the limit is 1"));
	a.queue = 0;
	ck_assert_int_eq(check(&q, u, &a, &e), 0); /* a start that need not wait still goes */
	a.queue = 1;
	set(QUOTA_USER, "hank", "{\"queued\": 3}");
	eff("hank", 0, &q, NULL);
	ck_assert_int_eq(check(&q, u, &a, &e), 0);
	set(QUOTA_USER, "hank", "{\"queued\": 0}");
	eff("hank", 0, &q, NULL);
	u.queued = 0;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	/* Everything else is checked too: more GPUs than the limit is no reason to queue. */
	set(QUOTA_USER, "hank", "{\"queued\": 3, \"gpus\": 1}");
	eff("hank", 0, &q, NULL);
	a.gpus = 2;
	ck_assert_int_eq(check(&q, u, &a, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "GPUs held at once"));
}
END_TEST

static const struct {
	const char *json;
	const char *needle;
} bad_limits[] = {
    {"{\"gpus\": -1}", "gpus"},
    {"{\"gpus\": 1.5}", "gpus"},
    {"{\"gpus\": 100001}", "gpus"},
    {"{\"gpus\": \"2\"}", "gpus"},
    {"{\"workspaces\": true}", "workspaces"},
    {"{\"memory\": \"-1g\"}", "memory"},
    {"{\"memory\": \"abc\"}", "memory"},
    {"{\"memory\": \"99999999t\"}", "memory"},
    {"{\"memory\": 1}", "memory"},
    {"{\"shm\": []}", "shm"},
    {"{\"cpus\": 0}", "cpus"},
    {"{\"cpus\": 1e400}", NULL}, /* not JSON jansson accepts */
    {"{\"lifetime\": \"1s\"}", "lifetime"},
    {"{\"lifetime\": \"forever\"}", "lifetime"},
    {"{\"gpu_hours\": -3}", "gpu_hours"},
    {"{\"gpu\": 1}", "unknown field"},
    {"{\"Privileged\": true}", "unknown field"},
    {"[1]", "JSON object"},
};

START_TEST(bad_limits_change_nothing)
{
	struct quota q = {0}, before;
	struct api_error e;
	json_t *o = json_loads(bad_limits[_i].json, 0, NULL);

	q.set = 1u << QL_GPUS;
	q.v[QL_GPUS] = 3;
	before = q;
	if (o == NULL) {
		ck_assert_ptr_null(bad_limits[_i].needle);
		return;
	}
	ck_assert_int_eq(quota_apply_json(&q, o, &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_msg(strstr(e.message, bad_limits[_i].needle) != NULL, "\"%s\" lacks \"%s\"",
	              e.message, bad_limits[_i].needle);
	ck_assert_mem_eq(&q, &before, sizeof(q));
	json_decref(o);
}
END_TEST

START_TEST(null_unsets_and_json_round_trips)
{
	struct quota q = {0}, q2 = {0};
	struct api_error e;
	json_t *o =
	           json_loads("{\"gpus\": 2, \"memory\": \"32g\", \"lifetime\": \"72h\", \"cpus\": "
	                      "\"unlimited\"}",
	                      0, NULL),
	       *back;

	ck_assert_int_eq(quota_apply_json(&q, o, &e), 0);
	json_decref(o);
	ck_assert_double_eq(q.v[QL_LIFETIME], 72 * 3600);
	/* extension: 0 is "none" (as a string or a number); lifetime has a floor. */
	o = json_loads("{\"extension\": \"0\"}", 0, NULL);
	ck_assert_int_eq(quota_apply_json(&q, o, &e), 0);
	ck_assert_double_eq(q.v[QL_EXTENSION], 0);
	json_decref(o);
	o = json_loads("{\"extension\": \"24h\"}", 0, NULL);
	ck_assert_int_eq(quota_apply_json(&q, o, &e), 0);
	ck_assert_double_eq(q.v[QL_EXTENSION], 86400);
	json_decref(o);
	o = json_loads("{\"lifetime\": 0}", 0, NULL);
	ck_assert_int_eq(quota_apply_json(&q, o, &e), -1);
	json_decref(o);
	o = json_loads("{\"extension\": \"-1h\"}", 0, NULL);
	ck_assert_int_eq(quota_apply_json(&q, o, &e), -1);
	json_decref(o);
	q.set &= ~(1u << QL_EXTENSION);
	q.v[QL_EXTENSION] = 0;
	back = quota_to_json(&q);
	ck_assert_int_eq(quota_apply_json(&q2, back, &e), 0);
	ck_assert_mem_eq(&q, &q2, sizeof(q));
	json_decref(back);
	o = json_loads("{\"gpus\": null}", 0, NULL);
	ck_assert_int_eq(quota_apply_json(&q, o, &e), 0);
	ck_assert_uint_eq(q.set & (1u << QL_GPUS), 0);
	json_decref(o);
}
END_TEST

START_TEST(names)
{
	ck_assert(quota_valid_name("alice"));
	ck_assert(quota_valid_name("_svc-1.x"));
	ck_assert(!quota_valid_name(""));
	ck_assert(!quota_valid_name("Alice"));
	ck_assert(!quota_valid_name("a\nb"));
	ck_assert(!quota_valid_name("../x"));
	ck_assert(!quota_valid_name("abcdefghijklmnopqrstuvwxyz0123456"));
}
END_TEST

START_TEST(table_put_remove)
{
	set(QUOTA_USER, "a", "{\"gpus\": 1}");
	set(QUOTA_GROUP, "a", "{\"gpus\": 2}");
	ck_assert_uint_eq(tab.n, 2);
	set(QUOTA_USER, "a", "{\"gpus\": null}"); /* no limit left: the entry goes */
	ck_assert_uint_eq(tab.n, 1);
	ck_assert_int_eq(quota_table_remove(&tab, QUOTA_GROUP, "a"), 1);
	ck_assert_int_eq(quota_table_remove(&tab, QUOTA_GROUP, "a"), 0);
}
END_TEST

/* The store: a new file is migrated to the current version, an existing one is left as is. */
START_TEST(store_migrates)
{
	char path[] = "/tmp/wslab-unit-XXXXXX", db[64], err[256];
	json_t *rows = NULL;

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/wsd.db", path);
	ck_assert_int_eq(store_open(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_version(), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_query_sync("INSERT INTO quotas (kind, name, limits, updated_at) "
	                                  "VALUES ('user', 'alice', '{\"gpus\":2}', 1)",
	                                  NULL, NULL, err, sizeof(err)),
	                 0);
	/* The schema's checks hold: no third kind of quota. */
	ck_assert_int_eq(store_query_sync("INSERT INTO quotas (kind, name, limits, updated_at) "
	                                  "VALUES ('host', 'x', '{}', 1)",
	                                  NULL, NULL, err, sizeof(err)),
	                 -1);
	/* A resource has one holder. */
	ck_assert_int_eq(store_query_sync("INSERT INTO workspaces (id, name, owner, uid, template, "
	                                  "created_at) VALUES ('w1', 'a', 'alice', 1, 't', 1), "
	                                  "('w2', 'b', 'alice', 1, 't', 1)",
	                                  NULL, NULL, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(store_query_sync("INSERT INTO allocations VALUES ('gpu:X', 'w1')", NULL,
	                                  NULL, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(store_query_sync("INSERT INTO allocations VALUES ('gpu:X', 'w2')", NULL,
	                                  NULL, err, sizeof(err)),
	                 -1);
	store_close();
	/* Reopen: nothing migrates again, the data is there. */
	ck_assert_int_eq(store_open(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_version(), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_query_sync("SELECT limits FROM quotas WHERE name = ?",
	                                  json_pack("[s]", "alice"), &rows, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "limits")),
	                 "{\"gpus\":2}");
	json_decref(rows);
	/* Deleting a workspace frees its allocations. */
	ck_assert_int_eq(store_query_sync("DELETE FROM workspaces WHERE id = 'w1'", NULL, NULL, err,
	                                  sizeof(err)),
	                 0);
	ck_assert_int_eq(store_query_sync("SELECT count(*) AS n FROM allocations", NULL, &rows, err,
	                                  sizeof(err)),
	                 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), 0);
	json_decref(rows);
	/* A version 1 file (no idle, failed_logs, queue, notices) migrates step by step, data kept.
	 */
	ck_assert_int_eq(store_query_sync("DROP TABLE notices", NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(store_query_sync("ALTER TABLE workspaces DROP COLUMN extended", NULL, NULL,
	                                  err, sizeof(err)),
	                 0);
	ck_assert_int_eq(store_query_sync("DROP TABLE idle", NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(store_query_sync("DROP TABLE failed_logs", NULL, NULL, err, sizeof(err)),
	                 0);
	ck_assert_int_eq(store_query_sync("DROP TABLE queue", NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(store_query_sync("PRAGMA user_version = 1", NULL, NULL, err, sizeof(err)),
	                 0);
	store_close();
	ck_assert_int_eq(store_open(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_version(), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_query_sync("INSERT INTO idle VALUES ('w2', 10.5, NULL)", NULL, NULL,
	                                  err, sizeof(err)),
	                 0);
	ck_assert_int_eq(
	    store_query_sync("SELECT count(*) AS n FROM quotas", NULL, &rows, err, sizeof(err)), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), 1);
	json_decref(rows);
	/* Version 5: the outbox refuses a second notice with the same key; workspaces have
	 * extended. */
	ck_assert_int_eq(
	    store_query_sync("INSERT INTO notices (at, uid, user, kind, workspace, "
	                     "dedupe, json) VALUES (1, 1, 'a', 'expired', 'w', 'k', '{}')",
	                     NULL, NULL, err, sizeof(err)),
	    0);
	ck_assert_int_eq(
	    store_query_sync("INSERT INTO notices (at, uid, user, kind, workspace, "
	                     "dedupe, json) VALUES (2, 1, 'a', 'expired', 'w', 'k', '{}')",
	                     NULL, NULL, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    store_query_sync("SELECT extended FROM workspaces", NULL, &rows, err, sizeof(err)), 0);
	json_decref(rows);
	store_close();
	/* A file from a newer wsd is refused, not damaged. */
	{
		char cmd[200];

		ck_assert_int_eq(store_open(db, err, sizeof(err)), 0);
		ck_assert_int_eq(
		    store_query_sync("PRAGMA user_version = 99", NULL, NULL, err, sizeof(err)), 0);
		store_close();
		ck_assert_int_eq(store_open(db, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "newer"));
		snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* What a transaction's callback saw, in the order the callbacks ran. */
struct seen {
	int n;
	int ok[4];
	json_int_t value[4];
	char err[4][64];
};

static void
seen_cb(void *arg, int ok, const char *err, json_t *rows)
{
	struct seen *s = arg;
	json_t *row = json_array_get(rows, json_array_size(rows) - 1);

	ck_assert_int_lt(s->n, 4);
	s->ok[s->n] = ok;
	s->value[s->n] = json_integer_value(json_object_get(row, "n"));
	snprintf(s->err[s->n], sizeof(s->err[0]), "%s", err ? err : "");
	s->n++;
}

/*
 * Transactions on the store's thread: run in the order queued, the rows of
 * the last statement handed back, and one that fails rolled back whole.
 */
START_TEST(store_transactions_in_order)
{
	char path[] = "/tmp/wslab-unit-XXXXXX", db[64], err[256], cmd[200];
	struct seen s = {0};
	struct store_tx *tx;
	uv_loop_t loop;

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/wsd.db", path);
	ck_assert_int_eq(store_open(db, err, sizeof(err)), 0);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(store_start(&loop), 0);

	tx = store_tx_new();
	store_tx_add(tx, "INSERT INTO quotas VALUES ('user', 'a', '{}', 0)", NULL);
	store_tx_add(tx, "INSERT INTO quotas VALUES (?, ?, '{}', 0)",
	             json_pack("[s, s]", "user", "b"));
	store_tx_add(tx, "SELECT count(*) AS n FROM quotas", NULL);
	ck_assert_int_eq(store_tx_run(tx, seen_cb, &s), 0);
	tx = store_tx_new();
	store_tx_add(tx, "INSERT INTO quotas VALUES ('user', 'c', '{}', 0)", NULL);
	store_tx_add(tx, "INSERT INTO no_such_table VALUES (1)", NULL);
	ck_assert_int_eq(store_tx_run(tx, seen_cb, &s), 0);
	ck_assert_int_eq(store_run("SELECT count(*) AS n FROM quotas", NULL, seen_cb, &s), 0);
	while (s.n < 3)
		uv_run(&loop, UV_RUN_ONCE);
	store_close();
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);

	ck_assert_int_eq(s.ok[0], 1);
	ck_assert_int_eq(s.value[0], 2);
	ck_assert_int_eq(s.ok[1], 0);
	ck_assert_ptr_nonnull(strstr(s.err[1], "no_such_table"));
	ck_assert_int_eq(s.ok[2], 1);
	ck_assert_int_eq(s.value[2], 2); /* "c" was rolled back with its transaction */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *
quota_suite(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_apply_without_entries);
	tcase_add_test(tc, user_over_group_over_default);
	tcase_add_test(tc, several_groups_most_generous_wins);
	tcase_add_test(tc, user_entry_may_lower_a_group);
	tcase_add_test(tc, each_limit_at_its_boundary);
	tcase_add_test(tc, defaults_are_lowered_not_refused);
	tcase_add_test(tc, gpu_hours_per_week);
	tcase_add_test(tc, queued_starts);
	tcase_add_loop_test(tc, bad_limits_change_nothing, 0,
	                    (int)(sizeof(bad_limits) / sizeof(bad_limits[0])));
	tcase_add_test(tc, null_unsets_and_json_round_trips);
	tcase_add_test(tc, names);
	tcase_add_test(tc, table_put_remove);
	suite_add_tcase(s, tc);
	tc = tcase_create("store");
	tcase_add_test(tc, store_migrates);
	tcase_add_test(tc, store_transactions_in_order);
	suite_add_tcase(s, tc);
	return s;
}
