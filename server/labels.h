/*
 * The labels a workspace's engine object carries: written into the
 * create body (spec.c) and read back from the engine's lists
 * (engine_docker.c) by the same file, so the two cannot drift. They are
 * what a restarted wsd knows about a workspace besides the store.
 */
#ifndef WSD_LABELS_H
#define WSD_LABELS_H

#include <stdint.h>

#include <jansson.h>

#define LABEL_WORKSPACE "wslab.workspace"
#define LABEL_INSTANCE "wslab.instance"

/* What the labels say; strings borrowed from the JSON they were read from. */
struct ws_labels {
	const char *id;       /* wslab.workspace */
	const char *name;     /* wslab.name */
	const char *owner;    /* wslab.owner */
	const char *uid;      /* wslab.uid, decimal */
	const char *tmpl;     /* wslab.template */
	const char *url_path; /* wslab.url_path: the template's, at the start */
	const char *instance; /* wslab.instance */
	const char *gpus;     /* wslab.gpus: UUIDs, comma-separated; NULL: none */
	const char *mounts;   /* wslab.mounts: JSON array text; NULL: none */
	int64_t created;      /* wslab.created, unix seconds; 0: absent */
	int64_t expires;      /* wslab.expires; 0: no lifetime limit */
	int64_t memory;       /* wslab.memory, bytes; 0: absent */
	int64_t shm;          /* wslab.shm; 0: absent */
	int64_t nanocpus;     /* wslab.nanocpus; 0: absent */
	double gpu_hours;     /* wslab.gpu_hours: the weekly limit at its start; < 0: none */
	int64_t idle_timeout; /* wslab.idle_timeout, seconds; < 0 (or absent): never */
};

/* What is written: the workspace's identity and limits. */
struct ws_labels_in {
	const char *id, *name, *owner, *tmpl, *url_path, *instance;
	unsigned uid;
	int64_t created, expires, memory, shm, nanocpus;
	double gpu_hours;     /* < 0: no limit (no label) */
	int64_t idle_timeout; /* < 0: never (no label) */
	const char *gpus;     /* NULL or "": none */
	json_t *mounts;       /* borrowed; NULL or empty: none */
};

/* The labels object for a create body (a new reference). */
json_t *labels_build(const struct ws_labels_in *in);
/* Read labels (an object of strings) into out; missing ones are NULL or 0. */
void labels_read(json_t *labels, struct ws_labels *out);

#endif
