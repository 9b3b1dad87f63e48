/*
 * Notices to users: events that concern them (a queued start dispatched
 * and ready, an idle warning and the reclaim, a lifetime warning and the
 * expiry) go to their terminals on this server (utmp, like write(1)) and
 * to the admin's notify_command, once each. See notice.c.
 */
#ifndef WSD_NOTICE_H
#define WSD_NOTICE_H

#include <stddef.h>

#include <uv.h>

#include "config.h"
#include "notice_text.h"

struct workspace;

/* Start-up, before the store thread: drop what is too old to deliver. */
int notice_load(char *err, size_t errlen);
/* After the store thread started: deliver what a previous wsd left. */
void notice_init(uv_loop_t *loop, const struct config *cfg);
void notice_shutdown(void);

/*
 * An event for ws's owner. deadline: the stop it warns of or that
 * happened (0: none); why: evidence (may be NULL). Posted once per
 * (workspace, kind, deadline), also across restarts of wsd.
 */
void notice_post(enum notice_kind kind, const struct workspace *ws, double deadline,
                 const char *why);

#endif
