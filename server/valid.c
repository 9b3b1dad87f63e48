/*
 * Start-request validation. Every field is checked for type, range and
 * content here, before anything else in wsd sees it; unknown fields are
 * refused so that a smuggled engine option ("Privileged", "Binds") never
 * passes silently.
 */
#include "valid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "path.h"
#include "size.h"
#include "sshkey.h"
#include "xmalloc.h"

int
valid_ws_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WS_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* wsd's own mounts: a user mount may be neither on, in nor around them. */
static const char *const wsd_mounts[] = {"/etc/wslab", "/etc/passwd", "/etc/group"};

int
valid_mount_target(const char *mount_points, const char *target, const char *user, char *why,
                   size_t whylen)
{
	char buf[WS_PATH_MAX + 1];

	for (size_t i = 0; i < sizeof(wsd_mounts) / sizeof(wsd_mounts[0]); i++) {
		if (path_under(target, wsd_mounts[i]) || path_under(wsd_mounts[i], target)) {
			snprintf(why, whylen,
			         "%s collides with wsd's own mounts (/etc/wslab, /etc/passwd, "
			         "/etc/group)",
			         target);
			return -1;
		}
	}
	if (path_under(target, "/home")) {
		const char *name = target + 6, *slash;
		size_t n;

		if (target[5] == '\0') {
			snprintf(why, whylen, "/home itself cannot be a mount target");
			return -1;
		}
		slash = strchr(name, '/');
		n = slash ? (size_t)(slash - name) : strlen(name);
		if (user != NULL && (n != strlen(user) || strncmp(name, user, n) != 0)) {
			snprintf(why, whylen, "%s is not inside your home /home/%s", target, user);
			return -1;
		}
		if (slash == NULL) {
			snprintf(why, whylen, "%s is the home itself; mount below it (%s/DIR)",
			         target, target);
			return -1;
		}
		return 0;
	}
	if (path_list_find(mount_points, target, buf, sizeof(buf)) != NULL)
		return 0;
	snprintf(why, whylen,
	         "%s is neither inside your home (/home/USER/...) nor under a mount point (%s)",
	         target, mount_points[0] ? mount_points : "none are configured");
	return -1;
}

/* Print a JSON value for an error message, shortened. */
static void
show(json_t *v, char *buf, size_t len)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	if (strlen(s) > 40)
		snprintf(buf, len, "%.37s...", s);
	else
		snprintf(buf, len, "%s", s);
	free(s);
}

static int
get_size(json_t *v, const char *field, int64_t min, int64_t max, int64_t *out,
         struct api_error *err)
{
	char shown[64], a[32], b[32];
	int64_t n;

	if (json_is_string(v)) {
		if (size_parse(json_string_value(v), &n) == -1) {
			show(v, shown, sizeof(shown));
			api_error_set(
			    err, 400, "invalid_value",
			    "%s: %s is not a size (digits with k, m, g or t, like \"8g\")", field,
			    shown);
			return -1;
		}
	} else if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else {
		api_error_set(err, 400, "invalid_value", "%s: must be a size like \"8g\"", field);
		return -1;
	}
	if (n < min || n > max) {
		size_format(min, a, sizeof(a));
		size_format(max, b, sizeof(b));
		show(v, shown, sizeof(shown));
		api_error_set(err, 400, "invalid_value", "%s: %s is out of range (%s to %s)", field,
		              shown, a, b);
		return -1;
	}
	*out = n;
	return 0;
}

static int
get_keys(json_t *v, struct start_req *req, struct api_error *err)
{
	size_t i;
	json_t *k;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > WS_KEYS_MAX) {
		api_error_set(err, 400, "invalid_value",
		              "ssh_keys: must be a list of 1 to %d public keys", WS_KEYS_MAX);
		return -1;
	}
	json_array_foreach(v, i, k)
	{
		const char *s = json_string_value(k);

		if (s == NULL || json_string_length(k) > WS_KEY_LEN_MAX ||
		    strlen(s) != json_string_length(k) || strpbrk(s, "\r\n") != NULL ||
		    sshkey_check_public(s) == -1) {
			api_error_set(err, 400, "invalid_value",
			              "ssh_keys[%zu]: not an OpenSSH public key line", i);
			return -1;
		}
		req->ssh_keys[req->nkeys++] = xstrdup(s);
	}
	return 0;
}

