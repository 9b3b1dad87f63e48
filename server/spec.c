/*
 * Container-create body. Security settings are not options: every
 * workspace runs as its owner's uid with all capabilities dropped,
 * no-new-privileges, a pids limit, memory with swap equal to it, an init
 * process and ports bound only to the configured address. Only templates
 * choose the image.
 */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "labels.h"
#include "size.h"
#include "types.h"

static json_t *
bind_mount(const char *src, const char *dst, int ro)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", src, "Target", dst,
	                 "ReadOnly", ro);
}

/*
 * A user's mount: the checked real path, not recursive (other file systems
 * mounted below it stay out, and read-only cannot leave them writable),
 * and private, so no mount event crosses between host and workspace.
 */
static json_t *
user_mount(const struct mount_req *m, const char *src)
{
	json_t *j = bind_mount(src ? src : m->source, m->target, m->read_only);

	json_object_set_new(j, "BindOptions",
	                    json_pack("{s:s, s:b}", "Propagation", "rprivate", "NonRecursive", 1));
	return j;
}

static json_t *
port_binding(const char *addr, int port)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", port);
	return json_pack("[{s:s, s:s}]", "HostIp", addr, "HostPort", p);
}

static json_t *
env_pair(const char *k, const char *v)
{
	char buf[GPU_MAX * GPU_UUID_MAX + 64];

	snprintf(buf, sizeof(buf), "%s=%s", k, v);
	return json_string(buf);
}

/*
 * GPU visibility. NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES name the
 * assigned GPUs by UUID; with none, "void" keeps an image's own
 * NVIDIA_VISIBLE_DEVICES=all from exposing every GPU under a runtime that
 * honours it.
 */
static void
gpu_env(json_t *env, const struct spec_in *in)
{
	char list[GPU_MAX * GPU_UUID_MAX] = "";
	size_t off = 0;

	for (size_t i = 0; i < in->ngpus; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? "," : "",
		                        in->gpu_uuids[i]);
	if (in->ngpus == 0) {
		json_array_append_new(env, env_pair("NVIDIA_VISIBLE_DEVICES", "void"));
		json_array_append_new(env, env_pair("CUDA_VISIBLE_DEVICES", ""));
		return;
	}
	json_array_append_new(env, env_pair("NVIDIA_VISIBLE_DEVICES", list));
	json_array_append_new(env, env_pair("CUDA_VISIBLE_DEVICES", list));
	json_array_append_new(env, env_pair("CUDA_DEVICE_ORDER", "PCI_BUS_ID"));
	json_array_append_new(env, env_pair("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"));
}

/* DeviceRequests with explicit UUIDs, never Count. */
static json_t *
device_requests(const struct spec_in *in)
{
	json_t *ids = json_array();
	char buf[GPU_UUID_MAX + 32];
	int cdi = in->gpu_mode != NULL && strcmp(in->gpu_mode, "cdi") == 0;

	for (size_t i = 0; i < in->ngpus; i++) {
		if (cdi) {
			snprintf(buf, sizeof(buf), "nvidia.com/gpu=%s", in->gpu_uuids[i]);
			json_array_append_new(ids, json_string(buf));
		} else {
			json_array_append_new(ids, json_string(in->gpu_uuids[i]));
		}
	}
	if (cdi)
		return json_pack("[{s:s, s:o}]", "Driver", "cdi", "DeviceIDs", ids);
	return json_pack("[{s:s, s:o, s:[[s]]}]", "Driver", "nvidia", "DeviceIDs", ids,
	                 "Capabilities", "gpu");
}

json_t *
spec_mounts_json(const struct mount_req *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a,
		                      json_pack("{s:s, s:s, s:b}", "source", m[i].source, "target",
		                                m[i].target, "read_only", m[i].read_only));
	return a;
}

