/*
 * NVML through dlopen: the driver's libnvidia-ml.so.1 (or a library named
 * in the config, such as the tests' fake) is loaded at run time, so wsd
 * builds and runs where there is no driver. Only the functions below are
 * used; nvml.h declares their types. Blocking calls: start-up or pool
 * threads only. No libuv here, so tools can link it alone.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "gpu.h"
#include "nvml.h"

struct nvml {
	void *lib;
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t *);
	nvmlReturn_t (*memory2)(nvmlDevice_t, nvmlMemory_v2_t *);
	nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t *);
	nvmlReturn_t (*topo)(nvmlDevice_t, nvmlDevice_t, nvmlGpuTopologyLevel_t *);
};

static struct nvml nv;

int
nvml_open(const char *path, char *why, size_t len)
{
	nv.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (nv.lib == NULL) {
		snprintf(why, len, "%s", dlerror());
		return -1;
	}
#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&nv.field = dlsym(nv.lib, name);                                         \
	} while (0)
	SYM(init, "nvmlInit_v2");
	SYM(shutdown, "nvmlShutdown");
	SYM(count, "nvmlDeviceGetCount_v2");
	SYM(handle, "nvmlDeviceGetHandleByIndex_v2");
	SYM(uuid, "nvmlDeviceGetUUID");
	SYM(name, "nvmlDeviceGetName");
	SYM(memory, "nvmlDeviceGetMemoryInfo");
	SYM(memory2, "nvmlDeviceGetMemoryInfo_v2");
	SYM(util, "nvmlDeviceGetUtilizationRates");
	SYM(pci, "nvmlDeviceGetPciInfo_v3");
	SYM(topo, "nvmlDeviceGetTopologyCommonAncestor");
#undef SYM
	if (!nv.init || !nv.shutdown || !nv.count || !nv.handle || !nv.uuid || !nv.name) {
		snprintf(why, len, "%s lacks the NVML functions wsd needs", path);
		dlclose(nv.lib);
		memset(&nv, 0, sizeof(nv));
		return -1;
	}
	if (nv.init() != 0) {
		snprintf(why, len, "nvmlInit failed (no driver loaded?)");
		dlclose(nv.lib);
		memset(&nv, 0, sizeof(nv));
		return -1;
	}
	return 0;
}

/* Read usage of every GPU into out (by inventory position). */
void
nvml_usage(struct gpu *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		nvmlDevice_t d;
		nvmlMemory_t m;
		nvmlMemory_v2_t m2;
		nvmlUtilization_t u;

		if (nv.handle((unsigned)out[i].index, &d) != 0)
			continue;
		m2.version = (unsigned int)sizeof(m2) | 2u << 24;
		if (nv.memory2 && nv.memory2(d, &m2) == 0) {
			out[i].mem_total = m2.total;
			out[i].mem_used = m2.used;
		} else if (nv.memory && nv.memory(d, &m) == 0) {
			out[i].mem_total = m.total;
			out[i].mem_used = m.used;
		}
		if (nv.util && nv.util(d, &u) == 0)
			out[i].util = u.gpu;
	}
}

int
nvml_read(struct gpu_inventory *inv, char *why, size_t len)
{
	unsigned int n;
	nvmlDevice_t dev[GPU_MAX];

	if (nv.count(&n) != 0) {
		snprintf(why, len, "nvmlDeviceGetCount failed");
		return -1;
	}
	if (n > GPU_MAX)
		n = GPU_MAX;
	for (unsigned int i = 0; i < n; i++) {
		struct gpu *g = &inv->gpus[inv->n];
		nvmlPciInfo_t pci;

		if (nv.handle(i, &dev[inv->n]) != 0 ||
		    nv.uuid(dev[inv->n], g->uuid, sizeof(g->uuid)) != 0)
			continue;
		g->index = (int)i;
		if (nv.name(dev[inv->n], g->name, sizeof(g->name)) != 0)
			snprintf(g->name, sizeof(g->name), "NVIDIA GPU");
		if (nv.pci && nv.pci(dev[inv->n], &pci) == 0)
			snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", pci.busId);
		inv->n++;
	}
	nvml_usage(inv->gpus, inv->n);
	if (nv.topo != NULL) {
		inv->have_topo = 1;
		for (size_t i = 0; i < inv->n; i++) {
			for (size_t j = 0; j < inv->n; j++) {
				nvmlGpuTopologyLevel_t l = 0;

				if (i != j && nv.topo(dev[i], dev[j], &l) != 0)
					inv->have_topo = 0;
				inv->topo[i][j] = i == j ? 0 : l;
			}
		}
		if (!inv->have_topo)
			memset(inv->topo, 0, sizeof(inv->topo));
	}
	return 0;
}

int
nvml_loaded(void)
{
	return nv.lib != NULL;
}

void
nvml_close(void)
{
	if (nv.lib == NULL)
		return;
	nv.shutdown();
	dlclose(nv.lib);
	memset(&nv, 0, sizeof(nv));
}