/* 1 when s looks like a GPU index or UUID: letters, digits and '-'. */
static int
gpu_id_ok(const char *s, size_t len)
{
	if (len == 0 || len >= GPU_UUID_MAX || strlen(s) != len)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

/* "queue": true or "wait": true, not both, and a number of GPUs to wait for. */
static int
get_queue(json_t *root, struct start_req *req, struct api_error *err)
{
	static const char *const keys[] = {"queue", "wait"};

	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(root, keys[i]);

		if (v != NULL && !json_is_boolean(v)) {
			api_error_set(err, 400, "invalid_value", "%s: must be true or false",
			              keys[i]);
			return -1;
		}
	}
	req->queue = json_is_true(json_object_get(root, "queue"));
	req->wait = json_is_true(json_object_get(root, "wait"));
	if (req->queue && req->wait) {
		api_error_set(err, 400, "invalid_value",
		              "queue and wait: choose one (--queue returns at once, --wait "
		              "waits until the workspace is ready)");
		return -1;
	}
	if ((req->queue || req->wait) && req->gpu.nids > 0) {
		api_error_set(err, 400, "invalid_value",
		              "gpu_ids: a queued start asks for a number of GPUs (--gpus N), "
		              "not for given ones");
		return -1;
	}
	return 0;
}

static int
get_gpus(json_t *root, struct gpu_request *g, struct api_error *err)
{
	json_t *v = json_object_get(root, "gpus"), *id;
	size_t i;

	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > GPU_MAX) {
			char shown[64];

			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "gpus: %s is not a number of GPUs (0 to %d)", shown, GPU_MAX);
			return -1;
		}
		g->count = (int)json_integer_value(v);
	}
	v = json_object_get(root, "gpu_ids");
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > GPU_MAX) {
		api_error_set(err, 400, "invalid_value",
		              "gpu_ids: must be a list of 1 to %d GPU indexes or UUIDs", GPU_MAX);
		return -1;
	}
	json_array_foreach(v, i, id)
	{
		const char *s = json_string_value(id);

		if (s == NULL || !gpu_id_ok(s, json_string_length(id))) {
			api_error_set(err, 400, "invalid_value",
			              "gpu_ids[%zu]: not a GPU index or UUID", i);
			return -1;
		}
		for (size_t j = 0; j < g->nids; j++) {
			if (strcmp(g->ids[j], s) == 0) {
				api_error_set(err, 400, "invalid_value",
				              "gpu_ids: \"%s\" is named twice", s);
				return -1;
			}
		}
		snprintf(g->ids[g->nids++], GPU_UUID_MAX, "%s", s);
	}
	if (json_object_get(root, "gpus") == NULL)
		g->count = (int)g->nids;
	if ((size_t)g->count != g->nids) {
		api_error_set(err, 400, "invalid_value",
		              "gpus: %d does not match the %zu GPUs named in gpu_ids", g->count,
		              g->nids);
		return -1;
	}
	return 0;
}

