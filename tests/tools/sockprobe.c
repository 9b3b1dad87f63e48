/*
 * sockprobe: misbehaving clients for the connection tests.
 *
 *   sockprobe slow SOCKET SECONDS   send half a request, then wait; prints
 *                                   "STATUS MS": what wsd answered and when
 *   sockprobe hold SOCKET N SECONDS open N connections that send nothing;
 *                                   prints how many were refused with 503
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	fprintf(stderr, "usage: sockprobe slow SOCKET SECONDS | hold SOCKET N SECONDS\n");
	return 2;
}
