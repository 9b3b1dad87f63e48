/* The container-create body: the security settings are always there. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "spec.h"
#include "swarm_spec.h"
#include "unit.h"

static struct config cfg;
static json_t *body;
static struct mount_req user_mounts[] = {
    {"/srv/data/alice/proj", "/home/alice/proj", 0},
    {"/datasets/imagenet", "/data/imagenet", 1},
};
static const char *const staged[] = {"/var/lib/wslab/mounts/0123456789ab/0",
                                     "/var/lib/wslab/mounts/0123456789ab/1"};

static void
setup(void)
{
	struct spec_in in = {0};

	config_defaults(&cfg);
	config_parse_buffer(
	    &cfg, "t", "[template offline]\nimage = wslab/offline:1\npids_limit = 777\n", NULL, 0);
	in.id = "0123456789ab";
	in.name = "my_ws.1";
	in.owner = "alice";
	in.uid = 1234;
	in.gid = 2345;
	in.tmpl = config_template(&cfg, "offline");
	in.memory = INT64_C(2) << 30;
	in.shm = INT64_C(256) << 20;
	in.cpus = 1.5;
	in.home_src = "/srv/home/alice";
	in.etc_src = "/var/lib/wslab/workspaces/0123456789ab";
	in.publish_address = "127.0.0.1";
	in.jupyter_port = 20001;
	in.ssh_port = 20002;
	in.created_at = 1700000000;
	in.mounts = user_mounts;
	in.mount_src = staged;
	in.nmounts = sizeof(user_mounts) / sizeof(user_mounts[0]);
	body = spec_build(&in);
	ck_assert_ptr_nonnull(body);
}

static void
teardown(void)
{
	json_decref(body);
	config_free(&cfg);
}

static json_t *
host(void)
{
	return json_object_get(body, "HostConfig");
}

START_TEST(identity_and_image)
{
	ck_assert_str_eq(json_string_value(json_object_get(body, "Image")), "wslab/offline:1");
	ck_assert_str_eq(json_string_value(json_object_get(body, "User")), "1234:2345");
	ck_assert_str_eq(json_string_value(json_object_get(body, "Hostname")), "my-ws-1");
	ck_assert_str_eq(json_string_value(json_object_get(body, "WorkingDir")), "/home/alice");
}
END_TEST

START_TEST(security)
{
	json_t *h = host();

	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h, "CapDrop"), 0)),
	                 "ALL");
	ck_assert_int_eq(json_array_size(json_object_get(h, "CapDrop")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h, "SecurityOpt"), 0)),
	                 "no-new-privileges");
	ck_assert(json_is_false(json_object_get(h, "Privileged")));
	ck_assert(json_is_true(json_object_get(h, "Init")));
	ck_assert_ptr_null(json_object_get(h, "CapAdd"));
	ck_assert_ptr_null(json_object_get(h, "Devices"));
	ck_assert_ptr_null(json_object_get(h, "Binds"));
	ck_assert_str_eq(json_string_value(json_object_get(h, "NetworkMode")), "bridge");
	ck_assert_str_eq(json_string_value(json_object_get(h, "IpcMode")), "private");
}
END_TEST

START_TEST(limits)
{
	json_t *h = host();

	ck_assert_int_eq(json_integer_value(json_object_get(h, "Memory")), INT64_C(2) << 30);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "MemorySwap")), INT64_C(2) << 30);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "ShmSize")), INT64_C(256) << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "NanoCpus")), 1500000000);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "PidsLimit")), 777);
}
END_TEST

START_TEST(ports_on_configured_address)
{
	json_t *pb = json_object_get(host(), "PortBindings");
	json_t *j = json_array_get(json_object_get(pb, "8888/tcp"), 0);
	json_t *s = json_array_get(json_object_get(pb, "2222/tcp"), 0);

	ck_assert_int_eq(json_object_size(pb), 2);
	ck_assert_str_eq(json_string_value(json_object_get(j, "HostIp")), "127.0.0.1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "HostPort")), "20001");
	ck_assert_str_eq(json_string_value(json_object_get(s, "HostIp")), "127.0.0.1");
	ck_assert_str_eq(json_string_value(json_object_get(s, "HostPort")), "20002");
	ck_assert_ptr_null(json_object_get(host(), "PublishAllPorts"));
}
END_TEST

START_TEST(mounts)
{
	json_t *m = json_object_get(host(), "Mounts"), *e;
	size_t i;
	int home = 0, etc = 0, passwd = 0, group = 0;

	json_array_foreach(m, i, e)
	{
		const char *src = json_string_value(json_object_get(e, "Source"));
		const char *dst = json_string_value(json_object_get(e, "Target"));
		int ro = json_is_true(json_object_get(e, "ReadOnly"));

		ck_assert_str_eq(json_string_value(json_object_get(e, "Type")), "bind");
		if (strcmp(dst, "/home/alice") == 0) {
			ck_assert_str_eq(src, "/srv/home/alice");
			ck_assert(!ro);
			home++;
		} else if (strcmp(dst, "/etc/wslab") == 0) {
			ck_assert(ro);
			etc++;
		} else if (strcmp(dst, "/etc/passwd") == 0) {
			ck_assert(ro);
			ck_assert_str_eq(src, "/var/lib/wslab/workspaces/0123456789ab/passwd");
			passwd++;
		} else if (strcmp(dst, "/etc/group") == 0) {
			ck_assert(ro);
			group++;
		} else if (strcmp(dst, "/home/alice/proj") == 0 ||
		           strcmp(dst, "/data/imagenet") == 0) {
			continue;
		} else {
			ck_abort_msg("unexpected mount %s", dst);
		}
		/* wsd's own mounts are plain binds. */
		ck_assert_ptr_null(json_object_get(e, "BindOptions"));
	}
	ck_assert(home == 1 && etc == 1 && passwd == 1 && group == 1);
}
END_TEST

