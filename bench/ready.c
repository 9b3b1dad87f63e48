/*
 * ready: the readiness check of a bare `docker run`, as wsd does it, in one
 * light process (a shell loop of curl and ssh-keyscan would cost the bare
 * side more CPU than wsd's own probes cost wsd).
 *
 * Every 50 ms until both hold: Jupyter answers GET /api/status?token=TOKEN
 * on 127.0.0.1:JPORT with 200, and sshd on 127.0.0.1:SPORT sends its
 * "SSH-2.0-" banner (sshd loads its host key before it listens, so a
 * banner means the key answers too). Exits 0 when ready, 1 after TIMEOUT
 * seconds (default 180).
 *
 * READY_HOST (an IPv4 address) replaces 127.0.0.1: the swarm bench checks
 * a worker's address.
 *
 * usage: ready JPORT SPORT TOKEN [TIMEOUT]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct in_addr host = {.s_addr = 0};

/* Connect to host:port, send req (if any), read until want is seen. */
static int
exchange(int port, const char *req, const char *want)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char buf[512];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
	double deadline = now() + 2;

	if (fd == -1)
		return 0;
	sa.sin_addr = host;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto out;
	if (req != NULL && write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto out;
	while (len < sizeof(buf) - 1 && now() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strlen(buf) >= strlen(want)) {
			ok = strncmp(buf, want, strlen(want)) == 0;
			break;
		}
	}
out:
	close(fd);
	return ok;
}

int
main(int argc, char **argv)
{
	char req[512];
	int jport, sport, jok = 0, sok = 0;
	double deadline;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: ready JPORT SPORT TOKEN [TIMEOUT]\n");
		return 2;
	}
	host.s_addr = htonl(INADDR_LOOPBACK);
	if (getenv("READY_HOST") != NULL && inet_pton(AF_INET, getenv("READY_HOST"), &host) != 1) {
		fprintf(stderr, "ready: READY_HOST is not an IPv4 address\n");
		return 2;
	}
	jport = atoi(argv[1]);
	sport = atoi(argv[2]);
	deadline = now() + (argc == 5 ? atof(argv[4]) : 180);
	snprintf(req, sizeof(req),
	         "GET /api/status?token=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	         "Connection: close\r\n\r\n",
	         argv[3], jport);
	while (now() < deadline) {
		if (!jok)
			jok = exchange(jport, req, "HTTP/1.1 200");
		if (!sok)
			sok = exchange(sport, NULL, "SSH-2.0-");
		if (jok && sok)
			return 0;
		usleep(50000);
	}
	return 1;
}
