/*
 * nvml_probe [LIBRARY]: print the GPU inventory exactly as wsd reads it
 * (same nvml.c), one line per GPU, then the topology levels. Used by the
 * tests against the fake NVML, and by hand on a machine with real GPUs.
 * Needs only libc and libdl.
 */
#include <stdio.h>

#include "gpu.h"
#include "nvml.h"

static struct gpu_inventory inv;

int
main(int argc, char **argv)
{
	const char *lib = argc > 1 ? argv[1] : "libnvidia-ml.so.1";
	char why[256];

	if (nvml_open(lib, why, sizeof(why)) == -1 || nvml_read(&inv, why, sizeof(why)) == -1) {
		fprintf(stderr, "nvml_probe: %s\n", why);
		return 1;
	}
	for (size_t i = 0; i < inv.n; i++) {
		const struct gpu *g = &inv.gpus[i];

		printf("gpu %d uuid=%s name=\"%s\" pci=%s mem_total_mib=%llu mem_used_mib=%llu "
		       "util=%u\n",
		       g->index, g->uuid, g->name, g->pci_bus_id,
		       (unsigned long long)(g->mem_total >> 20),
		       (unsigned long long)(g->mem_used >> 20), g->util);
	}
	printf("topology %s\n", inv.have_topo ? "known" : "unknown");
	for (size_t i = 0; inv.have_topo && i < inv.n; i++) {
		for (size_t j = 0; j < inv.n; j++)
			printf("%s%d", j ? " " : "", inv.topo[i][j]);
		printf("\n");
	}
	nvml_close();
	return 0;
}
