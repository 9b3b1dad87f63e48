/*
 * Workspace labels, written and read in one place. Numbers are decimal
 * strings (labels are strings); a number that does not parse, or is not
 * positive, reads as absent.
 */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>

static void
set_int(json_t *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	json_object_set_new(o, key, json_string(buf));
}

json_t *
labels_build(const struct ws_labels_in *in)
{
	json_t *l = json_object();

	json_object_set_new(l, "wslab.owner", json_string(in->owner));
	set_int(l, "wslab.uid", (int64_t)in->uid);
	json_object_set_new(l, LABEL_WORKSPACE, json_string(in->id));
	json_object_set_new(l, "wslab.name", json_string(in->name));
	json_object_set_new(l, "wslab.template", json_string(in->tmpl));
	if (in->url_path != NULL)
		json_object_set_new(l, "wslab.url_path", json_string(in->url_path));
	set_int(l, "wslab.created", in->created);
	json_object_set_new(l, LABEL_INSTANCE,
	                    json_string(in->instance ? in->instance : "default"));
	/* Limits as labels too, so a restarted wsd reads them from the list. */
	set_int(l, "wslab.memory", in->memory);
	set_int(l, "wslab.shm", in->shm);
	set_int(l, "wslab.nanocpus", in->nanocpus);
	if (in->expires > 0)
		set_int(l, "wslab.expires", in->expires);
	if (in->mounts != NULL && json_array_size(in->mounts) > 0) {
		char *text = json_dumps(in->mounts, JSON_COMPACT);

		if (text != NULL)
			json_object_set_new(l, "wslab.mounts", json_string(text));
		free(text);
	}
	if (in->gpus != NULL && in->gpus[0] != '\0')
		json_object_set_new(l, "wslab.gpus", json_string(in->gpus));
	if (in->idle_timeout >= 0)
		set_int(l, "wslab.idle_timeout", in->idle_timeout);
	if (in->gpu_hours >= 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%.3f", in->gpu_hours);
		json_object_set_new(l, "wslab.gpu_hours", json_string(buf));
	}
	return l;
}

static const char *
get_str(json_t *labels, const char *key)
{
	return json_string_value(json_object_get(labels, key));
}

static int64_t
get_int(json_t *labels, const char *key)
{
	const char *v = get_str(labels, key);
	char *end;
	long long n;

	if (v == NULL)
		return 0;
	n = strtoll(v, &end, 10);
	return (*end == '\0' && n > 0) ? n : 0;
}

void
labels_read(json_t *labels, struct ws_labels *out)
{
	out->id = get_str(labels, LABEL_WORKSPACE);
	out->name = get_str(labels, "wslab.name");
	out->owner = get_str(labels, "wslab.owner");
	out->uid = get_str(labels, "wslab.uid");
	out->tmpl = get_str(labels, "wslab.template");
	out->url_path = get_str(labels, "wslab.url_path");
	out->instance = get_str(labels, LABEL_INSTANCE);
	out->gpus = get_str(labels, "wslab.gpus");
	out->mounts = get_str(labels, "wslab.mounts");
	out->created = get_int(labels, "wslab.created");
	out->expires = get_int(labels, "wslab.expires");
	out->memory = get_int(labels, "wslab.memory");
	out->shm = get_int(labels, "wslab.shm");
	out->nanocpus = get_int(labels, "wslab.nanocpus");
	/* 0 is a real timeout here: absent reads as never. */
	out->idle_timeout =
	    get_str(labels, "wslab.idle_timeout") ? get_int(labels, "wslab.idle_timeout") : -1;
	{
		const char *v = get_str(labels, "wslab.gpu_hours");
		char *end;

		out->gpu_hours = v ? strtod(v, &end) : -1;
		if (v == NULL || *end != '\0' || out->gpu_hours < 0)
			out->gpu_hours = -1;
	}
}
