/*
 * Swarm mode: wsd's side of wsnode, the agent on each node. At start-up
 * wsd writes a marker to SHARED_DIR/wsd-marker.json and HOME_ROOT/.wslab-marker;
 * every swarm_poll it reads each node's report (SHARED_DIR/nodes/ID.json)
 * on the thread pool, judges the node by it (nodes_agent) and keeps each
 * workspace's SSH session lines for idle reclaim. See node_report.h.
 */
#ifndef WSD_NODE_AGENT_H
#define WSD_NODE_AGENT_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"

/* Write the markers (keeping a marker both files agree on) and start reading. */
int node_agent_init(uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);
/* Read the reports now (new nodes were listed). */
void node_agent_kick(void);
void node_agent_stop(void);
const char *node_agent_marker(void);
/* The sshd lines wsnode saw in a service's container; NULL when no fresh report says. */
const json_t *node_agent_procs(const char *service);

#endif
