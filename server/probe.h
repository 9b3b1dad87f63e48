/*
 * Readiness probes. Jupyter is probed over HTTP through fetch.c; SSH is
 * probed with libssh on libuv's thread pool (libssh's key exchange is
 * blocking), so the loop never waits on either.
 */
#ifndef WSD_PROBE_H
#define WSD_PROBE_H

#include <uv.h>

/* ok: 1 when the server presented exactly expected_pub ("ssh-ed25519 B64"). */
typedef void probe_ssh_cb(void *arg, int ok, const char *why);

int probe_ssh(uv_loop_t *loop, const char *host, int port, const char *expected_pub,
              probe_ssh_cb *cb, void *arg);

#endif
