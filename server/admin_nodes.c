/*
 * Swarm mode's nodes for admins: the list (GET /v1/admin/nodes), the
 * drain for wsd (POST and DELETE /v1/admin/nodes/NODE/drain: the node
 * label wslab.drain; no new workspaces there, running ones untouched), and
 * the removal of a node that is down for good (DELETE
 * /v1/admin/nodes/NODE), which releases what its workspaces held. A node
 * that is up is never removed here: it is drained.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "engine.h"
#include "gpu.h"
#include "log.h"
#include "nodes.h"
#include "store.h"
#include "workspace.h"
#include "xmalloc.h"

static int
not_swarm(struct request *req)
{
	if (engine_remote())
		return 0;
	http_reply_error(req, 409, "not_swarm",
	                 "this wsd runs workspaces on one engine (engine_mode = docker): it has "
	                 "no nodes");
	return 1;
}

static int
live(const struct workspace *ws)
{
	return ws->state != WS_STOPPED && ws->state != WS_FAILED;
}

void
admin_list_nodes(struct request *req, route_arg *args)
{
	const struct nodes *t = nodes_table();
	const struct gpu_inventory *inv = gpu_inventory();
	json_t *a;

	(void)args;
	if (not_swarm(req))
		return;
	a = json_array();
	for (size_t i = 0; i < t->count; i++) {
		const struct node *n = &t->n[i];
		int held = 0, nws = 0;
		struct workspace *ws;

		for (size_t g = 0; g < inv->n; g++)
			held += inv->gpus[g].node == (int)i && inv->gpus[g].holder[0] != '\0';
		WS_FOREACH(ws)
			nws += ws->node == (int)i && live(ws);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:b, s:i, s:i, s:i, "
		                 "s:{s:s, s:o, s:s?}}",
		                 "id", n->id, "hostname", n->hostname, "address", n->addr, "status",
		                 nodes_status(n), "state", n->state, "availability",
		                 n->availability, "engine", n->engine, "unfit",
		                 n->unfit[0]       ? n->unfit
		                 : n->agent_why[0] ? n->agent_why
		                                   : NULL,
		                 "manager", n->manager, "gpus", n->ngpus, "gpus_held", held,
		                 "workspaces", nws, "agent", "state", n->agent, "reported_at",
		                 n->agent_time > 0 ? json_real(n->agent_time) : json_null(),
		                 "problem", n->agent_why[0] ? n->agent_why : NULL));
	}
	http_reply_json(req, 200, json_pack("{s:o}", "nodes", a));
}

struct node_rm {
	struct request *req;
	char id[40];
	char hostname[64];
	char actor[UNIX_NAME_MAX + 1];
	unsigned uid;
	int drain; /* drain: set or clear */
};

static void
node_removed(void *arg, const struct engine_result *r)
{
	struct node_rm *x = arg;
	struct nodes *t = nodes_table();
	int pos = nodes_find(t, x->id), n = 0;
	struct workspace *ws, *next;
	char detail[160];

	if (r->status != ENGINE_OK || pos < 0) {
		http_reply_error(x->req, 502, "engine_refused", "the Swarm did not remove %s: %s",
		                 x->hostname, r->message ? r->message : "engine error");
		free(x);
		return;
	}
	/* Gone for good: its tasks are no more, so what they held is free. */
	t->n[pos].listed = 0;
	nodes_set_unfit(t, gpu_inventory(), pos, "removed by an admin");
	for (ws = TAILQ_FIRST(ws_registry()); ws != NULL; ws = next) {
		next = TAILQ_NEXT(ws, link);
		if (ws->node != pos || !live(ws))
			continue;
		n++;
		if (!ws->stop_requested)
			ws_stop_by(ws, x->actor, x->uid, "node_removed");
	}
	snprintf(detail, sizeof(detail), "node %s; %d workspaces released", x->id, n);
	store_audit(x->actor, x->uid, "node_rm", x->hostname, "ok", detail);
	log_warn("node %s (%s) removed by %s: %d workspaces released", x->hostname, x->id, x->actor,
	         n);
	http_reply_json(x->req, 200,
	                json_pack("{s:s, s:s, s:b, s:i}", "node", x->hostname, "id", x->id,
	                          "removed", 1, "workspaces", n));
	free(x);
}

