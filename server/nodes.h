/*
 * The servers of a lab in swarm mode: the Swarm's nodes as wsd sees them
 * (GET /nodes), and the GPUs each one advertises as generic resources
 * ("gpu=GPU-..."), merged into the one GPU inventory of gpu.h. Positions
 * in the table and in the inventory never move: a workspace keeps
 * pointing at its node and GPUs while nodes come, go and come back.
 *
 * nodes_read is pure (JSON in, table and inventory out) and unit-tested;
 * engine_swarm.c calls it with each answer of the engine.
 */
#ifndef WSD_NODES_H
#define WSD_NODES_H

#include <stddef.h>

#include <jansson.h>

#include "gpu.h"
#include "node_report.h"

#define NODES_MAX 64

struct node {
	char id[40];           /* the Swarm's node id */
	char hostname[64];     /* Description.Hostname */
	char addr[64];         /* its lab address: label wslab.address, else Status.Addr */
	char state[16];        /* ready, down, unknown, disconnected */
	char availability[16]; /* active, pause, drain */
	char engine[24];       /* Engine version, e.g. "20.10.24" */
	char unfit[200];       /* why wsd does not use it; "" when it may */
	int manager;           /* a Swarm manager */
	int wsd_drain;         /* label wslab.drain=true: no new workspaces from wsd */
	int listed;            /* in the last answer of the engine */
	int ngpus;             /* GPUs it advertises */
	char agent[16];        /* its wsnode report: pending, ok, stale, none, bad */
	char agent_why[240];   /* why that report keeps wsd off it; "" when it does not */
	double agent_time;     /* when wsnode wrote it (unix seconds); 0: never */
};

struct nodes {
	struct node n[NODES_MAX];
	size_t count;
};

/* The table of this wsd (swarm mode). */
struct nodes *nodes_table(void);

/*
 * Merge GET /nodes into t and inv: new nodes and GPUs are appended, known
 * ones updated, ones no longer listed kept (unusable). Returns the number
 * of nodes in the answer, or -1 with err when it is not a node list.
 */
int nodes_read(struct nodes *t, struct gpu_inventory *inv, const json_t *list, char *err,
               size_t errlen);

/* After a change of a node's state here: its GPUs are usable exactly when it is. */
void nodes_mark(const struct nodes *t, struct gpu_inventory *inv);

/* Take no new workspaces there (why: for the admin), or may again (why NULL). */
void nodes_set_unfit(struct nodes *t, struct gpu_inventory *inv, int pos, const char *why);

/* Judge every listed node afresh (a reload): how many were unfit. */
int nodes_clear_unfit(struct nodes *t, struct gpu_inventory *inv);

/*
 * Judge the node at pos by its wsnode report r (NULL: none; bad says why
 * it could not be read) at time now against wsd's marker, and merge the
 * GPUs' use, names and topology into inv. A node is used only with a
 * fresh report whose markers match and whose NVML sees every GPU the node
 * advertises.
 */
void nodes_agent(struct nodes *t, struct gpu_inventory *inv, int pos, const struct node_report *r,
                 const char *bad, double now, const char *marker);

/* How old a report may be: three of its intervals, and at least 30 s. */
double nodes_agent_max_age(const struct node_report *r);

/* May wsd place a new workspace there? */
int nodes_usable(const struct node *n);

/* Its position by id, or -1. */
int nodes_find(const struct nodes *t, const char *id);

/*
 * A node for a workspace without GPUs: the usable one with the fewest
 * workspaces (load[i] for node i), else -1.
 */
int nodes_pick_cpu(const struct nodes *t, const int *load);

/* "ready", "down", "drained", "drained (wsd)" or "unfit": for lists. */
const char *nodes_status(const struct node *n);

#endif
