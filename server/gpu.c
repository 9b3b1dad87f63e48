/*
 * The GPU inventory. NVML is loaded at run time (dlopen of
 * libnvidia-ml.so.1, or the configured path), so wsd builds and runs on
 * machines without a driver; a static list of UUIDs from the config is the
 * fallback, and a server with neither has no GPUs and serves CPU
 * workspaces. The first load happens at start-up; refreshes of memory and
 * utilisation run on the thread pool and are merged on the loop.
 */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "nvml.h"
#include "xmalloc.h"

static struct gpu_inventory inv;
static uv_loop_t *loop;
static uv_timer_t refresh_timer;
static int refreshing;
static void (*on_refresh)(void);

struct gpu_inventory *
gpu_inventory(void)
{
	return &inv;
}

static int
static_load(const char *list, char *why, size_t len)
{
	char *copy = xstrdup(list), *save = NULL, *tok;

	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		struct gpu *g = &inv.gpus[inv.n];

		if (inv.n == GPU_MAX || strlen(tok) >= sizeof(g->uuid) ||
		    gpu_lookup(&inv, tok) >= 0 || tok[0] < 'A') {
			snprintf(why, len, "static_gpus: bad or repeated entry \"%.40s\"", tok);
			free(copy);
			return -1;
		}
		g->index = (int)inv.n;
		snprintf(g->uuid, sizeof(g->uuid), "%s", tok);
		snprintf(g->name, sizeof(g->name), "GPU (static inventory)");
		inv.n++;
	}
	free(copy);
	return 0;
}

struct refresh {
	uv_work_t work;
	size_t n;
	struct gpu gpus[GPU_MAX];
};

static void
refresh_work(uv_work_t *w)
{
	struct refresh *r = w->data;

	nvml_usage(r->gpus, r->n);
}

static void
refresh_done(uv_work_t *w, int status)
{
	struct refresh *r = w->data;

	/* Only usage changes; holders are the loop's alone. */
	for (size_t i = 0; status == 0 && i < r->n && i < inv.n; i++) {
		inv.gpus[i].mem_total = r->gpus[i].mem_total;
		inv.gpus[i].mem_used = r->gpus[i].mem_used;
		inv.gpus[i].util = r->gpus[i].util;
	}
	refreshing = 0;
	free(r);
	if (status == 0 && on_refresh != NULL)
		on_refresh();
}

void
gpu_on_refresh(void (*cb)(void))
{
	on_refresh = cb;
}

void
gpu_refreshed(void)
{
	if (on_refresh != NULL)
		on_refresh();
}

static void
refresh_tick(uv_timer_t *t)
{
	struct refresh *r;

	(void)t;
	if (refreshing || !nvml_loaded() || inv.n == 0)
		return;
	r = xmalloc(sizeof(*r));
	r->n = inv.n;
	memcpy(r->gpus, inv.gpus, sizeof(inv.gpus[0]) * inv.n);
	r->work.data = r;
	refreshing = 1;
	if (uv_queue_work(loop, &r->work, refresh_work, refresh_done) != 0) {
		refreshing = 0;
		free(r);
	}
}

int
gpu_init(uv_loop_t *l, const struct config *cfg)
{
	char why[256] = "";

	loop = l;
	memset(&inv, 0, sizeof(inv));
	if (strcmp(cfg->engine_mode, "swarm") == 0) {
		/* The nodes advertise their GPUs (nodes.c reads them at the engine's hello). */
		snprintf(inv.source, sizeof(inv.source), "swarm");
		return 0;
	}
	if (cfg->static_gpus[0] != '\0') {
		if (static_load(cfg->static_gpus, why, sizeof(why)) == -1) {
			log_err("%s", why);
			return -1;
		}
		snprintf(inv.source, sizeof(inv.source), "static");
	} else if (cfg->nvml_library[0] != '\0' &&
	           nvml_open(cfg->nvml_library, why, sizeof(why)) == 0 &&
	           nvml_read(&inv, why, sizeof(why)) == 0) {
		snprintf(inv.source, sizeof(inv.source), "nvml");
		uv_timer_init(loop, &refresh_timer);
		uv_timer_start(&refresh_timer, refresh_tick, (uint64_t)cfg->gpu_refresh * 1000,
		               (uint64_t)cfg->gpu_refresh * 1000);
	} else {
		snprintf(inv.source, sizeof(inv.source), "none");
		log_info("no GPUs: NVML not usable (%s); serving CPU workspaces", why);
	}
	for (size_t i = 0; i < inv.n; i++)
		log_info("GPU %d: %s %s pci %s, %llu MiB (%s)", inv.gpus[i].index, inv.gpus[i].uuid,
		         inv.gpus[i].name, inv.gpus[i].pci_bus_id[0] ? inv.gpus[i].pci_bus_id : "?",
		         (unsigned long long)(inv.gpus[i].mem_total >> 20), inv.source);
	return 0;
}

void
gpu_shutdown(void)
{
	if (nvml_loaded()) {
		uv_timer_stop(&refresh_timer);
		uv_close((uv_handle_t *)&refresh_timer, NULL);
		nvml_close();
	}
}
