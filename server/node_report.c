/*
 * wsnode's report: built by the agent, read by wsd. See node_report.h.
 */
#include "node_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

json_t *
node_report_build(const struct node_report_in *in)
{
	const struct gpu_inventory *inv = in->gpus;
	json_t *j = json_object(), *gpus = json_array(), *topo = json_array();

	json_object_set_new(j, "version", json_integer(NODE_REPORT_VERSION));
	json_object_set_new(j, "node_id", json_string(in->node_id));
	json_object_set_new(j, "hostname", json_string(in->hostname));
	json_object_set_new(j, "time", json_real(in->time));
	json_object_set_new(j, "interval", json_integer(in->interval));
	json_object_set_new(j, "nvml", in->nvml ? json_string(in->nvml) : json_null());
	json_object_set_new(j, "shared_marker",
	                    in->shared_marker ? json_string(in->shared_marker) : json_null());
	json_object_set_new(j, "home_marker",
	                    in->home_marker ? json_string(in->home_marker) : json_null());
	for (size_t i = 0; inv != NULL && i < inv->n; i++) {
		const struct gpu *g = &inv->gpus[i];
		json_t *row = json_array();

		json_array_append_new(
		    gpus, json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:i}", "index", g->index,
		                    "uuid", g->uuid, "name", g->name, "pci_bus_id", g->pci_bus_id,
		                    "memory_total", (json_int_t)g->mem_total, "memory_used",
		                    (json_int_t)g->mem_used, "utilization", (int)g->util));
		for (size_t k = 0; k < inv->n; k++)
			json_array_append_new(row, json_integer(inv->topo[i][k]));
		json_array_append_new(topo, row);
	}
	json_object_set_new(j, "gpus", gpus);
	if (inv != NULL && inv->have_topo)
		json_object_set_new(j, "topology", topo);
	else
		json_decref(topo);
	json_object_set_new(j, "workspaces",
	                    in->workspaces ? json_incref(in->workspaces) : json_object());
	return j;
}

static int
str(const json_t *j, const char *key, char *dst, size_t len, int need, char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, key);
	const char *s = json_string_value(v);

	dst[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		if (!need)
			return 0;
		snprintf(err, errlen, "no %s", key);
		return -1;
	}
	if (s == NULL || strlen(s) >= len) {
		snprintf(err, errlen, "%s is not a string of at most %zu bytes", key, len - 1);
		return -1;
	}
	snprintf(dst, len, "%s", s);
	return 0;
}

static int
read_gpus(const json_t *j, struct gpu_inventory *inv, char *err, size_t errlen)
{
	const json_t *gpus = json_object_get(j, "gpus"), *topo = json_object_get(j, "topology");
	const json_t *g;
	size_t i;

	if (!json_is_array(gpus) || json_array_size(gpus) > GPU_MAX) {
		snprintf(err, errlen, "gpus is not a list of at most %d", GPU_MAX);
		return -1;
	}
	json_array_foreach(gpus, i, g)
	{
		struct gpu *d = &inv->gpus[i];
		json_int_t idx = json_integer_value(json_object_get(g, "index"));
		json_int_t total = json_integer_value(json_object_get(g, "memory_total"));
		json_int_t used = json_integer_value(json_object_get(g, "memory_used"));
		json_int_t util = json_integer_value(json_object_get(g, "utilization"));

		if (str(g, "uuid", d->uuid, sizeof(d->uuid), 1, err, errlen) == -1 ||
		    str(g, "name", d->name, sizeof(d->name), 0, err, errlen) == -1 ||
		    str(g, "pci_bus_id", d->pci_bus_id, sizeof(d->pci_bus_id), 0, err, errlen) ==
		        -1)
			return -1;
		if (strncmp(d->uuid, "GPU-", 4) != 0 || idx < 0 || idx >= 1024 || total < 0 ||
		    used < 0 || used > total || util < 0 || util > 100) {
			snprintf(err, errlen, "GPU %zu: bad uuid, index, memory or util", i);
			return -1;
		}
		d->index = (int)idx;
		d->mem_total = (uint64_t)total;
		d->mem_used = (uint64_t)used;
		d->util = (unsigned)util;
	}
	inv->n = json_array_size(gpus);
	if (topo == NULL || json_is_null(topo))
		return 0;
	if (!json_is_array(topo) || json_array_size(topo) != inv->n) {
		snprintf(err, errlen, "topology is not %zu rows", inv->n);
		return -1;
	}
	for (i = 0; i < inv->n; i++) {
		const json_t *row = json_array_get(topo, i);

		if (!json_is_array(row) || json_array_size(row) != inv->n) {
			snprintf(err, errlen, "topology row %zu is not %zu levels", i, inv->n);
			return -1;
		}
		for (size_t k = 0; k < inv->n; k++) {
			json_int_t level = json_integer_value(json_array_get(row, k));

			if (!json_is_integer(json_array_get(row, k)) || level < 0 || level > 100) {
				snprintf(err, errlen, "topology level %zu,%zu is not 0..100", i, k);
				return -1;
			}
			inv->topo[i][k] = (int)level;
		}
	}
	inv->have_topo = 1;
	return 0;
}

