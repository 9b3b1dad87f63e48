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
	       strcmp(n->availability, "active") == 0 && !n->wsd_drain && n->unfit[0] == '\0';
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
	if (n->unfit[0] != '\0')
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
