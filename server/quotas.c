/*
 * The quota table, its start-up load and its write-with-undo.
 */
#include "quotas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "store.h"
#include "store_ws.h"
#include "xmalloc.h"

struct quota_write {
	struct quota_entry before; /* to undo; set == 0: there was none */
	struct quota_entry after;
	int removing;
	char actor[UNIX_NAME_MAX + 1];
	unsigned actor_uid;
	void (*done)(void *arg, int ok, const char *why);
	void *arg;
	LIST_ENTRY(quota_write) link; /* in flight */
};

static struct quota_table table;
static void (*on_change)(void);
static struct quota deflt;
static LIST_HEAD(, quota_write) in_flight = LIST_HEAD_INITIALIZER(in_flight);

void
quotas_on_change(void (*cb)(void))
{
	on_change = cb;
}

void
quotas_init(const struct config *cfg)
{
	deflt.set = (1u << QL_N) - 1;
	deflt.v[QL_GPUS] = (double)cfg->quota_gpus;
	deflt.v[QL_WORKSPACES] = (double)cfg->quota_workspaces;
	deflt.v[QL_MEMORY] = (double)cfg->quota_memory;
	deflt.v[QL_SHM] = (double)cfg->quota_shm;
	deflt.v[QL_CPUS] = cfg->quota_cpus;
	deflt.v[QL_LIFETIME] = (double)cfg->quota_lifetime;
	deflt.v[QL_GPU_HOURS] = cfg->quota_gpu_hours;
	deflt.v[QL_IDLE_TIMEOUT] = (double)cfg->quota_idle_timeout;
	deflt.v[QL_QUEUED] = (double)cfg->quota_queued;
	deflt.v[QL_EXTENSION] = (double)cfg->quota_extension;
}

static void
load_row(json_t *row)
{
	struct quota_entry e = {0};
	struct api_error err;
	const char *kind = json_string_value(json_object_get(row, "kind"));
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *limits = json_string_value(json_object_get(row, "limits"));
	json_t *obj = limits ? json_loads(limits, 0, NULL) : NULL;

	e.kind = kind && strcmp(kind, "group") == 0 ? QUOTA_GROUP : QUOTA_USER;
	if (name != NULL && quota_valid_name(name) && obj != NULL &&
	    quota_apply_json(&e.q, obj, &err) == 0) {
		snprintf(e.name, sizeof(e.name), "%s", name);
		quota_table_put(&table, &e);
	} else {
		log_warn("store: ignoring a bad quota row for %s", name ? name : "?");
	}
	json_decref(obj);
}

int
quotas_load(char *err, size_t errlen)
{
	json_t *rows = NULL, *row;
	size_t i;

	if (store_load_quotas(&rows, err, errlen) == -1)
		return -1;
	json_array_foreach(rows, i, row) load_row(row);
	json_decref(rows);
	return 0;
}

void
quotas_shutdown(void)
{
	quota_table_free(&table);
}

const struct quota_table *
quotas_table(void)
{
	return &table;
}

const struct quota *
quotas_default(void)
{
	return &deflt;
}

struct quota_entry *
quotas_find(enum quota_kind kind, const char *name)
{
	return quota_table_find(&table, kind, name);
}

void
quotas_effective(const struct ws_who *who, struct quota *q, struct quota_source *src)
{
	quota_effective(&deflt, table.e, table.n, who->user, who->groups, who->ngroups, q, src);
}

int
quotas_busy(enum quota_kind kind, const char *name)
{
	struct quota_write *w;

	LIST_FOREACH(w, &in_flight, link)
		if (w->after.kind == kind && strcmp(w->after.name, name) == 0)
			return 1;
	return 0;
}

static void
quotas_written(void *arg, int ok, const char *why, json_t *rows)
{
	struct quota_write *w = arg;
	char target[48];

	(void)rows;
	LIST_REMOVE(w, link);
	snprintf(target, sizeof(target), "%s %s", quota_kind_name(w->after.kind), w->after.name);
	if (!ok) {
		/* Undo: the file is the record, and it said no. */
		if (w->before.q.set)
			quota_table_put(&table, &w->before);
		else
			quota_table_remove(&table, w->after.kind, w->after.name);
		log_err("quota for %s not saved: %s", target, why);
	} else {
		json_t *lj = quota_to_json(&w->after.q);
		char *lim = json_dumps(lj, JSON_COMPACT);

		json_decref(lj);
		store_audit(w->actor, w->actor_uid, w->removing ? "quota_rm" : "quota_set", target,
		            "ok", lim ? lim : "");
		free(lim);
		if (on_change != NULL)
			on_change(); /* a raised limit may let a queued start go */
	}
	w->done(w->arg, ok, why);
	free(w);
}

void
quotas_change(const struct quota_entry *e, int removing, const char *actor, unsigned actor_uid,
              void (*done)(void *arg, int ok, const char *why), void *arg)
{
	struct quota_entry *old = quota_table_find(&table, e->kind, e->name);
	struct quota_write *w = xcalloc(1, sizeof(*w));
	const char *kind = quota_kind_name(e->kind);
	int rc;

	/* e may point into the table, which the change below moves: copy first. */

	if (old != NULL)
		w->before = *old;
	w->after = removing && old != NULL ? *old : *e;
	w->removing = removing;
	snprintf(w->actor, sizeof(w->actor), "%s", actor);
	w->actor_uid = actor_uid;
	w->done = done;
	w->arg = arg;
	/* In memory now, so that the next request builds on it. */
	if (removing) {
		quota_table_remove(&table, w->after.kind, w->after.name);
	} else {
		quota_table_put(&table, &w->after);
	}
	LIST_INSERT_HEAD(&in_flight, w, link);
	if (w->after.q.set == 0 || removing) {
		rc = store_quota_rm(kind, w->after.name, quotas_written, w);
	} else {
		json_t *lim = quota_to_json(&w->after.q);
		char *text = json_dumps(lim, JSON_COMPACT);

		json_decref(lim);
		rc = store_quota_put(kind, w->after.name, text ? text : "{}", quotas_written, w);
		free(text);
	}
	if (rc == -1)
		quotas_written(w, 0, "the store is not running", NULL);
}
