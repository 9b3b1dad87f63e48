/*
 * sockprobe: misbehaving clients for the connection tests.
 *
 *   sockprobe slow SOCKET SECONDS   send half a request, then wait; prints
 *                                   "STATUS MS": what wsd answered and when
 *   sockprobe hold SOCKET N SECONDS open N connections that send nothing;
 *                                   prints how many were refused with 503
 *   sockprobe steps SOCKET STEP...  one connection driven step by step:
 *                                   send:PATH  send GET PATH (keep-alive)
 *                                   read       read one reply, print its status
 *                                              ("short" when cut off, "none"
 *                                              when nothing came in 10 s, "eof")
 *                                   get:PATH   send:PATH, then read
 *                                   shut       shutdown(SHUT_WR)
 *                                   wait:FILE  wait until FILE exists
 *                                   sleep:MS   sleep MS milliseconds
 *   sockprobe pipeline SOCKET MB    send MB MiB of pipelined GET /v1/workspaces
 *                                   and read nothing; prints "SENT_MIB SECONDS
 *                                   closed|open": what got through and whether
 *                                   wsd hung up (after 60 s, it gives up)
 *   sockprobe keep SOCKET N SECONDS open N keep-alive connections, each sending
 *                                   GET /v1/info every 3 s; prints "SERVED
 *                                   REFUSED CLOSED" (answered 200 until the
 *                                   end; refused, or closed before any answer;
 *                                   closed by wsd after being served), then
 *                                   the first refusal's status and body
 *   sockprobe burst SOCKET N ROUNDS PATH...
 *                                   N clients at once, each sending ROUNDS x
 *                                   every PATH in turn, one connection per
 *                                   request (as curl does); prints one line
 *                                   "PATH STATUS COUNT" per outcome (STATUS 0:
 *                                   no complete reply in 30 s)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to ms for an answer; return its status code, 0 on EOF, -1 on none. */
static int
answer(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[512];
	ssize_t n;
	int code;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "HTTP/1.1 %d", &code) == 1 ? code : 0;
}

/* Bytes read from one connection, replies taken off the front. */
struct rd {
	int fd;
	int eof;
	char *buf;
	size_t len, cap;
};

/*
 * Take one complete reply (Content-Length framed) off r's buffer: its
 * status, with its body copied to body; 0 when none is complete yet.
 */
static int
take_reply(struct rd *r, char *body, size_t bodymax)
{
	char *end, *cl;
	size_t head, blen = 0;
	int code;

	if (r->len == 0)
		return 0;
	r->buf[r->len] = '\0';
	end = strstr(r->buf, "\r\n\r\n");
	if (end == NULL)
		return 0;
	head = (size_t)(end - r->buf) + 4;
	if (sscanf(r->buf, "HTTP/1.1 %d", &code) != 1)
		code = 999;
	for (cl = r->buf; cl < end; cl++)
		if (strncasecmp(cl, "\r\nContent-Length:", 17) == 0) {
			blen = strtoul(cl + 17, NULL, 10);
			break;
		}
	if (r->len < head + blen)
		return 0;
	if (body != NULL && bodymax > 0) {
		size_t n = blen < bodymax - 1 ? blen : bodymax - 1;

		memcpy(body, r->buf + head, n);
		body[n] = '\0';
	}
	memmove(r->buf, r->buf + head + blen, r->len - head - blen);
	r->len -= head + blen;
	return code;
}

/* Read what is there (waiting up to ms); sets eof when the peer hung up. */
static void
fill(struct rd *r, int ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	ssize_t n;

	if (r->eof || poll(&p, 1, ms) <= 0)
		return;
	if (r->cap - r->len < 4096) {
		r->cap = r->cap ? 2 * r->cap : 8192;
		if ((r->buf = realloc(r->buf, r->cap)) == NULL)
			exit(2);
	}
	n = read(r->fd, r->buf + r->len, r->cap - 1 - r->len);
	if (n <= 0)
		r->eof = 1;
	else
		r->len += (size_t)n;
}

