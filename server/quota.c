/*
 * Quota policy. See quota.h for the precedence; everything here is pure.
 */
#include "quota.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"
#include "xmalloc.h"

enum quota_kind_of_value { COUNT, SIZE, DURATION, NUMBER };

struct limit_info {
	const char *name;
	enum quota_kind_of_value kind;
	const char *what;
};

#define QUOTA_INFO(id, name, kind, what) {#name, kind, what},
static const struct limit_info limits[QL_N] = {QUOTA_LIMITS(QUOTA_INFO)};
#undef QUOTA_INFO

const char *
quota_limit_name(enum quota_limit l)
{
	return limits[l].name;
}

const char *
quota_kind_name(enum quota_kind k)
{
	return k == QUOTA_USER ? "user" : "group";
}

int
quota_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > UNIX_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* a is more generous than b (unlimited beats every number). */
static int
more_generous(double a, double b)
{
	if (b < 0)
		return 0;
	return a < 0 || a > b;
}

_Static_assert(sizeof(((struct quota_source *)0)->from[0]) >= sizeof("group ") + UNIX_NAME_MAX,
               "a quota source names any group in full");

void
quota_effective(const struct quota *deflt, const struct quota_entry *entries, size_t n,
                const char *user, const char (*groups)[UNIX_NAME_MAX + 1], size_t ngroups,
                struct quota *out, struct quota_source *src)
{
	const struct quota_entry *mine = NULL;

	for (size_t i = 0; i < n; i++)
		if (entries[i].kind == QUOTA_USER && strcmp(entries[i].name, user) == 0)
			mine = &entries[i];
	memset(out, 0, sizeof(*out));
	for (int l = 0; l < QL_N; l++) {
		unsigned bit = 1u << l;
		const struct quota_entry *best = NULL;

		out->set |= bit;
		if (mine != NULL && (mine->q.set & bit)) {
			out->v[l] = mine->q.v[l];
			if (src)
				snprintf(src->from[l], sizeof(src->from[l]), "user %s", user);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			const struct quota_entry *e = &entries[i];

			if (e->kind != QUOTA_GROUP || !(e->q.set & bit))
				continue;
			for (size_t g = 0; g < ngroups; g++) {
				if (strcmp(e->name, groups[g]) != 0)
					continue;
				if (best == NULL || more_generous(e->q.v[l], best->q.v[l]))
					best = e;
			}
		}
		if (best != NULL) {
			out->v[l] = best->q.v[l];
			if (src)
				snprintf(src->from[l], sizeof(src->from[l]), "group %s",
				         best->name);
			continue;
		}
		out->v[l] = (deflt->set & bit) ? deflt->v[l] : QUOTA_UNLIMITED;
		if (src)
			snprintf(src->from[l], sizeof(src->from[l]), "default");
	}
}

static void
show_value(enum quota_limit l, double v, char *buf, size_t len)
{
	if (v < 0) {
		snprintf(buf, len, "unlimited");
		return;
	}
	switch (limits[l].kind) {
	case SIZE:
		size_format((int64_t)v, buf, len);
		break;
	case DURATION:
		if ((int64_t)v % 3600 == 0)
			snprintf(buf, len, "%lldh", (long long)v / 3600);
		else
			snprintf(buf, len, "%llds", (long long)v);
		break;
	case COUNT:
		snprintf(buf, len, "%lld", (long long)v);
		break;
	case NUMBER:
		snprintf(buf, len, "%g", v);
		break;
	}
}

static int
refuse(struct api_error *err, const struct quota *q, const struct quota_source *src,
       enum quota_limit l, const char *use, struct quota_ask *ask)
{
	char lim[32];

	ask->refused = l;
	show_value(l, q->v[l], lim, sizeof(lim));
	api_error_set(err, 403, "quota_exceeded",
	              "quota exceeded: %s: %s, the limit is %s (%s); nothing was created",
	              limits[l].what, use, lim, src ? src->from[l] : "quota");
	return -1;
}