/* One mount's shape: an object of source, target and read_only. */
static int
get_mount(json_t *m, size_t i, struct mount_req *out, struct api_error *err)
{
	static const char *const fields[] = {"source", "target"};
	const char *key;
	char why[128];
	json_t *v;

	if (!json_is_object(m)) {
		api_error_set(err, 400, "invalid_value",
		              "mounts[%zu]: must be an object with source, target and read_only",
		              i);
		return -1;
	}
	json_object_foreach(m, key, v)
	{
		if (strcmp(key, "source") != 0 && strcmp(key, "target") != 0 &&
		    strcmp(key, "read_only") != 0) {
			json_t *k = json_string(key);
			char shown[64];

			show(k, shown, sizeof(shown));
			json_decref(k);
			api_error_set(err, 400, "unknown_field",
			              "mounts[%zu]: unknown field %s (allowed: source, target, "
			              "read_only)",
			              i, shown);
			return -1;
		}
	}
	for (size_t f = 0; f < 2; f++) {
		v = json_object_get(m, fields[f]);
		if (v == NULL) {
			api_error_set(err, 400, "missing_field", "mounts[%zu].%s: required", i,
			              fields[f]);
			return -1;
		}
		if (!json_is_string(v)) {
			api_error_set(err, 400, "invalid_value", "mounts[%zu].%s: must be a string",
			              i, fields[f]);
			return -1;
		}
		if (path_check(json_string_value(v), json_string_length(v), why, sizeof(why)) ==
		    -1) {
			api_error_set(err, 400, "invalid_value", "mounts[%zu].%s: %s", i, fields[f],
			              why);
			return -1;
		}
	}
	v = json_object_get(m, "read_only");
	if (v != NULL && !json_is_boolean(v)) {
		api_error_set(err, 400, "invalid_value",
		              "mounts[%zu].read_only: must be true or false", i);
		return -1;
	}
	out->read_only = json_is_true(v);
	out->source = xstrdup(json_string_value(json_object_get(m, "source")));
	out->target = xstrdup(json_string_value(json_object_get(m, "target")));
	return 0;
}

/*
 * User mounts: the shape of every entry first, then the policy that needs
 * only the configuration (which roots, which targets). The host's files
 * are checked later, on the pool (wsfs.c), with the real paths.
 */
static int
get_mounts(const struct config *cfg, json_t *v, struct start_req *req, struct api_error *err)
{
	char buf[WS_PATH_MAX + 1], why[WS_PATH_MAX + 128];
	json_t *m;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) > WS_MOUNTS_MAX) {
		api_error_set(err, 400, "invalid_value",
		              "mounts: must be a list of at most %d mounts, each "
		              "{\"source\", \"target\", \"read_only\"}",
		              WS_MOUNTS_MAX);
		return -1;
	}
	json_array_foreach(v, i, m)
	{
		struct mount_req *mr = &req->mounts[req->nmounts++];

		if (get_mount(m, i, mr, err) == -1)
			return -1;
		for (size_t j = 0; j < i; j++) {
			const char *other = req->mounts[j].target;

			if (strcmp(other, mr->target) == 0) {
				api_error_set(err, 400, "invalid_value",
				              "mounts[%zu].target: %s is already the target of "
				              "mounts[%zu]",
				              i, mr->target, j);
				return -1;
			}
			/*
			 * The engine would resolve the inner target through the
			 * outer mount's files, links included.
			 */
			if (path_under(mr->target, other) || path_under(other, mr->target)) {
				api_error_set(
				    err, 400, "invalid_value",
				    "mounts[%zu].target: %s and mounts[%zu].target %s are "
				    "nested; mount targets cannot lie inside one another",
				    i, mr->target, j, other);
				return -1;
			}
		}
	}
	/*
	 * Swarm mode: a node binds the source by its path (nothing is staged on
	 * the control host, which the node could not see): read-only, from a
	 * shared root, at a mount point (wsfs.c checks the rest).
	 */
	for (i = 0; i < req->nmounts && strcmp(cfg->engine_mode, "swarm") == 0; i++) {
		if (!req->mounts[i].read_only) {
			api_error_set(err, 403, "forbidden",
			              "mounts[%zu]: in swarm mode only read-only mounts (:ro) from "
			              "shared_mount_roots can be made (docs/scale-out.md)",
			              i);
			return -1;
		}
		if (path_under(req->mounts[i].target, "/home")) {
			api_error_set(
			    err, 403, "forbidden",
			    "mounts[%zu].target: in swarm mode a mount lands under a mount "
			    "point, not in your home (docs/scale-out.md)",
			    i);
			return -1;
		}
	}
	if (req->nmounts > 0 && cfg->mount_roots[0] == '\0' && cfg->shared_mount_roots[0] == '\0') {
		api_error_set(err, 403, "forbidden",
		              "mounts: no mount roots are configured on this server (an admin "
		              "sets mount_roots in wsd.conf)");
		return -1;
	}
	for (i = 0; i < req->nmounts; i++) {
		const struct mount_req *mr = &req->mounts[i];

		if (valid_mount_target(cfg->mount_points, mr->target, NULL, why, sizeof(why)) ==
		    -1) {
			api_error_set(err, 403, "forbidden", "mounts[%zu].target: %s", i, why);
			return -1;
		}
		if (path_list_find(cfg->mount_roots, mr->source, buf, sizeof(buf)) != NULL)
			continue;
		if (path_list_find(cfg->shared_mount_roots, mr->source, buf, sizeof(buf)) != NULL) {
			if (mr->read_only)
				continue;
			api_error_set(err, 403, "forbidden",
			              "mounts[%zu].source: %s is in the shared root %s, which can "
			              "only be mounted read-only (add :ro)",
			              i, mr->source, buf);
			return -1;
		}
		api_error_set(
		    err, 403, "forbidden",
		    "mounts[%zu].source: %s is outside the allowed mount roots (%s%s%s%s)", i,
		    mr->source, cfg->mount_roots,
		    cfg->mount_roots[0] && cfg->shared_mount_roots[0] ? "; " : "",
		    cfg->shared_mount_roots[0] ? "read-only: " : "", cfg->shared_mount_roots);
		return -1;
	}
	return 0;
}