static int
send_get(int fd, const char *path)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: wsd\r\n\r\n", path);

	return send(fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int
steps(const char *sock, int n, char **step)
{
	struct rd r = {0};
	char body[4096];

	r.fd = dial(sock);
	for (int i = 0; i < n; i++) {
		const char *s = step[i];

		if (strncmp(s, "send:", 5) == 0 || strncmp(s, "get:", 4) == 0) {
			if (send_get(r.fd, strchr(s, ':') + 1) == -1)
				printf("send-failed\n");
		}
		if (strcmp(s, "read") == 0 || strncmp(s, "get:", 4) == 0) {
			long until = now_ms() + 10000;
			int code = 0;

			while ((code = take_reply(&r, body, sizeof(body))) == 0 && !r.eof &&
			       now_ms() < until)
				fill(&r, 100);
			if (code == 0)
				code = take_reply(&r, body, sizeof(body));
			if (code > 0)
				printf("%d\n", code);
			else
				printf("%s\n", r.len > 0 ? "short" : r.eof ? "eof" : "none");
		} else if (strcmp(s, "shut") == 0) {
			shutdown(r.fd, SHUT_WR);
		} else if (strncmp(s, "wait:", 5) == 0) {
			struct stat st;

			for (int t = 0; t < 600 && stat(s + 5, &st) != 0; t++)
				usleep(100000);
		} else if (strncmp(s, "sleep:", 6) == 0) {
			usleep((useconds_t)atoi(s + 6) * 1000);
		} else if (strncmp(s, "send:", 5) != 0 && strncmp(s, "get:", 4) != 0) {
			fprintf(stderr, "sockprobe: unknown step %s\n", s);
			return 2;
		}
		fflush(stdout);
	}
	close(r.fd);
	free(r.buf);
	return 0;
}

static int
pipeline(const char *sock, long mib)
{
	static const char req[] = "GET /v1/workspaces HTTP/1.1\r\nHost: wsd\r\n\r\n";
	static char chunk[64 * 1024];
	size_t per = sizeof(chunk) / (sizeof(req) - 1) * (sizeof(req) - 1);
	long long total = mib * 1024 * 1024, sent = 0;
	long t0 = now_ms(), last = t0;
	int fd = dial(sock), closed = 0;

	for (size_t off = 0; off + sizeof(req) - 1 <= sizeof(chunk); off += sizeof(req) - 1)
		memcpy(chunk + off, req, sizeof(req) - 1);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (sent < total && now_ms() - last < 60000) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		size_t at = (size_t)(sent % (long long)(sizeof(req) - 1)), len = per - at;
		ssize_t w;

		/* From wherever the last write stopped in a request. */
		if ((long long)len > total - sent)
			len = (size_t)(total - sent);
		w = send(fd, chunk + at, len, MSG_NOSIGNAL);
		if (w > 0) {
			sent += w;
			last = now_ms();
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			closed = 1;
			break;
		}
		poll(&p, 1, 200);
		if (p.revents & (POLLHUP | POLLERR)) {
			closed = 1;
			break;
		}
	}
	printf("%.1f %.1f %s\n", sent / 1048576.0, (now_ms() - t0) / 1000.0,
	       closed ? "closed" : "open");
	close(fd);
	return 0;
}

struct kconn {
	struct rd r;
	long next; /* when to send the next request */
	int waiting, served, refused, closed;
};