/* Lower a default to the limit, or refuse what the student chose. */
static int
fit_size(const struct quota *q, const struct quota_source *src, enum quota_limit l, int64_t *v,
         int given, struct api_error *err, struct quota_ask *ask)
{
	char use[64], a[32];

	if (q->v[l] < 0 || (double)*v <= q->v[l])
		return 0;
	if (!given) {
		*v = (int64_t)q->v[l];
		return 0;
	}
	size_format(*v, a, sizeof(a));
	snprintf(use, sizeof(use), "%s asked", a);
	return refuse(err, q, src, l, use, ask);
}

int
quota_check(const struct quota *q, const struct quota_source *src, const struct quota_use *use,
            struct quota_ask *ask, struct api_error *err)
{
	char msg[96];

	ask->refused = QL_N;
	if (q->v[QL_WORKSPACES] >= 0 && use->workspaces + 1 > q->v[QL_WORKSPACES]) {
		snprintf(msg, sizeof(msg), "you have %d", use->workspaces);
		return refuse(err, q, src, QL_WORKSPACES, msg, ask);
	}
	if (ask->queue && q->v[QL_QUEUED] >= 0 && use->queued + 1 > q->v[QL_QUEUED]) {
		snprintf(msg, sizeof(msg), "you have %d", use->queued);
		return refuse(err, q, src, QL_QUEUED, msg, ask);
	}
	if (ask->gpus > 0 && q->v[QL_GPUS] >= 0 && use->gpus + ask->gpus > q->v[QL_GPUS]) {
		snprintf(msg, sizeof(msg), "you hold %d and ask for %d", use->gpus, ask->gpus);
		return refuse(err, q, src, QL_GPUS, msg, ask);
	}
	if (ask->gpus > 0 && q->v[QL_GPU_HOURS] >= 0 &&
	    use->gpu_seconds / 3600.0 >= q->v[QL_GPU_HOURS]) {
		snprintf(msg, sizeof(msg), "%.2f used in the last 7 days",
		         use->gpu_seconds / 3600.0);
		return refuse(err, q, src, QL_GPU_HOURS, msg, ask);
	}
	if (fit_size(q, src, QL_MEMORY, &ask->memory, ask->memory_given, err, ask) == -1)
		return -1;
	if (ask->shm > ask->memory && !ask->shm_given)
		ask->shm = ask->memory;
	if (fit_size(q, src, QL_SHM, &ask->shm, ask->shm_given, err, ask) == -1)
		return -1;
	if (ask->shm > ask->memory) {
		char a[32];

		size_format(ask->memory, a, sizeof(a));
		api_error_set(err, 400, "invalid_value",
		              "shm: must not be larger than memory (%s within your quota)", a);
		return -1;
	}
	if (q->v[QL_CPUS] >= 0 && ask->cpus > q->v[QL_CPUS]) {
		if (!ask->cpus_given) {
			ask->cpus = q->v[QL_CPUS];
		} else {
			snprintf(msg, sizeof(msg), "%g asked", ask->cpus);
			return refuse(err, q, src, QL_CPUS, msg, ask);
		}
	}
	return 0;
}

