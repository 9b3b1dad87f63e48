/*
 * The web listener's request path, for real: bytes go into a connected
 * socket served by http.c as a web_listen connection, with web.c's pages,
 * login links, cookies and forms, and through them api.c's handlers (the
 * engine unreachable, so nothing reaches a container). A session with a
 * known cookie and CSRF token exists, so inputs that carry them reach the
 * pages and the forms (the seeds do). Whatever arrives, wsd answers or
 * hangs up, and the connection is freed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "fetch.h"
#include "http.h"
#include "web.h"
#include "workspace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static uv_loop_t *loop;
static struct config cfg;

static void
setup(void)
{
	struct http_limits lim = {.max_connections = 64,
	                          .max_connections_per_user = 64,
	                          .max_requests_per_user = 16,
	                          .request_timeout_ms = 10000,
	                          .keepalive_timeout_ms = 10000,
	                          .admin_group = "nogroup"};
	char err[256];

	loop = uv_default_loop();
	config_defaults(&cfg);
	config_parse_buffer(&cfg, "f",
	                    "state_dir = /nonexistent\nengine = unix:///nonexistent/docker.sock\n",
	                    err, sizeof(err));
	engine_init(&cfg, err, sizeof(err));
	fetch_init(loop);
	ws_init(loop, &cfg);
	http_init(loop, &lim, api_handle);
	web_init(loop, &cfg);
	/* The seeds' cookie and token: 64 zeros and 64 ones. */
	web_fuzz_session(getuid(),
	                 "0000000000000000000000000000000000000000000000000000000000000000",
	                 "1111111111111111111111111111111111111111111111111111111111111111");
}

static void
drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	int sv[2];
	size_t off = 0;

	if (loop == NULL)
		setup();
	/* The seeds' cookie and token: 64 zeros and 64 ones (again after a logout). */
	web_fuzz_session(getuid(),
	                 "0000000000000000000000000000000000000000000000000000000000000000",
	                 "1111111111111111111111111111111111111111111111111111111111111111");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (http_adopt_web(sv[0], web_handle, web_headers) != 0)
		abort();
	while (off < len) {
		ssize_t n = write(sv[1], data + off, len - off);

		if (n > 0)
			off += (size_t)n;
		uv_run(loop, UV_RUN_NOWAIT);
		drain(sv[1]);
	}
	shutdown(sv[1], SHUT_WR);
	while (http_connections() > 0 || uv_loop_alive(loop)) {
		uv_run(loop, UV_RUN_NOWAIT);
		drain(sv[1]);
		if (http_connections() == 0)
			uv_run(loop, UV_RUN_NOWAIT);
		if (http_connections() == 0 && !uv_loop_alive(loop))
			break;
	}
	close(sv[1]);
	return 0;
}
