/*
 * The node table of swarm mode and its merge into the GPU inventory.
 * See nodes.h.
 */
#include "nodes.h"

#include <stdio.h>
#include <string.h>

static struct nodes table;

struct nodes *
nodes_table(void)
{
	return &table;
}

int
nodes_find(const struct nodes *t, const char *id)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->n[i].id, id) == 0)
			return (int)i;
	return -1;
}

int
nodes_usable(const struct node *n)
{
	return n->listed && strcmp(n->state, "ready") == 0 &&
	       strcmp(n->availability, "active") == 0 && !n->wsd_drain && n->unfit[0] == '\0' &&
	       n->agent_why[0] == '\0';
}

const char *
nodes_status(const struct node *n)
{
	if (!n->listed)
		return "removed";
	if (strcmp(n->state, "ready") != 0)
		return "down";
	if (strcmp(n->availability, "active") != 0)
		return "drained";
	if (n->wsd_drain)
		return "drained (wsd)";
	if (n->unfit[0] != '\0' || n->agent_why[0] != '\0')
		return "unfit";
	return "ready";
}

static void
copy(char *dst, size_t len, const json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%s", s != NULL ? s : "");
}

/* Every GPU of the node at pos is usable exactly when the node is. */
void
nodes_mark(const struct nodes *t, struct gpu_inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++) {
		const struct node *n = &t->n[inv->gpus[i].node];

		inv->gpus[i].unusable = !nodes_usable(n);
	}
}

void
nodes_set_unfit(struct nodes *t, struct gpu_inventory *inv, int pos, const char *why)
{
	if (pos < 0 || (size_t)pos >= t->count)
		return;
	snprintf(t->n[pos].unfit, sizeof(t->n[pos].unfit), "%s", why != NULL ? why : "");
	nodes_mark(t, inv);
}

/* The node's GPUs: generic resources named "gpu" (NamedResourceSpec). */
static void
read_gpus(struct nodes *t, int pos, struct gpu_inventory *inv, const json_t *node)
{
	const json_t *res = json_object_get(
	    json_object_get(json_object_get(node, "Description"), "Resources"), "GenericResources");
	const json_t *r;
	size_t i;

	t->n[pos].ngpus = 0;
	json_array_foreach(res, i, r)
	{
		const json_t *named = json_object_get(r, "NamedResourceSpec");
		const char *kind = json_string_value(json_object_get(named, "Kind"));
		const char *uuid = json_string_value(json_object_get(named, "Value"));
		int g;

		if (kind == NULL || uuid == NULL || strcmp(kind, "gpu") != 0 ||
		    strlen(uuid) >= GPU_UUID_MAX || strncmp(uuid, "GPU-", 4) != 0)
			continue;
		t->n[pos].ngpus++;
		for (g = 0; g < (int)inv->n; g++)
			if (strcmp(inv->gpus[g].uuid, uuid) == 0)
				break;
		if (g == (int)inv->n) {
			struct gpu *new;

			if (inv->n == GPU_MAX)
				continue;
			new = &inv->gpus[inv->n];
			memset(new, 0, sizeof(*new));
			new->index = (int)inv->n;
			snprintf(new->uuid, sizeof(new->uuid), "%s", uuid);
			snprintf(new->name, sizeof(new->name), "GPU of %s", t->n[pos].hostname);
			inv->n++;
		}
		inv->gpus[g].node = pos; /* a GPU moved to another node goes with it */
	}
}

int
nodes_read(struct nodes *t, struct gpu_inventory *inv, const json_t *list, char *err, size_t errlen)
{
	const json_t *j;
	size_t i;

	if (!json_is_array(list)) {
		snprintf(err, errlen, "the engine's node list is not a list");
		return -1;
	}
	for (i = 0; i < t->count; i++)
		t->n[i].listed = 0;
	json_array_foreach(list, i, j)
	{
		const char *id = json_string_value(json_object_get(j, "ID"));
		const json_t *spec = json_object_get(j, "Spec");
		const json_t *status = json_object_get(j, "Status");
		const json_t *labels = json_object_get(spec, "Labels");
		const char *drain = json_string_value(json_object_get(labels, "wslab.drain"));
		const char *addr = json_string_value(json_object_get(labels, "wslab.address"));
		struct node *n;
		int pos;

		if (id == NULL || strlen(id) >= sizeof(t->n[0].id))
			continue;
		if ((pos = nodes_find(t, id)) < 0) {
			if (t->count == NODES_MAX)
				continue;
			pos = (int)t->count++;
			memset(&t->n[pos], 0, sizeof(t->n[pos]));
			snprintf(t->n[pos].id, sizeof(t->n[pos].id), "%s", id);
			snprintf(t->n[pos].agent, sizeof(t->n[pos].agent), "pending");
			snprintf(t->n[pos].agent_why, sizeof(t->n[pos].agent_why),
			         "its wsnode report has not been read yet");
		}
		n = &t->n[pos];
		n->listed = 1;
		copy(n->hostname, sizeof(n->hostname),
		     json_object_get(json_object_get(j, "Description"), "Hostname"));
		copy(n->state, sizeof(n->state), json_object_get(status, "State"));
		copy(n->availability, sizeof(n->availability),
		     json_object_get(spec, "Availability"));
		copy(n->engine, sizeof(n->engine),
		     json_object_get(json_object_get(json_object_get(j, "Description"), "Engine"),
		                     "EngineVersion"));
		if (addr != NULL && addr[0] != '\0')
			snprintf(n->addr, sizeof(n->addr), "%s", addr);
		else
			copy(n->addr, sizeof(n->addr), json_object_get(status, "Addr"));
		n->manager = json_object_get(j, "ManagerStatus") != NULL;
		n->wsd_drain = drain != NULL && strcmp(drain, "true") == 0;
		/* An engine that went down may come back set up right: judge it afresh. */
		if (strcmp(n->state, "ready") != 0)
			n->unfit[0] = '\0';
		read_gpus(t, pos, inv, j);
	}
	nodes_mark(t, inv);
	return (int)json_array_size(list);
}

