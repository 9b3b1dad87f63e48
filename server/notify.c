/*
 * One socket, opened once; the watchdog is a loop timer at half the
 * interval systemd asked for, so a wedged loop stops the pings and
 * systemd restarts wsd.
 */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int fd = -1;
static struct sockaddr_un addr;
static socklen_t addr_len;
static uv_timer_t watchdog;
static int watchdog_on;
static int ready_sent;
static char last_status[256];

static void
notify_send(const char *msg)
{
	if (fd == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len) == -1 &&
	    errno != EAGAIN)
		log_debug("notify: %s", strerror(errno));
}

static void
notify_watchdog(uv_timer_t *t)
{
	(void)t;
	notify_send("WATCHDOG=1");
}

void
notify_init(uv_loop_t *loop)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	size_t n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(addr.sun_path))
		return;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0'; /* abstract namespace */
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_warn("notify: cannot open a socket: %s", strerror(errno));
		return;
	}
	/* The watchdog is ours only when systemd meant this process. */
	if (usec != NULL && (wpid == NULL || strtol(wpid, NULL, 10) == (long)getpid())) {
		unsigned long long us = strtoull(usec, NULL, 10);

		if (us >= 2000) {
			uv_timer_init(loop, &watchdog);
			uv_timer_start(&watchdog, notify_watchdog, us / 2000, us / 2000);
			uv_unref((uv_handle_t *)&watchdog); /* never what keeps the loop alive */
			watchdog_on = 1;
			log_info("notify: watchdog ping every %llu ms", us / 2000);
		}
	}
}

void
notify_status(const char *status)
{
	char msg[300];

	if (fd == -1 || strcmp(status, last_status) == 0)
		return;
	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify_send(msg);
}

void
notify_ready(const char *status)
{
	char msg[300];

	if (fd == -1 || ready_sent)
		return;
	ready_sent = 1;
	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify_send(msg);
}

/*
 * A reload: RELOADING=1 with the monotonic clock (what Type=notify-reload
 * wants), then READY=1 once it is done, so that "systemctl reload" waits
 * for it. Before the first READY=1 there is nothing to tell.
 */
void
notify_reloading(int done, const char *status)
{
	char msg[360];
	struct timespec ts;

	if (fd == -1 || !ready_sent)
		return;
	if (done) {
		snprintf(last_status, sizeof(last_status), "%s", status);
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
		         (unsigned long long)ts.tv_sec * 1000000ull +
		             (unsigned long long)ts.tv_nsec / 1000ull,
		         status);
	}
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=shutting down; workspaces keep running");
}

void
notify_shutdown(void)
{
	if (watchdog_on)
		uv_timer_stop(&watchdog);
	watchdog_on = 0;
	if (fd != -1)
		close(fd);
	fd = -1;
}
