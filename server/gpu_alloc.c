/*
 * GPU allocation policy, pure and deterministic.
 *
 * One GPU: the least used free GPU (memory in use, then utilisation, then
 * index), so that a GPU busy with processes outside wslab is picked last.
 * Several GPUs: for each free GPU as a seed, grow a set by adding the free
 * GPU closest to the set (NVML topology level), ties by least used; keep
 * the set whose farthest pair is closest, then the least used. With no
 * topology known this is the least used GPUs.
 * Specific GPUs (ids): exactly those, each free, none twice.
 * Several servers (swarm mode): a set never spans two nodes, and a GPU
 * whose node takes no new workspaces is not free.
 */
#include "gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
gpu_lookup(const struct gpu_inventory *inv, const char *id)
{
	char *end;
	long v;

	if (id[0] >= '0' && id[0] <= '9') {
		v = strtol(id, &end, 10);
		if (*end != '\0' || strlen(id) > 3)
			return -1;
		for (size_t i = 0; i < inv->n; i++)
			if (inv->gpus[i].index == v)
				return (int)i;
		return -1;
	}
	for (size_t i = 0; i < inv->n; i++)
		if (strcmp(inv->gpus[i].uuid, id) == 0)
			return (int)i;
	return -1;
}

static int
gpu_is_free(const struct gpu *g)
{
	return g->holder[0] == '\0' && !g->unusable;
}

int
gpu_free_count(const struct gpu_inventory *inv)
{
	int n = 0;

	for (size_t i = 0; i < inv->n; i++)
		if (gpu_is_free(&inv->gpus[i]))
			n++;
	return n;
}

/* Negative when a is less used than b. */
static int
usage_cmp(const struct gpu *a, const struct gpu *b)
{
	if (a->mem_used != b->mem_used)
		return a->mem_used < b->mem_used ? -1 : 1;
	if (a->util != b->util)
		return a->util < b->util ? -1 : 1;
	return a->index - b->index;
}

/* A named GPU on another node than the ones named before it. */
static int
j_node_differs(const struct gpu_inventory *inv, const int *out, size_t i, int p)
{
	return i > 0 && inv->gpus[out[0]].node != inv->gpus[p].node;
}

static int
pick_ids(const struct gpu_inventory *inv, const struct gpu_request *req, int *out,
         struct api_error *err)
{
	if (req->count != 0 && (size_t)req->count != req->nids) {
		api_error_set(err, 400, "invalid_value",
		              "gpus: %d does not match the %zu GPUs named in gpu_ids", req->count,
		              req->nids);
		return -1;
	}
	for (size_t i = 0; i < req->nids; i++) {
		int p = gpu_lookup(inv, req->ids[i]);

		if (p < 0) {
			api_error_set(err, 400, "invalid_value",
			              "gpu_ids: no GPU \"%.40s\" on this server (%zu GPUs: index "
			              "or UUID)",
			              req->ids[i], inv->n);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (out[j] == p) {
				api_error_set(err, 400, "invalid_value",
				              "gpu_ids: GPU %d is named twice", inv->gpus[p].index);
				return -1;
			}
		}
		if (j_node_differs(inv, out, i, p)) {
			api_error_set(err, 400, "invalid_value",
			              "gpu_ids: GPUs %d and %d are on different servers",
			              inv->gpus[out[0]].index, inv->gpus[p].index);
			return -1;
		}
		if (inv->gpus[p].unusable && inv->gpus[p].holder[0] == '\0') {
			api_error_set(
			    err, 409, "gpu_unavailable",
			    "GPU %d is on a server that takes no new workspaces now (down, "
			    "drained or not fit; an admin sees why in wsctl admin nodes); nothing "
			    "was created",
			    inv->gpus[p].index);
			return -1;
		}
		if (!gpu_is_free(&inv->gpus[p])) {
			api_error_set(
			    err, 409, "gpu_busy",
			    "GPU %d is held by another workspace; %d of %zu GPUs are free "
			    "now; nothing was created",
			    inv->gpus[p].index, gpu_free_count(inv), inv->n);
			return -1;
		}
		out[i] = p;
	}
	return (int)req->nids;
}

