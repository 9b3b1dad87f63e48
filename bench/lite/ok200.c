/*
 * ok200: the Jupyter stand-in of the bench's "lite" workspaces. Answers
 * every HTTP request on the port given (default 8888) with 200, one
 * connection at a time. Built static and copied into an image FROM the
 * offline image, it lets bench/run.sh keep 1,000 workspace records alive
 * on a small machine: a real Jupyter costs ~80 MB per workspace, this
 * under 1 MB. Bench only; never a template for students.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                            "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
	struct sockaddr_in a = {.sin_family = AF_INET};
	int one = 1, s, c;
	char buf[4096];

	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 8888));
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s == -1 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(s, 64) == -1) {
		perror("ok200");
		return 1;
	}
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c == -1)
			continue;
		/* One read is enough for the probes' small GETs. */
		if (read(c, buf, sizeof(buf)) > 0 && write(c, reply, sizeof(reply) - 1) < 0)
			perror("ok200: write");
		close(c);
	}
}