static int
keep(const char *sock, int n, int seconds)
{
	struct kconn *k = calloc((size_t)n, sizeof(*k));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	char first[1024] = "", body[1024];
	long t0 = now_ms(), end = t0 + seconds * 1000L;
	int served = 0, refused = 0, closed = 0;

	if (k == NULL || p == NULL)
		return 2;
	for (int i = 0; i < n; i++) {
		k[i].r.fd = dial(sock);
		k[i].next = t0 + 100 + (long)i * 3000 / n;
	}
	while (now_ms() < end) {
		long now = now_ms();

		for (int i = 0; i < n; i++) {
			struct kconn *c = &k[i];

			p[i].fd = c->refused || c->closed ? -1 : c->r.fd;
			p[i].events = POLLIN;
			if (p[i].fd != -1 && !c->waiting && now >= c->next) {
				send_get(c->r.fd, "/v1/info");
				c->waiting = 1;
				c->next = now + 3000;
			}
		}
		poll(p, (nfds_t)n, 50);
		for (int i = 0; i < n; i++) {
			struct kconn *c = &k[i];
			int code;

			if (p[i].fd == -1 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			fill(&c->r, 0);
			while ((code = take_reply(&c->r, body, sizeof(body))) > 0) {
				c->waiting = 0;
				if (code == 200) {
					c->served = 1;
					continue;
				}
				if (!c->served) {
					c->refused = 1;
					if (first[0] == '\0')
						snprintf(first, sizeof(first), "%d %s", code, body);
				} else {
					c->closed = 1;
				}
				break;
			}
			if (c->r.eof && !c->refused) {
				if (c->served)
					c->closed = 1;
				else
					c->refused = 1;
			}
			if (c->refused || c->closed)
				close(c->r.fd);
		}
	}
	for (int i = 0; i < n; i++) {
		if (k[i].refused) {
			refused++;
		} else if (k[i].closed) {
			closed++;
		} else {
			served += k[i].served;
			close(k[i].r.fd);
		}
		free(k[i].r.buf);
	}
	printf("%d %d %d\n%s\n", served, refused, closed, first);
	free(k);
	free(p);
	return 0;
}

/* One client of burst: one request per connection, one after another. */
struct bconn {
	struct rd r;
	int round, path; /* the request in flight */
	long since;
	int sent;
};

static void
bconn_open(struct bconn *c, const char *sock)
{
	c->r.fd = dial(sock);
	c->r.eof = 0;
	c->r.len = 0;
	c->sent = 0;
	c->since = now_ms();
}

static int
burst(const char *sock, int n, int rounds, int npaths, char **paths)
{
	struct bconn *b = calloc((size_t)n, sizeof(*b));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int *count = calloc((size_t)npaths * 1000, sizeof(int)), live = n;

	if (b == NULL || p == NULL || count == NULL)
		return 2;
	for (int i = 0; i < n; i++)
		bconn_open(&b[i], sock);
	while (live > 0) {
		for (int i = 0; i < n; i++) {
			struct bconn *c = &b[i];

			p[i].fd = c->round < rounds ? c->r.fd : -1;
			p[i].events = POLLIN;
			if (p[i].fd != -1 && !c->sent) {
				char req[1024];
				int len = snprintf(req, sizeof(req),
				                   "GET %s HTTP/1.1\r\nHost: wsd\r\n"
				                   "Connection: close\r\n\r\n",
				                   paths[c->path]);

				if (send(c->r.fd, req, (size_t)len, MSG_NOSIGNAL) != len)
					c->r.eof = 1;
				c->sent = 1;
			}
		}
		poll(p, (nfds_t)n, 100);
		for (int i = 0; i < n; i++) {
			struct bconn *c = &b[i];
			int code = 0;

			if (c->round >= rounds)
				continue;
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				fill(&c->r, 0);
			code = take_reply(&c->r, NULL, 0);
			if (code == 0 && !c->r.eof && now_ms() - c->since < 30000)
				continue;
			count[c->path * 1000 + (code > 0 && code < 1000 ? code : 0)]++;
			close(c->r.fd);
			if (++c->path == npaths) {
				c->path = 0;
				c->round++;
			}
			if (c->round < rounds)
				bconn_open(c, sock);
			else
				live--;
		}
	}
	for (int i = 0; i < npaths; i++)
		for (int code = 0; code < 1000; code++)
			if (count[i * 1000 + code] > 0)
				printf("%s %d %d\n", paths[i], code, count[i * 1000 + code]);
	for (int i = 0; i < n; i++)
		free(b[i].r.buf);
	free(b);
	free(p);
	free(count);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "slow") == 0) {
		static const char half[] = "GET /v1/info HTTP/1.1\r\nHost: wsd\r\nX-Slow: ";
		int fd = dial(argv[2]);
		long t0 = now_ms();
		int code;

		if (write(fd, half, sizeof(half) - 1) < 0)
			return 2;
		code = answer(fd, atoi(argv[3]) * 1000);
		printf("%d %ld\n", code, now_ms() - t0);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "hold") == 0) {
		int n = atoi(argv[3]), refused = 0;
		int *fds = calloc((size_t)n, sizeof(int));

		for (int i = 0; i < n; i++)
			fds[i] = dial(argv[2]);
		for (int i = 0; i < n; i++)
			if (answer(fds[i], 300) == 503)
				refused++;
		sleep((unsigned)atoi(argv[4]));
		printf("%d\n", refused);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		free(fds);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "steps") == 0)
		return steps(argv[2], argc - 3, argv + 3);
	if (argc == 4 && strcmp(argv[1], "pipeline") == 0)
		return pipeline(argv[2], atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "keep") == 0)
		return keep(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 6 && strcmp(argv[1], "burst") == 0)
		return burst(argv[2], atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
	fprintf(stderr,
	        "usage: sockprobe slow SOCKET SECONDS | hold SOCKET N SECONDS |\n"
	        "       steps SOCKET STEP... | pipeline SOCKET MIB | keep SOCKET N SECONDS |\n"
	        "       burst SOCKET N ROUNDS PATH...\n");
	return 2;
}
