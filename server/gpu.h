/*
 * GPUs: the inventory (NVML through dlopen, or a static list from the
 * config) and the allocator. The allocator is pure: given the inventory
 * with its current holders and a request, it picks GPUs or explains why
 * not. A GPU has at most one holder; holders are workspace ids.
 */
#ifndef WSD_GPU_H
#define WSD_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "types.h"

struct gpu {
	int index;
	char uuid[GPU_UUID_MAX];
	char name[96];
	char pci_bus_id[32];
	uint64_t mem_total, mem_used; /* bytes */
	unsigned util;                /* percent */
	char holder[13];              /* workspace id, "" when free */
	int node;                     /* swarm: its node's position (nodes.h); else 0 */
	int unusable;                 /* swarm: its node takes no new workspaces now */
};

struct gpu_inventory {
	struct gpu gpus[GPU_MAX];
	size_t n;
	/* topo[i][j]: NVML topology level between GPUs i and j (0 same board,
	 * 10 single switch, 20 multiple switches, 30 host bridge, 40 NUMA node,
	 * 50 system); all 0 when unknown. */
	int topo[GPU_MAX][GPU_MAX];
	int have_topo;
	char source[16]; /* "nvml", "static", "swarm" or "none" */
};

/*
 * Pick GPUs for req. Returns the number picked (their inventory positions
 * in out), or -1 with err set. Never picks a GPU that has a holder.
 */
int gpu_pick(const struct gpu_inventory *inv, const struct gpu_request *req, int *out,
             struct api_error *err);

/* The inventory of this server (gpu.c); loaded by gpu_init at start-up. */
struct uv_loop_s;
int gpu_init(struct uv_loop_s *loop, const struct config *cfg);
/* Call cb on the loop after each refresh of memory and utilisation. */
void gpu_on_refresh(void (*cb)(void));
/* Swarm mode: the nodes' reports were merged (node_agent.c); the same callback. */
void gpu_refreshed(void);
void gpu_shutdown(void);
struct gpu_inventory *gpu_inventory(void);

/* Mark positions held by id / free every GPU held by id. */
void gpu_hold(struct gpu_inventory *inv, const int *pos, int n, const char *id);
int gpu_release(struct gpu_inventory *inv, const char *id);
int gpu_free_count(const struct gpu_inventory *inv);
/* Position of the GPU named by an index ("3") or a UUID, or -1. */
int gpu_lookup(const struct gpu_inventory *inv, const char *id);

#endif
