/*
 * A fake libnvidia-ml.so.1 for tests: the NVML functions wsd calls, over an
 * inventory read from the file named by FAKE_NVML_INVENTORY:
 *
 *     # uuid  name  pci-bus-id  mem-total-MiB  mem-used-MiB  util%
 *     gpu GPU-0000 NVIDIA-H100 00000000:18:00.0 81559 0 0
 *     topo 0 1 10          # topology level between GPU 0 and GPU 1
 *
 * Names use '-' for spaces. wsd loads it through the same dlopen path as
 * the real library (config key nvml_library). Memory in use and
 * utilisation follow the file while wsd runs: a test rewrites it (same
 * GPUs, other numbers) and the next reading sees them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nvml.h"

#define MAXG 64

struct fgpu {
	char uuid[96], name[96], pci[32];
	unsigned long long total, used;
	unsigned util;
};

static struct fgpu gpus[MAXG];
static int ngpus, topo[MAXG][MAXG], loaded;

static int
load(void)
{
	const char *path = getenv("FAKE_NVML_INVENTORY");
	char line[512];
	FILE *f;

	ngpus = 0;
	memset(topo, 0, sizeof(topo));
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
	while (fgets(line, sizeof(line), f) != NULL) {
		struct fgpu *g = &gpus[ngpus];
		int a, b, l;

		if (ngpus < MAXG && sscanf(line, "gpu %95s %95s %31s %llu %llu %u", g->uuid,
		                           g->name, g->pci, &g->total, &g->used, &g->util) == 6) {
			for (char *c = g->name; *c; c++)
				if (*c == '-')
					*c = ' ';
			g->total <<= 20;
			g->used <<= 20;
			ngpus++;
		} else if (sscanf(line, "topo %d %d %d", &a, &b, &l) == 3 && a >= 0 && b >= 0 &&
		           a < MAXG && b < MAXG) {
			topo[a][b] = topo[b][a] = l;
		}
	}
	fclose(f);
	loaded = 1;
	return 0;
}

static int
idx(nvmlDevice_t d)
{
	long i = (long)(intptr_t)d - 1;

	return (i >= 0 && i < ngpus) ? (int)i : -1;
}

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned int len);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned int len);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p);
nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t a, nvmlDevice_t b,
                                                 nvmlGpuTopologyLevel_t *l);

nvmlReturn_t
nvmlInit_v2(void)
{
	return load();
}

nvmlReturn_t
nvmlShutdown(void)
{
	loaded = 0;
	return 0;
}

nvmlReturn_t
nvmlDeviceGetCount_v2(unsigned int *n)
{
	if (!loaded)
		return 1;
	*n = (unsigned)ngpus;
	return 0;
}

nvmlReturn_t
nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
	if (i >= (unsigned)ngpus)
		return 2;
	*d = (nvmlDevice_t)(intptr_t)(i + 1);
	return 0;
}

nvmlReturn_t
nvmlDeviceGetUUID(nvmlDevice_t d, char *buf, unsigned int len)
{
	int i = idx(d);

	if (i < 0)
		return 2;
	snprintf(buf, len, "%s", gpus[i].uuid);
	return 0;
}

nvmlReturn_t
nvmlDeviceGetName(nvmlDevice_t d, char *buf, unsigned int len)
{
	int i = idx(d);

	if (i < 0)
		return 2;
	snprintf(buf, len, "%s", gpus[i].name);
	return 0;
}

nvmlReturn_t
nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
	int i = idx(d);

	if (i < 0)
		return 2;
	m->total = gpus[i].total;
	m->used = gpus[i].used;
	m->free = gpus[i].total - gpus[i].used;
	return 0;
}

/* Read the numbers again when the file changed (the GPUs must stay the same). */
static void
usage_refresh(void)
{
	static struct timespec seen;
	const char *path = getenv("FAKE_NVML_INVENTORY");
	struct stat st;
	char line[512];
	FILE *f;
	int n = 0;

	if (path == NULL || stat(path, &st) == -1 ||
	    (st.st_mtim.tv_sec == seen.tv_sec && st.st_mtim.tv_nsec == seen.tv_nsec) ||
	    (f = fopen(path, "r")) == NULL)
		return;
	seen = st.st_mtim;
	while (fgets(line, sizeof(line), f) != NULL && n < ngpus) {
		char uuid[96];
		unsigned long long total, used;
		unsigned util;

		if (sscanf(line, "gpu %95s %*s %*s %llu %llu %u", uuid, &total, &used, &util) ==
		        4 &&
		    strcmp(uuid, gpus[n].uuid) == 0) {
			gpus[n].used = used << 20;
			gpus[n].util = util;
			n++;
		}
	}
	fclose(f);
}

nvmlReturn_t
nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u)
{
	int i = idx(d);

	if (i == 0)
		usage_refresh();
	if (i < 0)
		return 2;
	u->gpu = gpus[i].util;
	u->memory = 0;
	return 0;
}

nvmlReturn_t
nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p)
{
	int i = idx(d);

	if (i < 0)
		return 2;
	memset(p, 0, sizeof(*p));
	snprintf(p->busId, sizeof(p->busId), "%s", gpus[i].pci);
	return 0;
}

nvmlReturn_t
nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t a, nvmlDevice_t b, nvmlGpuTopologyLevel_t *l)
{
	int i = idx(a), j = idx(b);

	if (i < 0 || j < 0)
		return 2;
	*l = topo[i][j];
	return 0;
}
