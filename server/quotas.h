/*
 * The quota table in force: admins' entries (from the store) and the
 * default (from wsd.conf), owned here as gpu.c owns GPU state. quota.c
 * is the pure policy over it. A change is applied in memory at once (so
 * the next request builds on it), written, and undone if the store says
 * no; one change per entry is in flight at a time, so an undo always
 * restores what the store holds.
 */
#ifndef WSD_QUOTAS_H
#define WSD_QUOTAS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "quota.h"

/* Who asks: from the socket and the user and group databases. */
struct ws_who {
	uid_t uid;
	const char *user;
	const char (*groups)[UNIX_NAME_MAX + 1];
	size_t ngroups;
};

void quotas_init(const struct config *cfg);
/* Call cb after a change of a quota entry is on record. */
void quotas_on_change(void (*cb)(void));
/* Load the entries from the store (start-up, synchronous). */
int quotas_load(char *err, size_t errlen);
void quotas_shutdown(void);

const struct quota_table *quotas_table(void);
const struct quota *quotas_default(void);
struct quota_entry *quotas_find(enum quota_kind kind, const char *name);
/* The limits that apply to who, and where each comes from. */
void quotas_effective(const struct ws_who *who, struct quota *q, struct quota_source *src);

/* Is a change to this entry being saved? */
int quotas_busy(enum quota_kind kind, const char *name);
/*
 * Set e (removing: remove the entry e names). done runs once, on the
 * loop, after the store answered (ok 0: undone, why says why); the
 * change is audited as actor.
 */
void quotas_change(const struct quota_entry *e, int removing, const char *actor, unsigned actor_uid,
                   void (*done)(void *arg, int ok, const char *why), void *arg);

#endif