int
valid_start_request(const struct config *cfg, int host_cpus, const char *body, size_t len,
                    struct start_req *req, struct api_error *err)
{
	static const char *const known[] = {"name",   "template", "memory", "shm",
	                                    "cpus",   "ssh_keys", "gpus",   "gpu_ids",
	                                    "mounts", "queue",    "wait"};
	json_t *root, *v;
	json_error_t jerr;
	const char *key;
	const struct template *t;
	double cpus_max;
	int ret = -1;

	memset(req, 0, sizeof(*req));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		api_error_set(err, 400, "invalid_json", "request body is not valid JSON: %s",
		              jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		api_error_set(err, 400, "invalid_json", "request body must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			json_t *k = json_string(key);
			char shown[64];

			show(k, shown, sizeof(shown));
			json_decref(k);
			api_error_set(err, 400, "unknown_field",
			              "unknown field %s (allowed: name, template, memory, shm, "
			              "cpus, gpus, gpu_ids, ssh_keys, mounts, queue, wait)",
			              shown);
			goto out;
		}
	}

	v = json_object_get(root, "template");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) > 64) {
			api_error_set(err, 400, "invalid_value", "template: must be a string");
			goto out;
		}
		t = config_template(cfg, json_string_value(v));
		if (t == NULL) {
			char shown[64];

			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "template: no template named %s on this server", shown);
			goto out;
		}
	} else {
		t = config_template(cfg, cfg->default_template);
	}
	req->tmpl = t;

	v = json_object_get(root, "name");
	if (v != NULL) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    !valid_ws_name(json_string_value(v))) {
			char shown[64];

			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "name: %s is not a workspace name (1 to %d of a-z, 0-9, "
			              "'-', '_', '.', starting with a letter or digit)",
			              shown, WS_NAME_MAX);
			goto out;
		}
		snprintf(req->name, sizeof(req->name), "%s", json_string_value(v));
	}

	req->memory = t->memory;
	v = json_object_get(root, "memory");
	if (v != NULL &&
	    get_size(v, "memory", INT64_C(64) << 20, t->memory_max, &req->memory, err) == -1)
		goto out;
	req->memory_given = v != NULL;
	req->shm = t->shm < req->memory ? t->shm : req->memory;
	v = json_object_get(root, "shm");
	if (v != NULL && get_size(v, "shm", INT64_C(1) << 20, t->shm_max, &req->shm, err) == -1)
		goto out;
	req->shm_given = v != NULL;
	if (req->shm > req->memory) {
		api_error_set(err, 400, "invalid_value",
		              "shm: must not be larger than memory (/dev/shm counts against it)");
		goto out;
	}

	cpus_max = t->cpus_max < host_cpus ? t->cpus_max : host_cpus;
	req->cpus = t->cpus < cpus_max ? t->cpus : cpus_max;
	v = json_object_get(root, "cpus");
	if (v != NULL) {
		double c = json_number_value(v);

		if (!json_is_number(v) || !isfinite(c) || c < 0.01 || c > cpus_max) {
			char shown[64];

			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "cpus: %s is out of range (0.01 to %g)", shown, cpus_max);
			goto out;
		}
		req->cpus = c;
		req->cpus_given = 1;
	}

	if (get_gpus(root, &req->gpu, err) == -1)
		goto out;
	if (get_queue(root, req, err) == -1)
		goto out;
	v = json_object_get(root, "mounts");
	if (v != NULL && get_mounts(cfg, v, req, err) == -1)
		goto out;

	v = json_object_get(root, "ssh_keys");
	if (v == NULL) {
		api_error_set(err, 400, "missing_field",
		              "ssh_keys: at least one SSH public key is required");
		goto out;
	}
	if (get_keys(v, req, err) == -1)
		goto out;
	ret = 0;
