/*
 * The web page: a TCP listener of http.c (web_listen) serving HTML drawn
 * by wsd from the answers of api.c's own handlers, behind one-time login
 * links (wsctl web) and in-memory sessions.
 */
#ifndef WSD_WEB_H
#define WSD_WEB_H

#include <stddef.h>

#include <uv.h>

#include "admin.h"
#include "config.h"
#include "http.h"

/* The headers every web reply carries (CSP, framing, referrer, caching). */
extern const char web_headers[];

/* Listen on cfg->web_listen if set (0), or say why not (-1). Call after http_listen. */
int web_start(uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);
/* A reload: new lifetimes for links and sessions from now on. */
void web_set_config(const struct config *cfg);
/* Forget every link and session (shutdown). */
void web_shutdown(void);
/* POST /v1/web/link on the socket: a one-time login link for the caller's uid. */
void web_link(struct request *req, route_arg *args);
/* Every request of the web listener (and of the fuzzer's web connections). */
void web_handle(struct request *req);
/* For tests and the fuzzer: set up without a listener. */
void web_init(uv_loop_t *loop, const struct config *cfg);
/*
 * For the fuzzer only: a session with a known id and CSRF token (64 hex
 * digits each), so that its inputs reach the pages and forms; made again
 * after an input logged it out. Returns 0, or
 * -1 when they are not 64 hex digits.
 */
int web_fuzz_session(uid_t uid, const char *id, const char *csrf);

#endif
