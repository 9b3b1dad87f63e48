/*
 * The few NVML declarations wsd uses, so that wsd builds without the
 * driver's headers. Layouts follow nvml.h of the NVIDIA driver (stable ABI).
 */
#ifndef WSD_NVML_H
#define WSD_NVML_H

#include <stddef.h>

typedef int nvmlReturn_t; /* 0: NVML_SUCCESS */
typedef struct nvmlDevice_st *nvmlDevice_t;

typedef struct {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_t;

/* v2 splits memory reserved by the driver from memory in use, as nvidia-smi shows it. */
typedef struct {
	unsigned int version; /* sizeof(nvmlMemory_v2_t) | 2 << 24 */
	unsigned long long total;
	unsigned long long reserved;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_v2_t;

typedef struct {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;

typedef struct {
	char busIdLegacy[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;
	unsigned int pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;

/* nvmlGpuTopologyLevel_t: 0 internal, 10 single, 20 multiple, 30 host bridge, 40 node, 50 system.
 */
typedef int nvmlGpuTopologyLevel_t;

struct gpu;
struct gpu_inventory;

/* Load the library and nvmlInit. 0, or -1 with the reason. */
int nvml_open(const char *path, char *why, size_t len);
/* Fill inv with every GPU: index, UUID, name, PCI bus id, usage, topology. */
int nvml_read(struct gpu_inventory *inv, char *why, size_t len);
/* Refresh memory and utilisation of n GPUs (by their index). */
void nvml_usage(struct gpu *gpus, size_t n);
int nvml_loaded(void);
void nvml_close(void);

#endif
