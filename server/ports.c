/*
 * The port range as two arrays indexed by port - min: taken, and
 * quarantined until when. Loop only.
 */
#include "ports.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define QUARANTINE_S 300

static int pmin, pmax;
static unsigned char *used;  /* one byte per port in the range */
static int64_t *quarantined; /* until when another program holds it */

void
ports_init(int min, int max)
{
	pmin = min;
	pmax = max;
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

int
ports_take(int want)
{
	if (want >= pmin && want <= pmax) {
		used[want - pmin] = 1;
		return want;
	}
	for (int64_t p = pmin; p <= pmax; p++) {
		if (!used[p - pmin] && quarantined[p - pmin] <= (int64_t)time(NULL)) {
			used[p - pmin] = 1;
			return (int)p;
		}
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
