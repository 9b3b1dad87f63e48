/*
 * Refusals in the audit log, once per pattern. A student can make wsd
 * refuse something as fast as they can send requests; writing each
 * refusal would let them fill the store and push an admin's actions out
 * of the audit view. So the first refusal of a pattern (who, action,
 * target, result) in a window is written at once, the ones after it in
 * the same window are only counted, and one row at the window's end says
 * how many there were. Patterns are kept in a fixed table; when it is
 * full, refusals of new patterns are counted together in one row per
 * window; so are those of a user who holds AUDIT_PATTERNS_PER_USER
 * patterns already. Accepted actions and admins' actions are never aggregated.
 */
#ifndef WSD_AUDIT_H
#define WSD_AUDIT_H

#include <uv.h>

#define AUDIT_WINDOW_S 60
#define AUDIT_PATTERNS 256
#define AUDIT_PATTERNS_PER_USER 16

void audit_init(uv_loop_t *loop);
void audit_shutdown(void);
/* A refusal: written, or counted towards its pattern's summary row. */
void audit_refusal(const char *actor, unsigned actor_uid, const char *action, const char *target,
                   const char *result, const char *detail);
/* Rows not written individually since start-up (for tests and metrics). */
unsigned long audit_suppressed(void);

#endif
