/*
 * The workspace JSON writer. One writer for lists and single replies, so
 * both say the same; the single one is parsed back from the same text.
 */
#include "wsjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "gpu.h"
#include "http.h"
#include "idle.h"
#include "jtext.h"
#include "nodes.h"
#include "workspace.h"
#include "xmalloc.h"

/* Swarm mode: ready, but its server is down or gone. */
static int
wsjson_lost(const struct workspace *ws)
{
	const struct nodes *t = nodes_table();

	return ws->state == WS_READY && ws->node >= 0 && (size_t)ws->node < t->count &&
	       (!t->n[ws->node].listed || strcmp(t->n[ws->node].state, "ready") != 0);
}

void
wsjson_text(struct jtext *b, const struct workspace *ws, uid_t viewer_uid)
{
	const struct gpu_inventory *inv = gpu_inventory();
	char url[512];
	double reclaim;

	jt_key(b, "id", 1);
	jt_str(b, ws->id);
	jt_key(b, "name", 0);
	jt_str(b, ws->name);
	jt_key(b, "owner", 0);
	jt_str(b, ws->owner);
	jt_key(b, "uid", 0);
	jt_int(b, (int64_t)ws->uid);
	jt_key(b, "state", 0);
	jt_str(b, wsjson_lost(ws) ? "lost" : ws_state_name(ws->state));
	if (wsjson_lost(ws)) {
		char why[160];

		snprintf(why, sizeof(why),
		         "its server %s is %s; its GPUs and ports stay held until the server is "
		         "back or an admin removes it",
		         nodes_table()->n[ws->node].hostname,
		         nodes_status(&nodes_table()->n[ws->node]));
		jt_key(b, "lost_reason", 0);
		jt_str(b, why);
	}
	jt_key(b, "template", 0);
	jt_str(b, ws->tmpl->name);
	jt_key(b, "image", 0);
	jt_str(b, ws->image);
	jt_key(b, "created_at", 0);
	jt_time(b, ws->created_at);
	jt_key(b, "memory", 0);
	jt_int(b, ws->memory);
	jt_key(b, "shm", 0);
	jt_int(b, ws->shm);
	jt_key(b, "cpus", 0);
	jt_real(b, ws->cpus);
	jt_key(b, "container_id", 0);
	jt_str(b, ws->container_id);
	jt_key(b, "ready_at", 0);
	if (ws->ready_at)
		jt_time(b, ws->ready_at);
	else
		jt_lit(b, "null");
	jt_key(b, "ssh_host", 0);
	jt_str(b, ws_public_host(ws));
	if (ws->node >= 0 && (size_t)ws->node < nodes_table()->count) {
		const struct node *n = &nodes_table()->n[ws->node];

		jt_key(b, "node", 0);
		jt_str(b, n->hostname);
		jt_key(b, "node_status", 0);
		jt_str(b, nodes_status(n));
	}
	jt_key(b, "ssh_port", 0);
	jt_int(b, ws->ssh_port);
	jt_key(b, "ssh_user", 0);
	jt_str(b, ws->owner);
	jt_key(b, "ssh_host_key", 0);
	jt_str(b, ws->host_key_pub);
	jt_key(b, "jupyter_port", 0);
	jt_int(b, ws->jupyter_port);
	jt_key(b, "jupyter_url", 0);
	if (viewer_uid == ws->uid && ws->state == WS_READY) {
		snprintf(url, sizeof(url), "http://%s:%d%s?token=%s", ws_public_host(ws),
		         ws->jupyter_port, ws->tmpl->url_path, ws->token);
		jt_str(b, url);
		explicit_bzero(url, sizeof(url));
	} else {
		jt_lit(b, "null");
	}
	jt_key(b, "gpus", 0);
	jt_lit(b, "[");
	for (int i = 0; i < ws->ngpus; i++) {
		const struct gpu *g = &inv->gpus[ws->gpu_pos[i]];

		jt_lit(b, i ? ",{" : "{");
		jt_key(b, "index", 1);
		jt_int(b, g->index);
		jt_key(b, "uuid", 0);
		jt_str(b, g->uuid);
		jt_key(b, "name", 0);
		jt_str(b, g->name);
		jt_lit(b, "}");
	}
	jt_lit(b, "]");
	jt_key(b, "mounts", 0);
	jt_lit(b, "[");
	for (size_t i = 0; i < ws->nmounts; i++) {
		jt_lit(b, i ? ",{" : "{");
		jt_key(b, "source", 1);
		jt_str(b, ws->mounts[i].source);
		jt_key(b, "target", 0);
		jt_str(b, ws->mounts[i].target);
		jt_key(b, "read_only", 0);
		jt_lit(b, ws->mounts[i].read_only ? "true" : "false");
		jt_lit(b, "}");
	}
	jt_lit(b, "]");
	jt_key(b, "expires_at", 0);
	if (ws->expires_at > 0)
		jt_time(b, ws->expires_at);
	else
		jt_lit(b, "null");
	jt_key(b, "extended", 0); /* seconds wsctl extend added */
	jt_int(b, ws->extended);
	/* Idle reclaim: the limit, the last activity seen, and when it ends. */
	jt_key(b, "idle_timeout", 0);
	if (ws->idle_timeout >= 0)
		jt_int(b, ws->idle_timeout);
	else
		jt_lit(b, "null");
	reclaim = idle_workspace_reclaim_at(ws);
	jt_key(b, "idle_since", 0);
	if (reclaim > 0)
		jt_time(b, (int64_t)ws->idle_since);
	else
		jt_lit(b, "null");
	jt_key(b, "reclaim_at", 0);
	if (reclaim > 0)
		jt_time(b, (int64_t)reclaim);
	else
		jt_lit(b, "null");
	if (ws->state == WS_QUEUED) {
		jt_key(b, "queue_position", 0);
		jt_int(b, ws->queue_pos);
		jt_key(b, "queued_at", 0);
		jt_time(b, (int64_t)ws->queued_at);
		jt_key(b, "estimated_start", 0);
		if (ws->queue_eta >= 0)
			jt_time(b, (int64_t)(ws->queue_eta + 0.5));
		else
			jt_lit(b, "null");
		jt_key(b, "gpus_requested", 0);
		jt_int(b, ws->want_gpus);
	}
	if (ws->error != NULL) {
		jt_key(b, "error", 0);
		jt_str(b, ws->error->message);
	}
}