/*
 * User mounts: the engine binds the staging point (never the user's path),
 * the target, ro as asked, nothing shared or recursive; the label keeps
 * the checked real paths.
 */
START_TEST(user_mounts_as_given)
{
	json_t *m = json_object_get(host(), "Mounts"), *e;
	size_t i;
	int seen = 0;

	ck_assert_int_eq(json_array_size(m), 6);
	json_array_foreach(m, i, e)
	{
		const char *src = json_string_value(json_object_get(e, "Source"));
		const char *dst = json_string_value(json_object_get(e, "Target"));
		json_t *bo = json_object_get(e, "BindOptions");

		for (size_t k = 0; k < 2; k++) {
			if (strcmp(dst, user_mounts[k].target) != 0)
				continue;
			seen++;
			ck_assert_str_eq(src, staged[k]);
			ck_assert_str_eq(json_string_value(json_object_get(e, "Type")), "bind");
			ck_assert_int_eq(json_is_true(json_object_get(e, "ReadOnly")),
			                 user_mounts[k].read_only);
			ck_assert_str_eq(json_string_value(json_object_get(bo, "Propagation")),
			                 "rprivate");
			ck_assert(json_is_true(json_object_get(bo, "NonRecursive")));
		}
	}
	ck_assert_int_eq(seen, 2);
	ck_assert_ptr_null(json_object_get(host(), "Binds"));
	ck_assert_ptr_null(json_object_get(host(), "VolumesFrom"));
	{
		const char *label = json_string_value(
		    json_object_get(json_object_get(body, "Labels"), "wslab.mounts"));
		json_t *l = label ? json_loads(label, 0, NULL) : NULL;

		ck_assert_msg(l != NULL, "label wslab.mounts missing or not JSON");
		ck_assert_int_eq(json_array_size(l), 2);
		for (size_t k = 0; k < 2; k++) {
			json_t *le = json_array_get(l, k);

			ck_assert_str_eq(json_string_value(json_object_get(le, "source")),
			                 user_mounts[k].source);
			ck_assert_str_eq(json_string_value(json_object_get(le, "target")),
			                 user_mounts[k].target);
			ck_assert_int_eq(json_is_true(json_object_get(le, "read_only")),
			                 user_mounts[k].read_only);
		}
		json_decref(l);
	}
}
END_TEST

/*
 * A target in the home is mounted by wsd inside the staged home
 * (mount_src[i] NULL): the engine gets the staged home and no mount of its
 * own there, so it never resolves a path inside the student's home; the
 * label still lists the mount.
 */
