/*
 * Quotas: pure policy over (user, groups, current holdings, request).
 *
 * A quota is a set of limits, each either unset (inherit), a number, or
 * unlimited. The limit that applies to a user is, per limit: the user's own
 * entry when it sets it; else the most generous of the entries of the
 * user's groups that set it (membership grants, it never takes away, so a
 * student in "students" and "phd" gets the larger of the two); else the
 * default from the configuration.
 *
 * No I/O and no globals: wsd calls these on its loop, where the check and
 * the allocation that follows are one step, and the unit tests call them
 * directly.
 */
#ifndef WSD_QUOTA_H
#define WSD_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "types.h"

/* X(id, json name, kind, what it limits) */
#define QUOTA_LIMITS(X)                                                                            \
	X(QL_GPUS, gpus, COUNT, "GPUs held at once")                                               \
	X(QL_WORKSPACES, workspaces, COUNT, "workspaces at once")                                  \
	X(QL_MEMORY, memory, SIZE, "memory per workspace")                                         \
	X(QL_SHM, shm, SIZE, "/dev/shm per workspace")                                             \
	X(QL_CPUS, cpus, NUMBER, "CPUs per workspace")                                             \
	X(QL_LIFETIME, lifetime, DURATION, "lifetime of a workspace")                              \
	X(QL_GPU_HOURS, gpu_hours, NUMBER, "GPU-hours per rolling week")                           \
	X(QL_IDLE_TIMEOUT, idle_timeout, DURATION, "idle time before it is reclaimed")             \
	X(QL_QUEUED, queued, COUNT, "queued starts at once")                                       \
	X(QL_EXTENSION, extension, DURATION, "lifetime added by wsctl extend, per workspace")

#define QUOTA_ENUM(id, name, kind, what) id,
enum quota_limit { QUOTA_LIMITS(QUOTA_ENUM) QL_N };
#undef QUOTA_ENUM

#define QUOTA_UNLIMITED (-1.0)

struct quota {
	unsigned set;   /* bit i: v[i] is given */
	double v[QL_N]; /* < 0: unlimited */
};

enum quota_kind { QUOTA_USER, QUOTA_GROUP };

struct quota_entry {
	enum quota_kind kind;
	char name[UNIX_NAME_MAX + 1];
	struct quota q;
};

/* Where each effective limit came from, for messages: "user alice". */
struct quota_source {
	char from[QL_N][UNIX_NAME_MAX + 8]; /* "group NAME" */
};

/* What a user holds now. */
struct quota_use {
	int gpus;
	int workspaces;
	double gpu_seconds; /* in the rolling week, running workspaces included */
	int queued;         /* starts waiting in the queue (not in the counts above) */
};

/* What a start asks for; *_given: the student chose it (else a default). */
struct quota_ask {
	int gpus;
	int64_t memory, shm;
	double cpus;
	int memory_given, shm_given, cpus_given;
	enum quota_limit refused; /* set by quota_check: the limit that refused, or QL_N */
	int queue;                /* to be queued: one more queued start */
};

const char *quota_limit_name(enum quota_limit l);
const char *quota_kind_name(enum quota_kind k);

/*
 * The limits for user with groups (ngroups names) from the default and the
 * entries, by the precedence above. Every limit of out is set. src, when
 * not NULL, names where each came from.
 */
void quota_effective(const struct quota *deflt, const struct quota_entry *entries, size_t n,
                     const char *user, const char (*groups)[UNIX_NAME_MAX + 1], size_t ngroups,
                     struct quota *out, struct quota_source *src);

/*
 * Check ask against the effective quota q and the current use. A size or
 * CPU count the student did not choose is lowered to the limit instead of
 * refused. Returns 0, or -1 with a 403 "quota_exceeded" that names the
 * limit, the use and the limit (and where it came from, when src is given).
 */
int quota_check(const struct quota *q, const struct quota_source *src, const struct quota_use *use,
                struct quota_ask *ask, struct api_error *err);

/*
 * Apply a JSON object of limits to q: a number or size sets a limit,
 * "unlimited" lifts it, null unsets it (inherit). Unknown fields and bad
 * values are refused (400) and leave q unchanged. Returns 0 or -1.
 */
int quota_apply_json(struct quota *q, json_t *obj, struct api_error *err);

/* The set limits of q as JSON (unlimited as "unlimited"). */
json_t *quota_to_json(const struct quota *q);

/* The entries set by admins, kept in memory; the store makes them durable. */
struct quota_table {
	struct quota_entry *e;
	size_t n, cap;
};

struct quota_entry *quota_table_find(struct quota_table *t, enum quota_kind k, const char *name);
/*
 * Replace or add e; an entry that sets no limit is removed. Returns 0 (out
 * of memory aborts: xmalloc.h); the int stays while callers check it.
 */
int quota_table_put(struct quota_table *t, const struct quota_entry *e);
/* Returns 1 when an entry was removed. */
int quota_table_remove(struct quota_table *t, enum quota_kind k, const char *name);
void quota_table_free(struct quota_table *t);

/* 1 when s is a plausible user or group name ([a-z_][a-z0-9_.-]*, 1..UNIX_NAME_MAX). */
int quota_valid_name(const char *s);

#endif
