/*
 * The port range as two arrays indexed by port - min: taken, and
 * quarantined until when. Loop only.
 */
#include "ports.h"
#include "xmalloc.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define QUARANTINE_S 300

static int pmin, pmax;
static unsigned char *used;  /* one byte per port in the range */
static int64_t *quarantined; /* until when another program holds it */
static struct sockaddr_storage bind_addr;
static socklen_t bind_len;

void
ports_init(int min, int max, const char *addr)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&bind_addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&bind_addr;

	pmin = min;
	pmax = max;
	if (uv_ip6_addr(addr, 0, a6) == 0)
		bind_len = sizeof(*a6);
	else if (uv_ip4_addr(addr, 0, a4) == 0)
		bind_len = sizeof(*a4);
	else
		bind_len = 0; /* not numeric: no bind test */
	used = xcalloc((size_t)(max - min + 1), 1);
	quarantined = xcalloc((size_t)(max - min + 1), sizeof(*quarantined));
}

void
ports_shutdown(void)
{
	free(used);
	used = NULL;
	free(quarantined);
	quarantined = NULL;
}

/*
 * Can the engine bind port on the publish address? A socket of anyone
 * listening on that address or on the wildcard makes bind fail. One
 * non-blocking socket call: cheap enough for the loop.
 */
static int
ports_bindable(int port)
{
	struct sockaddr_storage sa = bind_addr;
	int fd, ok;

	if (bind_len == 0)
		return 1;
	if (sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 1; /* cannot tell: the engine will */
	/* As the engine binds: connections in TIME_WAIT do not count, listeners do. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	ok = bind(fd, (struct sockaddr *)&sa, bind_len) == 0;
	close(fd);
	return ok;
}

int
ports_take(int want)
{
	int64_t now = (int64_t)time(NULL);

	if (want >= pmin && want <= pmax) {
		used[want - pmin] = 1;
		return want;
	}
	for (int64_t p = pmin; p <= pmax; p++) {
		if (used[p - pmin] || quarantined[p - pmin] > now)
			continue;
		if (!ports_bindable((int)p)) {
			quarantined[p - pmin] = now + QUARANTINE_S;
			continue;
		}
		used[p - pmin] = 1;
		return (int)p;
	}
	return -1;
}

void
ports_quarantine(int p)
{
	if (p >= pmin && p <= pmax)
		quarantined[p - pmin] = (int64_t)time(NULL) + QUARANTINE_S;
}

void
ports_free(int p)
{
	if (p >= pmin && p <= pmax && used != NULL)
		used[p - pmin] = 0;
}