START_TEST(home_targets_in_the_staged_home)
{
	static const char *const src[] = {NULL, "/var/lib/wslab/mounts/0123456789ab/1"};
	struct spec_in in = {0};
	json_t *b, *m, *e;
	const char *label;
	size_t i;

	in.id = "0123456789ab";
	in.name = "w";
	in.owner = "alice";
	in.uid = 1234;
	in.gid = 1234;
	in.tmpl = config_template(&cfg, "offline");
	in.memory = INT64_C(1) << 30;
	in.shm = INT64_C(64) << 20;
	in.cpus = 1;
	in.home_src = "/var/lib/wslab/mounts/0123456789ab/home";
	in.etc_src = "/var/lib/wslab/workspaces/0123456789ab";
	in.publish_address = "127.0.0.1";
	in.mounts = user_mounts;
	in.mount_src = src;
	in.nmounts = 2;
	b = spec_build(&in);
	ck_assert_ptr_nonnull(b);
	m = json_object_get(json_object_get(b, "HostConfig"), "Mounts");
	ck_assert_int_eq(json_array_size(m), 5);
	json_array_foreach(m, i, e)
	{
		const char *dst = json_string_value(json_object_get(e, "Target"));

		ck_assert_str_ne(dst, "/home/alice/proj");
		if (strcmp(dst, "/home/alice") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(e, "Source")),
			                 in.home_src);
			/* Recursive, so that the mounts wsd made on it come along. */
			ck_assert_ptr_null(json_object_get(e, "BindOptions"));
		}
	}
	label = json_string_value(json_object_get(json_object_get(b, "Labels"), "wslab.mounts"));
	ck_assert_ptr_nonnull(strstr(label, "/home/alice/proj"));
	json_decref(b);
}
END_TEST

/* Without user mounts, only wsd's four. */
START_TEST(no_user_mounts)
{
	struct spec_in in = {0};
	json_t *b;

	in.id = "0123456789ab";
	in.name = "w";
	in.owner = "alice";
	in.uid = 1234;
	in.gid = 1234;
	in.tmpl = config_template(&cfg, "offline");
	in.memory = INT64_C(1) << 30;
	in.shm = INT64_C(64) << 20;
	in.cpus = 1;
	in.home_src = "/srv/home/alice";
	in.etc_src = "/var/lib/wslab/workspaces/0123456789ab";
	in.publish_address = "127.0.0.1";
	b = spec_build(&in);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(
	    json_array_size(json_object_get(json_object_get(b, "HostConfig"), "Mounts")), 4);
	json_decref(b);
}
END_TEST

START_TEST(labels_and_env)
{
	json_t *l = json_object_get(body, "Labels"), *env = json_object_get(body, "Env"), *e;
	size_t i;
	int home = 0;

	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.owner")), "alice");
	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.workspace")), "0123456789ab");
	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.name")), "my_ws.1");
	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.uid")), "1234");
	ck_assert_str_eq(json_string_value(json_object_get(l, "wslab.memory")), "2147483648");
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);

		ck_assert_msg(strstr(s, "TOKEN") == NULL, "secret in the environment: %s", s);
		if (strcmp(s, "HOME=/home/alice") == 0)
			home = 1;
	}
	ck_assert(home);
}
END_TEST

/* A workspace with two GPUs handed over in mode. */
static void
gpu_in(struct spec_in *in, const char *mode)
{
	static const char *const uuids[] = {"GPU-aaaa", "GPU-bbbb"};

	memset(in, 0, sizeof(*in));
	in->id = "0123456789ab";
	in->name = "g";
	in->owner = "alice";
	in->uid = 1234;
	in->gid = 1234;
	in->tmpl = config_template(&cfg, "offline");
	in->memory = INT64_C(1) << 30;
	in->shm = INT64_C(64) << 20;
	in->cpus = 1;
	in->home_src = "/h";
	in->etc_src = "/e";
	in->publish_address = "127.0.0.1";
	in->jupyter_port = 1;
	in->ssh_port = 2;
	in->gpu_uuids = uuids;
	in->ngpus = 2;
	in->gpu_mode = mode;
}

