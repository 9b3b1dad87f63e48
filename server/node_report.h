/*
 * The report of wsnode, the agent on each GPU node of a swarm-mode lab:
 * what NVML sees there (GPUs, use, topology), the SSH sessions in each
 * workspace's container, and the markers that prove the node sees the
 * lab's shared home_root and shared_dir. wsnode writes it every few
 * seconds to SHARED_DIR/nodes/NODE-ID.json (write, then rename); wsd reads
 * it there (node_agent.c). No port is opened on the node for it.
 *
 * Building and reading are pure and unit-tested, so the two sides agree.
 */
#ifndef WSD_NODE_REPORT_H
#define WSD_NODE_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "gpu.h"

#define NODE_REPORT_VERSION 1
#define NODE_REPORT_MAX (1 << 20) /* bytes: a larger file is not read */
#define NODE_REPORT_PROCS 32      /* SSH session lines kept per workspace */

/* What wsd writes for the agents: SHARED_DIR/wsd-marker.json. */
#define NODE_MARKER_FILE "wsd-marker.json"
/* ... and the same marker in HOME_ROOT/.wslab-marker. */
#define NODE_HOME_MARKER ".wslab-marker"

struct node_report {
	char node_id[40];
	char hostname[64];
	double time;               /* when it was written, unix seconds */
	int interval;              /* seconds between reports */
	char nvml[160];            /* "" when NVML answered; else why not */
	char shared_marker[80];    /* the marker it read in SHARED_DIR; "" none */
	char home_marker[80];      /* the marker it read in HOME_ROOT; "" none */
	struct gpu_inventory gpus; /* index, uuid, name, pci, memory, util, topology */
	json_t *workspaces;        /* {service id: [sshd command line, ...]}, owned; never NULL */
};

/* What the agent read, as the report's JSON (new reference). */
struct node_report_in {
	const char *node_id, *hostname;
	double time;
	int interval;
	const char *nvml;                        /* NULL: NVML answered */
	const char *shared_marker, *home_marker; /* NULL: none */
	const struct gpu_inventory *gpus;
	json_t *workspaces; /* borrowed; NULL: none */
};
json_t *node_report_build(const struct node_report_in *in);

/* Read a report; 0, or -1 with err (r then holds nothing to free). */
int node_report_parse(const json_t *j, struct node_report *r, char *err, size_t errlen);
void node_report_free(struct node_report *r);

/*
 * The command lines in the engine's answer to GET /containers/ID/top
 * (its COMMAND or CMD column, else the last): out, which has room for one
 * per row of Processes, gets them, borrowed from top. How many.
 */
size_t top_commands(const json_t *top, const char **out);

/* The SSH sessions' lines among a container's process list (top's args column). */
json_t *node_report_sshd(const char *const *procs, size_t n);

#endif
