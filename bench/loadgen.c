/*
 * loadgen: a small HTTP/1.1 load generator for wsd's unix socket.
 *
 * One thread, poll(), keep-alive connections. Each connection sends one
 * GET, reads the whole reply (Content-Length), records its latency and
 * sends the next. Closed loop by default (as fast as wsd answers); with
 * -r RATE the requests of all connections together are paced to RATE per
 * second (a request is never sent before its slot; a late reply delays
 * the next slot, so latencies over the interval are still counted in full).
 * Runs for -d seconds, or until SIGINT/SIGTERM when -d is 0; then prints
 * one JSON object: requests, errors, rps and latency percentiles in ms.
 * wsd learns the caller from SO_PEERCRED, so run it as the user whose view
 * is measured (runuser -u USER -- loadgen ...).
 *
 * usage: loadgen -s SOCKET [-c CONNS] [-d SECONDS] [-r RATE] [-o FILE] PATH...
 *        several PATHs are used in turn; -o writes every latency (ms), one a line.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define BUF_MAX (8 << 20)

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	double sent; /* 0: idle, waiting for its slot */
	size_t path;
};

static volatile sig_atomic_t stop;
static double *lat;
static size_t nlat, caplat;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_req(struct conn *c, const char *path)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: wsd\r\n\r\n", path);
	ssize_t off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, req + off, (size_t)(n - off));

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	c->len = 0;
	c->sent = now();
	return 0;
}

/* 1: a whole reply is in the buffer (status in *status), 0: not yet, -1: bad. */
static int
reply_done(struct conn *c, int *status, int *close_after)
{
	char *end, *p;
	size_t head, clen = 0;

	if (c->len < 12)
		return 0;
	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return 0;
	head = (size_t)(end - c->buf) + 4;
	*status = atoi(c->buf + 9);
	*close_after = 0;
	for (p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtoul(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Connection: close", 17) == 0)
			*close_after = 1;
	}
	return c->len >= head + clen ? 1 : 0;
}

static void
record(double ms)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (lat == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	lat[nlat++] = ms;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	size_t i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
	return lat[i];
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *out = NULL;
	int nconns = 1, opt, errors = 0, st, cl;
	double duration = 5, rate = 0, t0, next_slot, elapsed;
	static struct conn conns[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	char **paths;
	size_t npaths, turn = 0;

	while ((opt = getopt(argc, argv, "s:c:d:r:o:")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (sock == NULL || optind >= argc || nconns < 1 || nconns > MAX_CONNS)
		goto usage;
	paths = argv + optind;
	npaths = (size_t)(argc - optind);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	for (int i = 0; i < nconns; i++) {
		conns[i].fd = dial(sock);
		conns[i].cap = 64 << 10;
		conns[i].buf = malloc(conns[i].cap + 1);
		if (conns[i].fd == -1 || conns[i].buf == NULL) {
			fprintf(stderr, "loadgen: cannot connect to %s: %s\n", sock,
			        strerror(errno));
			return 1;
		}
	}
	t0 = next_slot = now();
	while (!stop && (duration <= 0 || now() - t0 < duration)) {
		double t = now();
		int timeout = 100;

		/* Idle connections send when their slot has come (always, unpaced). */
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];

			if (c->sent != 0)
				continue;
			if (rate > 0 && t < next_slot) {
				int ms = (int)((next_slot - t) * 1000) + 1;

				timeout = ms < timeout ? ms : timeout;
				break;
			}
			c->path = turn++ % npaths;
			if (send_req(c, paths[c->path]) == -1) {
				errors++;
				close(c->fd);
				c->fd = dial(sock);
				if (c->fd == -1) {
					fprintf(stderr, "loadgen: reconnect failed\n");
					return 1;
				}
				continue;
			}
			if (rate > 0)
				next_slot = (next_slot > t - 1 ? next_slot : t) + 1.0 / rate;
		}
		for (int i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].sent != 0 ? conns[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)nconns, timeout) == -1) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			ssize_t n;
			int done;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->cap - c->len < 16384) {
				if (c->cap >= BUF_MAX) {
					fprintf(stderr, "loadgen: reply too large\n");
					return 1;
				}
				c->cap *= 2;
				c->buf = realloc(c->buf, c->cap + 1);
				if (c->buf == NULL) {
					perror("realloc");
					return 1;
				}
			}
			n = read(c->fd, c->buf + c->len, c->cap - c->len);
			if (n <= 0) {
				errors++;
				close(c->fd);
				c->fd = dial(sock);
				c->sent = 0;
				if (c->fd == -1) {
					fprintf(stderr, "loadgen: reconnect failed\n");
					return 1;
				}
				continue;
			}
			c->len += (size_t)n;
			done = reply_done(c, &st, &cl);
			if (done == 0)
				continue;
			record((now() - c->sent) * 1000.0);
			if (st != 200)
				errors++;
			c->sent = 0;
			if (cl) {
				close(c->fd);
				c->fd = dial(sock);
				if (c->fd == -1) {
					fprintf(stderr, "loadgen: reconnect failed\n");
					return 1;
				}
			}
		}
	}
	elapsed = now() - t0;
	if (out != NULL) {
		FILE *f = fopen(out, "w");

		if (f == NULL) {
			perror(out);
			return 1;
		}
		for (size_t i = 0; i < nlat; i++)
			fprintf(f, "%.4f\n", lat[i]);
		fclose(f);
	}
	qsort(lat, nlat, sizeof(*lat), cmp);
	printf("{\"requests\": %zu, \"errors\": %d, \"seconds\": %.3f, \"rps\": %.1f, "
	       "\"connections\": %d, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"max_ms\": %.3f}\n",
	       nlat, errors, elapsed, (double)nlat / elapsed, nconns, pct(50), pct(90), pct(99),
	       nlat ? lat[nlat - 1] : 0.0);
	return 0;
usage:
	fprintf(stderr,
	        "usage: loadgen -s SOCKET [-c CONNS] [-d SECONDS] [-r RATE] [-o FILE] PATH...\n");
	return 2;
}