static json_t *
build_with_gpus(const char *mode)
{
	struct spec_in in;

	gpu_in(&in, mode);
	return spec_build(&in);
}

static const char *
env_value(json_t *b, const char *key)
{
	json_t *e;
	size_t i, n = strlen(key);

	json_array_foreach(json_object_get(b, "Env"), i, e)
	{
		const char *s = json_string_value(e);

		if (strncmp(s, key, n) == 0 && s[n] == '=')
			return s + n + 1;
	}
	return NULL;
}

START_TEST(gpus_nvidia_mode)
{
	json_t *b = build_with_gpus("nvidia");
	json_t *dr =
	    json_array_get(json_object_get(json_object_get(b, "HostConfig"), "DeviceRequests"), 0);

	ck_assert_str_eq(json_string_value(json_object_get(dr, "Driver")), "nvidia");
	ck_assert_ptr_null(json_object_get(dr, "Count"));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(dr, "DeviceIDs"), 1)),
	                 "GPU-bbbb");
	ck_assert_str_eq(env_value(b, "NVIDIA_VISIBLE_DEVICES"), "GPU-aaaa,GPU-bbbb");
	ck_assert_str_eq(env_value(b, "CUDA_VISIBLE_DEVICES"), "GPU-aaaa,GPU-bbbb");
	ck_assert_str_eq(env_value(b, "CUDA_DEVICE_ORDER"), "PCI_BUS_ID");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(b, "Labels"), "wslab.gpus")),
	    "GPU-aaaa,GPU-bbbb");
	json_decref(b);
}
END_TEST

/* Swarm mode: the service carries what the container body says, placed and pinned. */
START_TEST(swarm_service)
{
	struct spec_in in;
	json_t *s, *tt, *cs, *mnts, *shm, *lim, *ports, *e;
	char *text;
	size_t i;

	gpu_in(&in, "nvidia");
	in.gid = 2345;
	in.memory = INT64_C(2) << 30;
	in.shm = INT64_C(256) << 20;
	in.cpus = 1.5;
	in.jupyter_port = 20001;
	in.ssh_port = 20002;
	in.ngpus = 1; /* GPU-aaaa */
	in.network = "wslab-ports";
	in.node_id = "nodeabc";
	s = swarm_service_spec(&in, "sha256:0123", &cfg, 0);
	ck_assert_ptr_nonnull(s);
	tt = json_object_get(s, "TaskTemplate");
	cs = json_object_get(tt, "ContainerSpec");
	ck_assert_str_eq(json_string_value(json_object_get(s, "Name")), "wslab-0123456789ab");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(s, "Mode"), "Replicated"), "Replicas")),
	    1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(tt, "RestartPolicy"), "Condition")),
	    "none");
	ck_assert_str_eq(json_string_value(json_array_get(
	                     json_object_get(json_object_get(tt, "Placement"), "Constraints"), 0)),
	                 "node.id==nodeabc");
	ck_assert_str_eq(json_string_value(json_object_get(cs, "Image")), "sha256:0123");
	ck_assert_str_eq(json_string_value(json_object_get(cs, "User")), "1234:2345");
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(cs, "CapabilityDrop"), 0)), "ALL");
	ck_assert(json_is_true(json_object_get(cs, "Init")));
	/* Before API 1.44 no-new-privileges is the node's setting; from it, the service's. */
	ck_assert_ptr_null(json_object_get(cs, "Privileges"));
	mnts = json_object_get(cs, "Mounts");
	shm = json_array_get(mnts, json_array_size(mnts) - 1);
	ck_assert_str_eq(json_string_value(json_object_get(shm, "Type")), "tmpfs");
	ck_assert_str_eq(json_string_value(json_object_get(shm, "Target")), "/dev/shm");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(shm, "TmpfsOptions"), "SizeBytes")),
	    INT64_C(256) << 20);
	lim = json_object_get(json_object_get(tt, "Resources"), "Limits");
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "MemoryBytes")), INT64_C(2) << 30);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "NanoCPUs")), 1500000000);
	ck_assert_int_eq(json_integer_value(json_object_get(lim, "Pids")), 777);
	/* The GPU as the runtime's variable, never a Swarm reservation (Swarm would pick it). */
	ck_assert_ptr_null(json_object_get(json_object_get(tt, "Resources"), "Reservations"));
	json_array_foreach(json_object_get(cs, "Env"), i, e)
	{
		if (strncmp(json_string_value(e), "NVIDIA_VISIBLE_DEVICES=", 23) == 0)
			ck_assert_str_eq(json_string_value(e) + 23, "GPU-aaaa");
		ck_assert_ptr_null(strstr(json_string_value(e), "TOKEN"));
	}
	ports = json_object_get(json_object_get(s, "EndpointSpec"), "Ports");
	ck_assert_uint_eq(json_array_size(ports), 2);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(ports, 0), "PublishMode")), "host");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_array_get(ports, 1), "PublishedPort")), 20002);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(tt, "Networks"), 0), "Target")),
	                 "wslab-ports");
	text = json_dumps(s, 0);
	ck_assert_ptr_null(strstr(text, "DeviceRequests"));
	free(text);
	json_decref(s);
	s = swarm_service_spec(&in, "sha256:0123", &cfg, 1);
	cs = json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec");
	ck_assert(
	    json_is_true(json_object_get(json_object_get(cs, "Privileges"), "NoNewPrivileges")));
	json_decref(s);
}
END_TEST