/* The listed node named by its host name or id, or -1 after a 404. */
static int
node_arg(struct request *req, const char *arg)
{
	struct nodes *t = nodes_table();

	for (size_t i = 0; i < t->count; i++)
		if (t->n[i].listed &&
		    (strcmp(t->n[i].hostname, arg) == 0 || strcmp(t->n[i].id, arg) == 0))
			return (int)i;
	http_reply_error(req, 404, "not_found", "no node named %s", arg);
	return -1;
}

static void
node_drained(void *arg, const struct engine_result *r)
{
	struct node_rm *x = arg;
	struct nodes *t = nodes_table();
	int pos = nodes_find(t, x->id), drain = x->drain;

	if (r->status != ENGINE_OK || pos < 0) {
		http_reply_error(x->req, 502, "engine_refused", "the Swarm did not label %s: %s",
		                 x->hostname, r->message ? r->message : "engine error");
		free(x);
		return;
	}
	/* Now, not at the next poll: a start right after must not land there. */
	t->n[pos].wsd_drain = drain;
	nodes_mark(t, gpu_inventory());
	store_audit(x->actor, x->uid, drain ? "node_drain" : "node_undrain", x->hostname, "ok",
	            x->id);
	log_info("node %s %s by %s", x->hostname,
	         drain ? "drained for wsd (no new workspaces)" : "takes new workspaces again",
	         x->actor);
	http_reply_json(x->req, 200,
	                json_pack("{s:s, s:s, s:b, s:s}", "node", x->hostname, "id", x->id, "drain",
	                          drain, "status", nodes_status(&t->n[pos])));
	free(x);
}

static void
node_drain(struct request *req, const char *arg, int drain)
{
	struct nodes *t = nodes_table();
	struct node_rm *x;
	int pos;

	if (not_swarm(req) || (pos = node_arg(req, arg)) < 0)
		return;
	x = xcalloc(1, sizeof(*x));
	x->req = req;
	x->uid = (unsigned)req->uid;
	x->drain = drain;
	snprintf(x->id, sizeof(x->id), "%s", t->n[pos].id);
	snprintf(x->hostname, sizeof(x->hostname), "%s", t->n[pos].hostname);
	snprintf(x->actor, sizeof(x->actor), "%s", req->user[0] ? req->user : "?");
	if (engine_node_drain(x->id, drain, node_drained, x) == -1) {
		free(x);
		http_reply_error(req, 503, "engine_unavailable", "cannot call the engine");
	}
}

void
admin_drain_node(struct request *req, route_arg *args)
{
	node_drain(req, args[0], 1);
}

void
admin_undrain_node(struct request *req, route_arg *args)
{
	node_drain(req, args[0], 0);
}

void
admin_rm_node(struct request *req, route_arg *args)
{
	struct nodes *t = nodes_table();
	struct node_rm *x;
	int pos;

	if (not_swarm(req) || (pos = node_arg(req, args[0])) < 0)
		return;
	if (strcmp(t->n[pos].state, "ready") == 0 || t->n[pos].manager) {
		store_audit(req->user[0] ? req->user : "?", (unsigned)req->uid, "node_rm",
		            t->n[pos].hostname, "refused", "the node is up");
		http_reply_error(req, 409, "node_up",
		                 "node %s is %s: wsd removes only a node that is down (to take no "
		                 "new workspaces there: docker node update --label-add "
		                 "wslab.drain=true %s)",
		                 t->n[pos].hostname, t->n[pos].manager ? "a manager" : "up",
		                 t->n[pos].hostname);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->req = req;
	x->uid = (unsigned)req->uid;
	snprintf(x->id, sizeof(x->id), "%s", t->n[pos].id);
	snprintf(x->hostname, sizeof(x->hostname), "%s", t->n[pos].hostname);
	snprintf(x->actor, sizeof(x->actor), "%s", req->user[0] ? req->user : "?");
	if (engine_node_remove(x->id, node_removed, x) == -1) {
		free(x);
		http_reply_error(req, 503, "engine_unavailable", "cannot call the engine");
	}
}