/* {service: [line, ...]}: service ids and lines bounded, kept as they are. */
static int
read_workspaces(const json_t *j, struct node_report *r, char *err, size_t errlen)
{
	const json_t *ws = json_object_get(j, "workspaces"), *procs, *line;
	const char *svc;
	size_t i;

	r->workspaces = json_object();
	if (ws == NULL || json_is_null(ws))
		return 0;
	if (!json_is_object(ws) || json_object_size(ws) > 4096) {
		snprintf(err, errlen, "workspaces is not an object of at most 4096");
		return -1;
	}
	json_object_foreach((json_t *)ws, svc, procs)
	{
		if (strlen(svc) == 0 || strlen(svc) > 80 || !json_is_array(procs) ||
		    json_array_size(procs) > NODE_REPORT_PROCS) {
			snprintf(err, errlen, "workspaces: bad entry");
			return -1;
		}
		json_array_foreach(procs, i, line)
		{
			if (!json_is_string(line) || json_string_length(line) > 256) {
				snprintf(err, errlen, "workspaces: bad process line");
				return -1;
			}
		}
		json_object_set(r->workspaces, svc, (json_t *)procs);
	}
	return 0;
}

int
node_report_parse(const json_t *j, struct node_report *r, char *err, size_t errlen)
{
	const json_t *t = json_object_get(j, "time");
	json_int_t version = json_integer_value(json_object_get(j, "version"));
	json_int_t interval = json_integer_value(json_object_get(j, "interval"));

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	if (version != NODE_REPORT_VERSION) {
		snprintf(err, errlen, "version %lld, not %d (wsnode and wsd differ)",
		         (long long)version, NODE_REPORT_VERSION);
		return -1;
	}
	if (str(j, "node_id", r->node_id, sizeof(r->node_id), 1, err, errlen) == -1 ||
	    str(j, "hostname", r->hostname, sizeof(r->hostname), 0, err, errlen) == -1 ||
	    str(j, "nvml", r->nvml, sizeof(r->nvml), 0, err, errlen) == -1 ||
	    str(j, "shared_marker", r->shared_marker, sizeof(r->shared_marker), 0, err, errlen) ==
	        -1 ||
	    str(j, "home_marker", r->home_marker, sizeof(r->home_marker), 0, err, errlen) == -1)
		return -1;
	if (!json_is_number(t) || !isfinite(json_number_value(t)) || json_number_value(t) < 0 ||
	    interval < 1 || interval > 3600) {
		snprintf(err, errlen, "bad time or interval");
		return -1;
	}
	r->time = json_number_value(t);
	r->interval = (int)interval;
	if (read_gpus(j, &r->gpus, err, errlen) == -1)
		return -1;
	if (read_workspaces(j, r, err, errlen) == -1) {
		node_report_free(r);
		return -1;
	}
	return 0;
}

void
node_report_free(struct node_report *r)
{
	json_decref(r->workspaces);
	r->workspaces = NULL;
}

size_t
top_commands(const json_t *top, const char **out)
{
	const json_t *titles = json_object_get(top, "Titles");
	const json_t *rows = json_object_get(top, "Processes");
	size_t col = json_array_size(titles) ? json_array_size(titles) - 1 : 0, i, n = 0;
	const json_t *t, *row;

	json_array_foreach(titles, i, t)
	{
		const char *title = json_string_value(t);

		if (title && (strcmp(title, "COMMAND") == 0 || strcmp(title, "CMD") == 0))
			col = i;
	}
	json_array_foreach(rows, i, row)
	{
		const char *cmd = json_string_value(json_array_get(row, col));

		if (cmd != NULL)
			out[n++] = cmd;
	}
	return n;
}

json_t *
node_report_sshd(const char *const *procs, size_t n)
{
	json_t *out = json_array();

	for (size_t i = 0; i < n && json_array_size(out) < NODE_REPORT_PROCS; i++)
		if (strncmp(procs[i], "sshd: ", 6) == 0)
			json_array_append_new(out, json_stringn(procs[i], strnlen(procs[i], 256)));
	return out;
}