START_TEST(gpus_cdi_mode)
{
	json_t *b = build_with_gpus("cdi");
	json_t *dr =
	    json_array_get(json_object_get(json_object_get(b, "HostConfig"), "DeviceRequests"), 0);

	ck_assert_str_eq(json_string_value(json_object_get(dr, "Driver")), "cdi");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(dr, "DeviceIDs"), 0)),
	                 "nvidia.com/gpu=GPU-aaaa");
	json_decref(b);
}
END_TEST

START_TEST(no_gpus_means_void)
{
	ck_assert_ptr_null(json_object_get(host(), "DeviceRequests"));
	ck_assert_str_eq(env_value(body, "NVIDIA_VISIBLE_DEVICES"), "void");
}
END_TEST

/* The engine's disk: logs rotated by default, the writable layer only when asked. */
START_TEST(log_limits_and_disk)
{
	json_t *lc = json_object_get(host(), "LogConfig");
	struct config c2;
	struct spec_in in = {0};
	json_t *b;

	ck_assert_str_eq(json_string_value(json_object_get(lc, "Type")), "json-file");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-size")),
	    "10485760");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-file")), "2");
	ck_assert_ptr_null(json_object_get(host(), "StorageOpt"));

	config_defaults(&c2);
	ck_assert_int_eq(config_parse_buffer(
	                     &c2, "t",
	                     "default_template = t\n[template t]\nimage = i:1\nlog_max_size = 1m\n"
	                     "log_max_files = 3\ndisk = 20g\n",
	                     NULL, 0),
	                 0);
	in.id = "0123456789ab";
	in.name = "w";
	in.owner = "alice";
	in.tmpl = config_template(&c2, "t");
	in.home_src = "/h";
	in.etc_src = "/e";
	in.publish_address = "127.0.0.1";
	b = spec_build(&in);
	lc = json_object_get(json_object_get(b, "HostConfig"), "LogConfig");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-size")),
	    "1048576");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(lc, "Config"), "max-file")), "3");
	ck_assert_str_eq(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(b, "HostConfig"), "StorageOpt"), "size")),
	    "21474836480");
	json_decref(b);
	config_free(&c2);
}
END_TEST

Suite *
spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("build");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_and_image);
	tcase_add_test(tc, security);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, ports_on_configured_address);
	tcase_add_test(tc, mounts);
	tcase_add_test(tc, user_mounts_as_given);
	tcase_add_test(tc, no_user_mounts);
	tcase_add_test(tc, home_targets_in_the_staged_home);
	tcase_add_test(tc, labels_and_env);
	tcase_add_test(tc, gpus_nvidia_mode);
	tcase_add_test(tc, gpus_cdi_mode);
	tcase_add_test(tc, swarm_service);
	tcase_add_test(tc, no_gpus_means_void);
	tcase_add_test(tc, log_limits_and_disk);
	suite_add_tcase(s, tc);
	return s;
}