int
nodes_pick_cpu(const struct nodes *t, const int *load)
{
	int best = -1;

	for (size_t i = 0; i < t->count; i++)
		if (nodes_usable(&t->n[i]) && (best < 0 || load[i] < load[best]))
			best = (int)i;
	return best;
}

int
nodes_clear_unfit(struct nodes *t, struct gpu_inventory *inv)
{
	int n = 0;

	for (size_t i = 0; i < t->count; i++) {
		if (t->n[i].listed && t->n[i].unfit[0] != '\0') {
			t->n[i].unfit[0] = '\0';
			n++;
		}
	}
	if (n > 0)
		nodes_mark(t, inv);
	return n;
}

double
nodes_agent_max_age(const struct node_report *r)
{
	double age = 3.0 * r->interval;

	return age < 30 ? 30 : age;
}

static int
report_gpu(const struct node_report *r, const char *uuid)
{
	for (size_t i = 0; i < r->gpus.n; i++)
		if (strcmp(r->gpus.gpus[i].uuid, uuid) == 0)
			return (int)i;
	return -1;
}

/* The report's GPUs into inv: use, name, bus id, and topology among the node's own. */
static void
merge_gpus(struct gpu_inventory *inv, int pos, const struct node_report *r)
{
	for (size_t a = 0; a < inv->n; a++) {
		struct gpu *g = &inv->gpus[a];
		int ra = g->node == pos ? report_gpu(r, g->uuid) : -1;

		if (ra < 0)
			continue;
		snprintf(g->name, sizeof(g->name), "%s", r->gpus.gpus[ra].name);
		snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", r->gpus.gpus[ra].pci_bus_id);
		g->mem_total = r->gpus.gpus[ra].mem_total;
		g->mem_used = r->gpus.gpus[ra].mem_used;
		g->util = r->gpus.gpus[ra].util;
		if (!r->gpus.have_topo)
			continue;
		for (size_t b = 0; b < inv->n; b++) {
			int rb = inv->gpus[b].node == pos ? report_gpu(r, inv->gpus[b].uuid) : -1;

			if (rb >= 0)
				inv->topo[a][b] = r->gpus.topo[ra][rb];
		}
		inv->have_topo = 1;
	}
}

void
nodes_agent(struct nodes *t, struct gpu_inventory *inv, int pos, const struct node_report *r,
            const char *bad, double now, const char *marker)
{
	struct node *n;
	char *why;
	size_t len;

	if (pos < 0 || (size_t)pos >= t->count)
		return;
	n = &t->n[pos];
	why = n->agent_why;
	len = sizeof(n->agent_why);
	why[0] = '\0';
	if (r == NULL) {
		snprintf(n->agent, sizeof(n->agent), "%s", bad ? "bad" : "none");
		if (bad)
			snprintf(why, len, "its wsnode report cannot be read: %s", bad);
		else
			snprintf(
			    why, len,
			    "no wsnode report from it in shared_dir/nodes (is wslab-node.service "
			    "running there, with the lab's shared_dir?)");
		nodes_mark(t, inv);
		return;
	}
	n->agent_time = r->time;
	snprintf(n->agent, sizeof(n->agent), "ok");
	if (now - r->time > nodes_agent_max_age(r)) {
		snprintf(n->agent, sizeof(n->agent), "stale");
		snprintf(why, len,
		         "its wsnode report is %.0f s old (wsnode stopped, or its clock is off)",
		         now - r->time);
	} else if (strcmp(r->shared_marker, marker) != 0) {
		snprintf(why, len,
		         "it does not see wsd's shared_dir (wsnode there read marker \"%.20s\", "
		         "wsd wrote \"%.20s\"): mount the lab's shared_dir there at the same path",
		         r->shared_marker, marker);
	} else if (strcmp(r->home_marker, marker) != 0) {
		snprintf(
		    why, len,
		    "its home_root is not the lab's shared one (wsnode there read marker "
		    "\"%.20s\", wsd wrote \"%.20s\"): mount the shared homes there at the same "
		    "path",
		    r->home_marker, marker);
	} else {
		for (size_t g = 0; g < inv->n; g++) {
			if (inv->gpus[g].node != pos || report_gpu(r, inv->gpus[g].uuid) >= 0)
				continue;
			if (r->nvml[0] != '\0')
				snprintf(why, len,
				         "it advertises GPUs, but NVML there fails: %.120s",
				         r->nvml);
			else
				snprintf(
				    why, len,
				    "it advertises %.60s, which NVML there does not see (check the "
				    "node's generic resources in daemon.json)",
				    inv->gpus[g].uuid);
			break;
		}
	}
	if (why[0] == '\0' || strcmp(n->agent, "stale") != 0)
		merge_gpus(inv, pos, r);
	nodes_mark(t, inv);
}