json_t *
spec_build(const struct spec_in *in)
{
	char user[64], hostname[64], home[128], path[512], jport[16], sport[16];
	json_t *env, *mounts, *labels, *host, *body, *ports;

	snprintf(user, sizeof(user), "%u:%u", (unsigned)in->uid, (unsigned)in->gid);
	/* Names may hold '_' and '.', which a host name may not. */
	snprintf(hostname, sizeof(hostname), "%s", in->name);
	for (char *c = hostname; *c; c++)
		if (*c == '_' || *c == '.')
			*c = '-';
	snprintf(home, sizeof(home), "/home/%s", in->owner);
	snprintf(jport, sizeof(jport), "%d", SPEC_JUPYTER_PORT);
	snprintf(sport, sizeof(sport), "%d", SPEC_SSH_PORT);

	env = json_array();
	json_array_append_new(env, env_pair("HOME", home));
	json_array_append_new(env, env_pair("USER", in->owner));
	json_array_append_new(env, env_pair("LOGNAME", in->owner));
	json_array_append_new(env, env_pair("SHELL", "/bin/bash"));
	json_array_append_new(env, env_pair("WSLAB_WORKSPACE", in->name));
	json_array_append_new(env, env_pair("WSLAB_JUPYTER_PORT", jport));
	json_array_append_new(env, env_pair("WSLAB_SSH_PORT", sport));

	gpu_env(env, in);

	mounts = json_array();
	json_array_append_new(mounts, bind_mount(in->home_src, home, 0));
	json_array_append_new(mounts, bind_mount(in->etc_src, "/etc/wslab", 1));
	snprintf(path, sizeof(path), "%s/passwd", in->etc_src);
	json_array_append_new(mounts, bind_mount(path, "/etc/passwd", 1));
	snprintf(path, sizeof(path), "%s/group", in->etc_src);
	json_array_append_new(mounts, bind_mount(path, "/etc/group", 1));
	for (size_t i = 0; i < in->nmounts; i++) {
		if (in->mount_src != NULL && in->mount_src[i] == NULL)
			continue; /* wsd mounted it inside home_src */
		json_array_append_new(
		    mounts, user_mount(&in->mounts[i], in->mount_src ? in->mount_src[i] : NULL));
	}

	{
		struct ws_labels_in li = {0};
		char gpus[GPU_MAX * GPU_UUID_MAX] = "";
		size_t off = 0;
		json_t *m = in->nmounts > 0 ? spec_mounts_json(in->mounts, in->nmounts) : NULL;

		for (size_t i = 0; i < in->ngpus; i++)
			off += (size_t)snprintf(gpus + off, sizeof(gpus) - off, "%s%s",
			                        i ? "," : "", in->gpu_uuids[i]);
		li.id = in->id;
		li.name = in->name;
		li.owner = in->owner;
		li.tmpl = in->tmpl->name;
		li.url_path = in->tmpl->url_path;
		li.instance = in->instance;
		li.uid = (unsigned)in->uid;
		li.created = in->created_at;
		li.expires = in->expires_at;
		li.gpu_hours = in->ngpus > 0 ? in->gpu_hours : -1;
		li.idle_timeout = in->idle_timeout;
		li.memory = in->memory;
		li.shm = in->shm;
		li.nanocpus = (int64_t)(in->cpus * 1e9 + 0.5);
		li.gpus = gpus;
		li.mounts = m;
		labels = labels_build(&li);
		json_decref(m);
	}

	ports = json_object();
	snprintf(path, sizeof(path), "%d/tcp", SPEC_JUPYTER_PORT);
	json_object_set_new(ports, path, port_binding(in->publish_address, in->jupyter_port));
	snprintf(path, sizeof(path), "%d/tcp", SPEC_SSH_PORT);
	json_object_set_new(ports, path, port_binding(in->publish_address, in->ssh_port));

	host =
	    json_pack("{s:o, s:[s], s:[s], s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:o, s:{s:s},"
	              " s:s, s:s}",
	              "Mounts", mounts, "CapDrop", "ALL", "SecurityOpt", "no-new-privileges",
	              "PidsLimit", (json_int_t)in->tmpl->pids_limit, "Memory",
	              (json_int_t)in->memory, "MemorySwap", (json_int_t)in->memory, "ShmSize",
	              (json_int_t)in->shm, "NanoCpus", (json_int_t)(in->cpus * 1e9 + 0.5), "Init",
	              1, "Privileged", 0, "PortBindings", ports, "RestartPolicy", "Name", "no",
	              "NetworkMode", in->network ? in->network : "bridge", "IpcMode", "private");
	if (in->tmpl->memlock[0] != '\0') {
		/* NCCL wants locked memory; the host's hard limit must allow it. */
		int64_t v = -1;

		if (strcmp(in->tmpl->memlock, "unlimited") != 0)
			size_parse(in->tmpl->memlock, &v);
		json_object_set_new(host, "Ulimits",
		                    json_pack("[{s:s, s:I, s:I}]", "Name", "memlock", "Soft",
		                              (json_int_t)v, "Hard", (json_int_t)v));
	}

	if (in->ngpus > 0)
		json_object_set_new(host, "DeviceRequests", device_requests(in));
	/*
	 * The engine's disk: what the workspace writes to its output is kept
	 * in at most log_max_files files of log_max_size (json-file, so that
	 * the last line still explains a failed start); its writable layer is
	 * capped where the storage driver can (overlay2 on xfs with pquota).
	 */
	{
		char size[24], files[24];

		snprintf(size, sizeof(size), "%lld", (long long)in->tmpl->log_max_size);
		snprintf(files, sizeof(files), "%lld", (long long)in->tmpl->log_max_files);
		json_object_set_new(host, "LogConfig",
		                    json_pack("{s:s, s:{s:s, s:s}}", "Type", "json-file", "Config",
		                              "max-size", size, "max-file", files));
		if (in->tmpl->disk > 0) {
			snprintf(size, sizeof(size), "%lld", (long long)in->tmpl->disk);
			json_object_set_new(host, "StorageOpt", json_pack("{s:s}", "size", size));
		}
	}

	body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:{s:{}, s:{}}, s:o}", "Image",
	                 in->tmpl->image, "User", user, "Hostname", hostname, "WorkingDir", home,
	                 "Env", env, "Labels", labels, "ExposedPorts", "8888/tcp", "2222/tcp",
	                 "HostConfig", host);
	return body;
}
