/*
 * A workspace's service for the Swarm. See swarm_spec.h.
 */
#include "swarm_spec.h"

#include <stdio.h>

void
swarm_service_name(const char *ws_id, char *buf, size_t len)
{
	snprintf(buf, len, "wslab-%s", ws_id);
}

json_t *
swarm_service_spec(const struct spec_in *in, const char *image_id, const struct config *cfg,
                   int privileges)
{
	json_t *c = spec_build(in), *hc, *cs, *mounts, *tt, *lim, *spec, *log, *ports;
	char name[64], constraint[80];

	if (c == NULL)
		return NULL;
	hc = json_object_get(c, "HostConfig");
	mounts = json_deep_copy(json_object_get(hc, "Mounts"));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:{s:I, s:i}}", "Type", "tmpfs",
	                                        "Target", "/dev/shm", "TmpfsOptions", "SizeBytes",
	                                        (json_int_t)in->shm, "Mode", 01777));
	cs = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:o, s:b, s:[s], s:I, s:s}", "Image",
	               image_id, "Labels", json_object_get(c, "Labels"), "Hostname",
	               json_object_get(c, "Hostname"), "Env", json_object_get(c, "Env"), "Dir",
	               json_object_get(c, "WorkingDir"), "User", json_object_get(c, "User"),
	               "Mounts", mounts, "Init", 1, "CapabilityDrop", "ALL", "StopGracePeriod",
	               (json_int_t)cfg->stop_timeout * 1000000000, "Isolation", "default");
	if (json_object_get(hc, "Ulimits") != NULL)
		json_object_set(cs, "Ulimits", json_object_get(hc, "Ulimits"));
	/* API 1.44 (Engine 25) carries no-new-privileges per service; before, the node's setting.
	 */
	if (privileges)
		json_object_set_new(cs, "Privileges", json_pack("{s:b}", "NoNewPrivileges", 1));
	lim =
	    json_pack("{s:O, s:O, s:O}", "NanoCPUs", json_object_get(hc, "NanoCpus"), "MemoryBytes",
	              json_object_get(hc, "Memory"), "Pids", json_object_get(hc, "PidsLimit"));
	log = json_pack("{s:s, s:O}", "Name", "json-file", "Options",
	                json_object_get(json_object_get(hc, "LogConfig"), "Config"));
	snprintf(constraint, sizeof(constraint), "node.id==%s", in->node_id ? in->node_id : "");
	tt = json_pack("{s:o, s:{s:o}, s:{s:s, s:i}, s:{s:[s]}, s:[{s:s}], s:o}", "ContainerSpec",
	               cs, "Resources", "Limits", lim, "RestartPolicy", "Condition", "none",
	               "MaxAttempts", 0, "Placement", "Constraints", constraint, "Networks",
	               "Target", in->network ? in->network : cfg->network, "LogDriver", log);
	ports = json_pack("[{s:s, s:i, s:i, s:s}, {s:s, s:i, s:i, s:s}]", "Protocol", "tcp",
	                  "TargetPort", SPEC_JUPYTER_PORT, "PublishedPort", in->jupyter_port,
	                  "PublishMode", "host", "Protocol", "tcp", "TargetPort", SPEC_SSH_PORT,
	                  "PublishedPort", in->ssh_port, "PublishMode", "host");
	swarm_service_name(in->id, name, sizeof(name));
	spec = json_pack("{s:s, s:O, s:o, s:{s:{s:i}}, s:{s:o}}", "Name", name, "Labels",
	                 json_object_get(c, "Labels"), "TaskTemplate", tt, "Mode", "Replicated",
	                 "Replicas", 1, "EndpointSpec", "Ports", ports);
	json_decref(c);
	return spec;
}