void
wsjson_reply_list(struct request *req, int (*keep)(const struct workspace *, uid_t), int with_boot)
{
	struct workspace *ws;
	struct jtext b = {0};
	int n = 0;

	jt_reserve(&b, 64 * 1024);
	jt_lit(&b, "{\"workspaces\":[");
	WS_FOREACH(ws) {
		if (keep != NULL && !keep(ws, req->uid))
			continue;
		jt_lit(&b, n++ ? ",{" : "{");
		wsjson_text(&b, ws, req->uid);
		jt_lit(&b, "}");
	}
	jt_lit(&b, "]");
	if (with_boot) {
		struct boot_stats st;

		boot_stats(&st);
		jt_key(&b, "boot", 0);
		jt_lit(&b, "{");
		jt_key(&b, "booting", 1);
		jt_int(&b, st.booting);
		jt_key(&b, "pending", 0);
		jt_int(&b, st.pending);
		jt_key(&b, "limit", 0);
		jt_int(&b, st.limit);
		jt_key(&b, "min", 0);
		jt_int(&b, st.min);
		jt_key(&b, "max", 0);
		jt_int(&b, st.max);
		jt_key(&b, "paced", 0);
		jt_lit(&b, st.off ? "false" : "true");
		jt_lit(&b, "}");
	}
	jt_lit(&b, "}\n");
	/*
	 * Hand over no more memory than the text: the reply may wait in the
	 * queue of a client that reads slowly, counted by its length.
	 */
	if (b.cap - b.len > 4096) {
		char *t = xmalloc(b.len);

		memcpy(t, b.p, b.len);
		explicit_bzero(b.p, b.len); /* it may hold tokens */
		free(b.p);
		b.p = t;
	}
	http_reply_owned(req, 200, b.p, b.len); /* zeroed there: it may hold tokens */
}

json_t *
wsjson(const struct workspace *ws, uid_t viewer_uid)
{
	struct jtext b = {0};
	json_t *o;

	jt_lit(&b, "{");
	wsjson_text(&b, ws, viewer_uid);
	jt_lit(&b, "}");
	o = json_loadb(b.p, b.len, 0, NULL);
	explicit_bzero(b.p, b.len); /* it may hold the token */
	free(b.p);
	if (o == NULL)
		abort(); /* jtext writes valid JSON, or it is a bug */
	return o;
}