out:
	json_decref(root);
	if (ret == -1)
		start_req_free(req);
	return ret;
}

void
start_req_free(struct start_req *req)
{
	for (size_t i = 0; i < req->nkeys; i++)
		free(req->ssh_keys[i]);
	req->nkeys = 0;
	for (size_t i = 0; i < req->nmounts; i++) {
		free(req->mounts[i].source);
		free(req->mounts[i].target);
	}
	req->nmounts = 0;
}

int
valid_extend_request(const char *body, size_t len, int64_t *by, struct api_error *err)
{
	json_t *root, *v;
	json_error_t jerr;
	const char *key;
	char shown[64];
	int ret = -1;

	*by = 0;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		api_error_set(err, 400, "invalid_json", "request body is not valid JSON: %s",
		              jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		api_error_set(err, 400, "invalid_json", "request body must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "by") != 0) {
			json_t *k = json_string(key);

			show(k, shown, sizeof(shown));
			json_decref(k);
			api_error_set(err, 400, "unknown_field", "unknown field %s (allowed: by)",
			              shown);
			goto out;
		}
	}
	v = json_object_get(root, "by");
	if (v == NULL) {
		api_error_set(err, 400, "invalid_value", "by: missing (a duration, like 2h)");
		goto out;
	}
	if (json_is_integer(v)) {
		*by = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (s[0] == '-') {
			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "by: %s is negative; a lifetime can only be extended", shown);
			goto out;
		}
		if (json_string_length(v) > 32 || duration_parse(s, by) == -1) {
			show(v, shown, sizeof(shown));
			api_error_set(err, 400, "invalid_value",
			              "by: %s is not a duration (like 90m, 2h or 1d)", shown);
			goto out;
		}
	} else {
		api_error_set(err, 400, "invalid_value",
		              "by: must be a duration (a string like \"2h\") or seconds");
		goto out;
	}
	if (*by <= 0) {
		api_error_set(err, 400, "invalid_value",
		              "by: must be positive; a lifetime can only be extended");
		goto out;
	}
	if (*by > VALID_EXTEND_MAX) {
		api_error_set(err, 400, "invalid_value", "by: at most 366d");
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		*by = 0;
	json_decref(root);
	return ret;
}
