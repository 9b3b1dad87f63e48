/*
 * Reload on SIGHUP (systemctl reload): wsd.conf is read again on a pool
 * thread and, when it is valid, applied on the loop. New starts see the
 * new templates, defaults and limits; running workspaces keep what they
 * were started with; keys read only at start keep their value and are
 * named in the log. An invalid file changes nothing and says why.
 */
#ifndef WSD_RELOAD_H
#define WSD_RELOAD_H

#include <uv.h>

#include "config.h"
#include "http.h"

/* cfg is the live configuration, loaded from path (required: -c given). */
void reload_init(uv_loop_t *loop, struct config *cfg, const char *path, int required, int debug);
/* Read the file again now (what SIGHUP does). */
void reload_now(void);
void reload_shutdown(void);
/* The connection limits that cfg sets. */
void reload_http_limits(const struct config *cfg, struct http_limits *lim);

#endif