/* One limit from JSON; -1 with err when it is not a valid value. */
static int
parse_limit(enum quota_limit l, json_t *v, double *out, struct api_error *err)
{
	const struct limit_info *li = &limits[l];
	const char *s = json_string_value(v);
	int64_t n = 0;
	double d;

	if (s != NULL && strcmp(s, "unlimited") == 0) {
		*out = QUOTA_UNLIMITED;
		return 0;
	}
	switch (li->kind) {
	case COUNT:
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 100000) {
			*out = (double)json_integer_value(v);
			return 0;
		}
		break;
	case SIZE:
		if ((s != NULL && size_parse(s, &n) == 0) ||
		    (json_is_integer(v) && (n = json_integer_value(v)) > 0)) {
			if (n >= INT64_C(1) << 20 && n <= INT64_C(1) << 50) {
				*out = (double)n;
				return 0;
			}
		}
		break;
	case DURATION:
		/* An extension of 0 is "none"; every other duration limit has a floor. */
		if (l == QL_EXTENSION && ((s != NULL && strcmp(s, "0") == 0) ||
		                          (json_is_integer(v) && json_integer_value(v) == 0))) {
			*out = 0;
			return 0;
		}
		if ((s != NULL && duration_parse(s, &n) == 0) ||
		    (json_is_integer(v) && (n = json_integer_value(v)) > 0)) {
			if (n >= 10 && n <= INT64_C(366) * 86400) {
				*out = (double)n;
				return 0;
			}
		}
		break;
	case NUMBER:
		d = json_number_value(v);
		if (json_is_number(v) && isfinite(d) && d >= 0 && d <= 1e6 &&
		    (l != QL_CPUS || d >= 0.01)) {
			*out = d;
			return 0;
		}
		break;
	}
	{
		static const char *const hint[] = {
		    [COUNT] = "a whole number from 0 to 100000",
		    [SIZE] = "a size from 1m to 1024t, like \"32g\"",
		    [DURATION] = "a duration from 10s to 366d, like \"72h\" (extension: also 0)",
		    [NUMBER] = "a number from 0 to 1000000 (cpus: at least 0.01)",
		};
		char *shown = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		api_error_set(err, 400, "invalid_value", "%s: %.40s is not %s or \"unlimited\"",
		              li->name, shown ? shown : "?", hint[li->kind]);
		free(shown);
	}
	return -1;
}

int
quota_apply_json(struct quota *q, json_t *obj, struct api_error *err)
{
	struct quota next = *q;
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		api_error_set(err, 400, "invalid_json", "request body must be a JSON object");
		return -1;
	}
	json_object_foreach(obj, key, v)
	{
		int l;

		for (l = 0; l < QL_N; l++)
			if (strcmp(key, limits[l].name) == 0)
				break;
		if (l == QL_N) {
			api_error_set(err, 400, "unknown_field",
			              "unknown field \"%.40s\" (allowed: gpus, workspaces, memory, "
			              "shm, cpus, lifetime, gpu_hours, idle_timeout, queued, "
			              "extension)",
			              key);
			return -1;
		}
		if (json_is_null(v)) {
			next.set &= ~(1u << l);
			next.v[l] = 0;
			continue;
		}
		if (parse_limit((enum quota_limit)l, v, &next.v[l], err) == -1)
			return -1;
		next.set |= 1u << l;
	}
	*q = next;
	return 0;
}

json_t *
quota_to_json(const struct quota *q)
{
	json_t *o = json_object();

	for (int l = 0; l < QL_N; l++) {
		json_t *v;

		if (!(q->set & (1u << l)))
			continue;
		if (q->v[l] < 0)
			v = json_string("unlimited");
		else if (limits[l].kind == NUMBER)
			v = json_real(q->v[l]);
		else
			v = json_integer((json_int_t)q->v[l]);
		json_object_set_new(o, limits[l].name, v);
	}
	return o;
}

struct quota_entry *
quota_table_find(struct quota_table *t, enum quota_kind k, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].kind == k && strcmp(t->e[i].name, name) == 0)
			return &t->e[i];
	return NULL;
}

int
quota_table_remove(struct quota_table *t, enum quota_kind k, const char *name)
{
	struct quota_entry *e = quota_table_find(t, k, name);

	if (e == NULL)
		return 0;
	*e = t->e[--t->n];
	return 1;
}

int
quota_table_put(struct quota_table *t, const struct quota_entry *e)
{
	struct quota_entry *old = quota_table_find(t, e->kind, e->name);

	if (e->q.set == 0) {
		quota_table_remove(t, e->kind, e->name);
		return 0;
	}
	if (old != NULL) {
		*old = *e;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		t->e = xrealloc(t->e, cap * sizeof(t->e[0]));
		t->cap = cap;
	}
	t->e[t->n++] = *e;
	return 0;
}

void
quota_table_free(struct quota_table *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}
