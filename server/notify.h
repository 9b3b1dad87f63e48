/*
 * systemd's notify protocol, written against its documented datagram
 * format (sd_notify(3): "KEY=VALUE" lines in one datagram to the unix
 * socket named by $NOTIFY_SOCKET, '@' for the abstract namespace) rather
 * than linking libsystemd for four messages: no dependency, and a send
 * that never blocks the loop (non-blocking datagram; a full socket drops
 * the message, which systemd's own implementation does too). Without
 * $NOTIFY_SOCKET every call does nothing.
 */
#ifndef WSD_NOTIFY_H
#define WSD_NOTIFY_H

#include <uv.h>

/* Read $NOTIFY_SOCKET and $WATCHDOG_USEC; start the watchdog pings on loop. */
void notify_init(uv_loop_t *loop);
/* READY=1 (once) with a STATUS line. */
void notify_ready(const char *status);
/* STATUS=... when it changed. */
void notify_status(const char *status);
/* RELOADING=1 (done 0), then READY=1 (done 1) around a reload. */
void notify_reloading(int done, const char *status);
void notify_stopping(void);
void notify_shutdown(void);

#endif