int
gpu_pick(const struct gpu_inventory *inv, const struct gpu_request *req, int *out,
         struct api_error *err)
{
	int best[GPU_MAX], cur[GPU_MAX], best_n = 0, nfree;
	int best_span = 1 << 30;
	uint64_t best_use = UINT64_MAX;

	if (req->count < 0 || req->count > GPU_MAX) {
		api_error_set(err, 400, "invalid_value", "gpus: %d is out of range (0 to %d)",
		              req->count, GPU_MAX);
		return -1;
	}
	if (req->nids > 0)
		return pick_ids(inv, req, out, err);
	if (req->count == 0)
		return 0;
	if ((size_t)req->count > inv->n) {
		api_error_set(err, 409, "no_gpus",
		              "%d GPUs asked for, but this server has %zu; nothing was created",
		              req->count, inv->n);
		return -1;
	}
	nfree = gpu_free_count(inv);
	if (req->count > nfree) {
		api_error_set(err, 409, "no_gpus",
		              "%d GPUs asked for, but only %d of %zu are free now; nothing was "
		              "created",
		              req->count, nfree, inv->n);
		return -1;
	}
	for (size_t seed = 0; seed < inv->n; seed++) {
		int n = 0, span = 0;
		uint64_t use = 0;

		if (!gpu_is_free(&inv->gpus[seed]))
			continue;
		cur[n++] = (int)seed;
		while (n < req->count) {
			int pick = -1, pick_d = 0;

			for (size_t c = 0; c < inv->n; c++) {
				int d = 0, in = 0;

				if (!gpu_is_free(&inv->gpus[c]) ||
				    inv->gpus[c].node != inv->gpus[seed].node)
					continue;
				for (int k = 0; k < n; k++) {
					if (cur[k] == (int)c)
						in = 1;
					if (inv->topo[cur[k]][c] > d)
						d = inv->topo[cur[k]][c];
				}
				if (in)
					continue;
				if (pick < 0 || d < pick_d ||
				    (d == pick_d &&
				     usage_cmp(&inv->gpus[c], &inv->gpus[pick]) < 0)) {
					pick = (int)c;
					pick_d = d;
				}
			}
			if (pick < 0)
				break; /* its node has fewer free GPUs */
			cur[n++] = pick;
			if (pick_d > span)
				span = pick_d;
		}
		if (n < req->count)
			continue;
		for (int k = 0; k < n; k++)
			use += inv->gpus[cur[k]].mem_used + inv->gpus[cur[k]].util;
		if (span < best_span || (span == best_span && use < best_use) ||
		    (span == best_span && use == best_use && req->count == 1 &&
		     usage_cmp(&inv->gpus[cur[0]], &inv->gpus[best[0]]) < 0)) {
			memcpy(best, cur, sizeof(int) * (size_t)n);
			best_n = n;
			best_span = span;
			best_use = use;
		}
	}
	if (best_n == 0) {
		api_error_set(err, 409, "no_gpus",
		              "%d GPUs asked for; %d of %zu are free now, but no server has %d "
		              "free; nothing was created",
		              req->count, nfree, inv->n, req->count);
		return -1;
	}
	memcpy(out, best, sizeof(int) * (size_t)best_n);
	return best_n;
}

void
gpu_hold(struct gpu_inventory *inv, const int *pos, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		snprintf(inv->gpus[pos[i]].holder, sizeof(inv->gpus[0].holder), "%s", id);
}

int
gpu_release(struct gpu_inventory *inv, const char *id)
{
	int n = 0;

	for (size_t i = 0; i < inv->n; i++) {
		if (strcmp(inv->gpus[i].holder, id) == 0) {
			inv->gpus[i].holder[0] = '\0';
			n++;
		}
	}
	return n;
}
