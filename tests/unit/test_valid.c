/* Start-request validation: every bad input is refused with a message that names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "unit.h"
#include "valid.h"
#include "wsfs.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1M2Nk578yN2BF4rcTb6Tdga/jU5RHrD/7n3fZDekpP t@x"

static struct config cfg;

static void
setup(void)
{
	char err[256];

	config_defaults(&cfg);
	ck_assert_msg(config_parse_buffer(&cfg, "t",
	                                  "mount_roots = /data/users, /scratch\n"
	                                  "shared_mount_roots = /datasets\n"
	                                  "mount_points = /data, /mnt\n"
	                                  "[template offline]\nimage = wslab/offline:1\n"
	                                  "memory = 2g\nmemory_max = 8g\nshm = 256m\nshm_max = 1g\n"
	                                  "cpus = 1\ncpus_max = 4\n"
	                                  "[template big]\nimage = wslab/big:1\n",
	                                  err, sizeof(err)) == 0,
	              "%s", err);
}

static void
teardown(void)
{
	config_free(&cfg);
}

static int
check(const char *body, struct start_req *req, struct api_error *err)
{
	memset(err, 0, sizeof(*err));
	return valid_start_request(&cfg, 8, body, strlen(body), req, err);
}

/*
 * The most keys validation accepts, each as long as it may be, are
 * accepted and written whole into authorized_keys: nothing the request
 * passed can be refused later, after the home was made.
 */
START_TEST(max_keys_fit_authorized_keys)
{
	static const char prefix[] =
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1M2Nk578yN2BF4rcTb6Tdga/"
	    "jU5RHrD/7n3fZDekpP ";
	size_t keylen = WS_KEY_LEN_MAX, blen = WS_KEYS_MAX * (keylen + 3) + 64, off = 0;
	char *key = malloc(keylen + 1), *body = malloc(blen), *text;
	struct start_req req;
	struct api_error err;

	memcpy(key, prefix, sizeof(prefix) - 1);
	memset(key + sizeof(prefix) - 1, 'c', keylen - (sizeof(prefix) - 1));
	key[keylen] = '\0';
	off += (size_t)snprintf(body + off, blen - off, "{\"ssh_keys\":[");
	for (int i = 0; i < WS_KEYS_MAX; i++)
		off += (size_t)snprintf(body + off, blen - off, "%s\"%s\"", i ? "," : "", key);
	snprintf(body + off, blen - off, "]}");
	ck_assert_int_eq(check(body, &req, &err), 0);
	ck_assert_uint_eq(req.nkeys, WS_KEYS_MAX);
	text = wsfs_authorized_keys(req.ssh_keys, req.nkeys);
	ck_assert_uint_eq(strlen(text), WS_KEYS_MAX * (keylen + 1));
	for (int i = 0; i < WS_KEYS_MAX; i++) {
		ck_assert(strncmp(text + (size_t)i * (keylen + 1), key, keylen) == 0);
		ck_assert_int_eq(text[(size_t)i * (keylen + 1) + keylen], '\n');
	}
	free(text);
	start_req_free(&req);
	/* One byte more is refused by validation itself. */
	key = realloc(key, keylen + 2);
	key[keylen] = 'c';
	key[keylen + 1] = '\0';
	snprintf(body, blen, "{\"ssh_keys\":[\"%s\"]}", key);
	ck_assert_int_eq(check(body, &req, &err), -1);
	ck_assert_int_eq(err.status, 400);
	free(key);
	free(body);
}
END_TEST

START_TEST(minimal_uses_defaults)
{
	struct start_req req;
	struct api_error err;

	ck_assert_int_eq(check("{\"ssh_keys\":[\"" KEY "\"]}", &req, &err), 0);
	ck_assert_str_eq(req.tmpl->name, "offline");
	ck_assert_str_eq(req.name, "");
	ck_assert_int_eq(req.memory, INT64_C(2) << 30);
	ck_assert_int_eq(req.shm, INT64_C(256) << 20);
	ck_assert_double_eq(req.cpus, 1);
	ck_assert_int_eq(req.nkeys, 1);
	ck_assert_str_eq(req.ssh_keys[0], KEY);
	start_req_free(&req);
}
END_TEST

START_TEST(full_request)
{
	struct start_req req;
	struct api_error err;

	ck_assert_int_eq(check("{\"name\":\"exp-1.a_b\",\"template\":\"offline\",\"memory\":\"4g\","
	                       "\"shm\":536870912,\"cpus\":2.5,\"ssh_keys\":[\"" KEY "\",\"" KEY
	                       "\"]}",
	                       &req, &err),
	                 0);
	ck_assert_str_eq(req.name, "exp-1.a_b");
	ck_assert_int_eq(req.memory, INT64_C(4) << 30);
	ck_assert_int_eq(req.shm, INT64_C(512) << 20);
	ck_assert_double_eq(req.cpus, 2.5);
	ck_assert_int_eq(req.nkeys, 2);
	start_req_free(&req);
}
END_TEST

/* Each bad body with the error code and a word its message must contain. */
static const struct {
	const char *body;
	const char *code;
	const char *needle;
} bad[] = {
    {"", "invalid_json", "not valid JSON"},
    {"{", "invalid_json", "not valid JSON"},
    {"[]", "invalid_json", "object"},
    {"\"x\"", "invalid_json", "JSON"},
    {"{\"ssh_keys\":[\"" KEY "\"],\"ssh_keys\":[]}", "invalid_json", "duplicate"},
    {"{\"Privileged\":true,\"ssh_keys\":[\"" KEY "\"]}", "unknown_field", "Privileged"},
    {"{\"HostConfig\":{},\"ssh_keys\":[\"" KEY "\"]}", "unknown_field", "HostConfig"},
    {"{\"image\":\"alpine\",\"ssh_keys\":[\"" KEY "\"]}", "unknown_field", "image"},
    {"{\"memory\":\"-1g\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "memory"},
    {"{\"memory\":\"99999999t\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "memory"},
    {"{\"memory\":\"abc\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "not a size"},
    {"{\"memory\":\"16g\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "out of range"},
    {"{\"memory\":\"1m\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "out of range"},
    {"{\"memory\":-5,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "memory"},
    {"{\"memory\":true,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "memory"},
    {"{\"shm\":\"2g\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "shm"},
    {"{\"memory\":\"512m\",\"shm\":\"1g\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value",
     "larger than memory"},
    {"{\"cpus\":0,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "cpus"},
    {"{\"cpus\":-1,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "cpus"},
    {"{\"cpus\":5,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "out of range"},
    {"{\"cpus\":1e308,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "cpus"},
    {"{\"cpus\":\"2\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "cpus"},
    {"{\"name\":\"Bad Name\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"name\":\"a\\r\\nX-Evil: 1\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"name\":\"../etc\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"name\":\"\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"name\":\"-x\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value",
     "name"},
    {"{\"name\":\"a\\u0000b\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_json", "not valid JSON"},
    {"{\"name\":7,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "name"},
    {"{\"template\":\"nope\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "no template"},
    {"{\"template\":[],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "template"},
    {"{}", "missing_field", "ssh_keys"},
    {"{\"ssh_keys\":[]}", "invalid_value", "ssh_keys"},
    {"{\"ssh_keys\":\"" KEY "\"}", "invalid_value", "ssh_keys"},
    {"{\"ssh_keys\":[\"not a key\"]}", "invalid_value", "ssh_keys[0]"},
    {"{\"ssh_keys\":[\"" KEY "\\ncommand=\\\"x\\\" " KEY "\"]}", "invalid_value", "ssh_keys[0]"},
    {"{\"ssh_keys\":[7]}", "invalid_value", "ssh_keys[0]"},
    {"{\"name\":\"\xff\xfe\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_json", "not valid JSON"},
    {"{\"gpus\":-1,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpus"},
    {"{\"gpus\":65,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpus"},
    {"{\"gpus\":1.5,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpus"},
    {"{\"gpus\":\"2\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpus"},
    {"{\"gpus\":0,\"gpu_ids\":[\"1\"],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value",
     "does not match"},
    {"{\"gpu_ids\":[\"1\",\"1\"],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "named twice"},
    {"{\"gpu_ids\":[],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpu_ids"},
    {"{\"gpu_ids\":[\"GPU-a;rm\"],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpu_ids[0]"},
    {"{\"gpu_ids\":\"0\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "gpu_ids"},
    {"{\"queue\":true,\"wait\":true,\"gpus\":1,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value",
     "choose one"},
    {"{\"queue\":1,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "queue: must be true or false"},
    {"{\"wait\":\"yes\",\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "wait: must be"},
    {"{\"wait\":null,\"ssh_keys\":[\"" KEY "\"]}", "invalid_value", "wait: must be"},
    {"{\"queue\":true,\"gpu_ids\":[\"0\"],\"ssh_keys\":[\"" KEY "\"]}", "invalid_value",
     "a queued start asks for a number"},
    {"{\"Queue\":true,\"ssh_keys\":[\"" KEY "\"]}", "unknown_field", "Queue"},
};

/* queue and wait: booleans, one or none; false is the same as absent. */
START_TEST(queue_and_wait)
{
	struct start_req req;
	struct api_error err;

	ck_assert_int_eq(
	    check("{\"gpus\":2,\"queue\":true,\"ssh_keys\":[\"" KEY "\"]}", &req, &err), 0);
	ck_assert_int_eq(req.queue, 1);
	ck_assert_int_eq(req.wait, 0);
	start_req_free(&req);
	ck_assert_int_eq(check("{\"gpus\":1,\"wait\":true,\"ssh_keys\":[\"" KEY "\"]}", &req, &err),
	                 0);
	ck_assert_int_eq(req.queue, 0);
	ck_assert_int_eq(req.wait, 1);
	start_req_free(&req);
	ck_assert_int_eq(
	    check("{\"queue\":false,\"wait\":true,\"ssh_keys\":[\"" KEY "\"]}", &req, &err), 0);
	ck_assert_int_eq(req.wait, 1);
	start_req_free(&req);
	ck_assert_int_eq(check("{\"ssh_keys\":[\"" KEY "\"]}", &req, &err), 0);
	ck_assert_int_eq(req.queue + req.wait, 0);
	start_req_free(&req);
}
END_TEST

START_TEST(refused)
{
	struct start_req req;
	struct api_error err;

	ck_assert_int_eq(check(bad[_i].body, &req, &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_msg(strcmp(err.code, bad[_i].code) == 0, "%s: code %s, want %s", bad[_i].body,
	              err.code, bad[_i].code);
	ck_assert_msg(strstr(err.message, bad[_i].needle) != NULL,
	              "%s: message \"%s\" lacks \"%s\"", bad[_i].body, err.message, bad[_i].needle);
	ck_assert_int_eq(req.nkeys, 0);
}
END_TEST

START_TEST(too_many_keys)
{
	char body[4096];
	size_t off = 0;
	struct start_req req;
	struct api_error err;

	off += (size_t)snprintf(body + off, sizeof(body) - off, "{\"ssh_keys\":[");
	for (int i = 0; i < WS_KEYS_MAX + 1; i++)
		off +=
		    (size_t)snprintf(body + off, sizeof(body) - off, "%s\"%s\"", i ? "," : "", KEY);
	snprintf(body + off, sizeof(body) - off, "]}");
	ck_assert_int_eq(check(body, &req, &err), -1);
	ck_assert_str_eq(err.code, "invalid_value");
}
END_TEST

START_TEST(deep_nesting)
{
	char body[8192];
	size_t n = 0;
	struct start_req req;
	struct api_error err;

	for (int i = 0; i < 3000; i++)
		body[n++] = '[';
	body[n] = '\0';
	ck_assert_int_eq(check(body, &req, &err), -1);
	ck_assert_str_eq(err.code, "invalid_json");
}
END_TEST

/* Every error reply has this body; a message that is not UTF-8 gets none. */
START_TEST(error_body)
{
	json_t *o = api_error_json("invalid_value", "name: \"x\" is not a name");
	char *text;

	ck_assert_ptr_nonnull(o);
	text = json_dumps(o, JSON_COMPACT);
	ck_assert_str_eq(text, "{\"error\":{\"code\":\"invalid_value\",\"message\":\"name: "
	                       "\\\"x\\\" is not a name\"}}");
	free(text);
	json_decref(o);
	ck_assert_ptr_null(api_error_json("bad", "\xff"));
}
END_TEST

START_TEST(names)
{
	ck_assert(valid_ws_name("ws1"));
	ck_assert(valid_ws_name("a"));
	ck_assert(valid_ws_name("0.b-c_d"));
	ck_assert(!valid_ws_name(""));
	ck_assert(!valid_ws_name("A"));
	ck_assert(!valid_ws_name(".x"));
	ck_assert(!valid_ws_name("a/b"));
	ck_assert(!valid_ws_name("a b"));
	ck_assert(!valid_ws_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

#define M(x) "{\"ssh_keys\":[\"" KEY "\"],\"mounts\":[" x "]}"

START_TEST(mounts_accepted)
{
	struct start_req req;
	struct api_error err;

	ck_assert_msg(
	    check(M("{\"source\":\"/data/users/alice/proj\",\"target\":\"/home/alice/proj\"},"
	            "{\"source\":\"/datasets/imagenet\",\"target\":\"/data/imagenet\","
	            "\"read_only\":true},"
	            "{\"source\":\"/scratch/alice/a..b\",\"target\":\"/mnt\","
	            "\"read_only\":false}"),
	          &req, &err) == 0,
	    "%s", err.message);
	ck_assert_int_eq(req.nmounts, 3);
	ck_assert_str_eq(req.mounts[0].source, "/data/users/alice/proj");
	ck_assert_str_eq(req.mounts[0].target, "/home/alice/proj");
	ck_assert(!req.mounts[0].read_only);
	ck_assert(req.mounts[1].read_only);
	ck_assert_str_eq(req.mounts[2].source, "/scratch/alice/a..b");
	ck_assert(!req.mounts[2].read_only);
	start_req_free(&req);
	ck_assert_int_eq(req.nmounts, 0);
	/* No mounts at all, or an empty list, is the usual case. */
	ck_assert_int_eq(check(M(""), &req, &err), 0);
	ck_assert_int_eq(req.nmounts, 0);
	start_req_free(&req);
}
END_TEST

/* Each bad mount with its status, code and a word of the message. */
static const struct {
	const char *body;
	int status;
	const char *code;
	const char *needle;
} bad_mounts[] = {
    {M("\"x\""), 400, "invalid_value", "mounts[0]: must be an object"},
    {"{\"ssh_keys\":[\"" KEY "\"],\"mounts\":{}}", 400, "invalid_value", "mounts: must be a list"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\",\"propagation\":\"shared\"}"), 400,
     "unknown_field", "propagation"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\",\"Type\":\"volume\"}"), 400,
     "unknown_field", "mounts[0]: unknown field"},
    {M("{\"target\":\"/mnt/a\"}"), 400, "missing_field", "mounts[0].source"},
    {M("{\"source\":\"/data/users/a\"}"), 400, "missing_field", "mounts[0].target"},
    {M("{\"source\":7,\"target\":\"/mnt/a\"}"), 400, "invalid_value", "must be a string"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\",\"read_only\":\"yes\"}"), 400,
     "invalid_value", "read_only"},
    {M("{\"source\":\"/data/users/a/../../../etc\",\"target\":\"/mnt/a\"}"), 400, "invalid_value",
     "\"..\" is not allowed"},
    {M("{\"source\":\"/data/users/..\",\"target\":\"/mnt/a\"}"), 400, "invalid_value", "\"..\""},
    {M("{\"source\":\"/data/users/a/.\",\"target\":\"/mnt/a\"}"), 400, "invalid_value", "\".\""},
    {M("{\"source\":\"data/users/a\",\"target\":\"/mnt/a\"}"), 400, "invalid_value", "absolute"},
    {M("{\"source\":\"\",\"target\":\"/mnt/a\"}"), 400, "invalid_value", "non-empty"},
    {M("{\"source\":\"/data//users/a\",\"target\":\"/mnt/a\"}"), 400, "invalid_value", "//"},
    {M("{\"source\":\"/data/users/a/\",\"target\":\"/mnt/a\"}"), 400, "invalid_value",
     "end with /"},
    {M("{\"source\":\"/data/users/a\\r\\nb\",\"target\":\"/mnt/a\"}"), 400, "invalid_value",
     "control characters"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\\tb\"}"), 400, "invalid_value",
     "mounts[0].target: control"},
    {M("{\"source\":\"/data/users/a\\u0000b\",\"target\":\"/mnt/a\"}"), 400, "invalid_json",
     "not valid JSON"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"mnt/a\"}"), 400, "invalid_value",
     "mounts[0].target: must be an absolute"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/home/alice/../../etc\"}"), 400, "invalid_value",
     "\"..\""},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\"},"
       "{\"source\":\"/data/users/b\",\"target\":\"/mnt/a\"}"),
     400, "invalid_value", "already the target of mounts[0]"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\"},"
       "{\"source\":\"/data/users/b\",\"target\":\"/mnt/a/b\"}"),
     400, "invalid_value", "nested"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/home/u/x/y\"},"
       "{\"source\":\"/data/users/b\",\"target\":\"/home/u/x\"}"),
     400, "invalid_value", "nested"},
    {M("{\"source\":\"/etc\",\"target\":\"/mnt/a\"}"), 403, "forbidden",
     "outside the allowed mount roots"},
    {M("{\"source\":\"/var/run/docker.sock\",\"target\":\"/mnt/a\"}"), 403, "forbidden",
     "outside the allowed mount roots"},
    {M("{\"source\":\"/data/usersX/a\",\"target\":\"/mnt/a\"}"), 403, "forbidden", "outside"},
    {M("{\"source\":\"/\",\"target\":\"/mnt/a\"}"), 403, "forbidden", "outside"},
    {M("{\"source\":\"/datasets/x\",\"target\":\"/mnt/a\"}"), 403, "forbidden", "read-only"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/etc\"}"), 403, "forbidden", "wsd's own mounts"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/etc/passwd\"}"), 403, "forbidden",
     "wsd's own mounts"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/etc/wslab/x\"}"), 403, "forbidden",
     "wsd's own mounts"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/usr/bin\"}"), 403, "forbidden",
     "neither inside your home"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/\"}"), 403, "forbidden", "collides"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/mntx\"}"), 403, "forbidden", "neither"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/home\"}"), 403, "forbidden", "/home itself"},
    {M("{\"source\":\"/data/users/a\",\"target\":\"/home/alice\"}"), 403, "forbidden",
     "the home itself"},
};

START_TEST(mounts_refused)
{
	struct start_req req;
	struct api_error err;

	ck_assert_int_eq(check(bad_mounts[_i].body, &req, &err), -1);
	ck_assert_msg(err.status == bad_mounts[_i].status, "%s: status %d", bad_mounts[_i].body,
	              err.status);
	ck_assert_msg(strcmp(err.code, bad_mounts[_i].code) == 0, "%s: code %s, want %s",
	              bad_mounts[_i].body, err.code, bad_mounts[_i].code);
	ck_assert_msg(strstr(err.message, bad_mounts[_i].needle) != NULL,
	              "%s: message \"%s\" lacks \"%s\"", bad_mounts[_i].body, err.message,
	              bad_mounts[_i].needle);
	ck_assert_int_eq(req.nkeys, 0);
	ck_assert_int_eq(req.nmounts, 0);
}
END_TEST

/* Swarm mode: a node binds by path, so read-only, from a shared root, at a mount point. */
START_TEST(mounts_swarm_mode)
{
	struct start_req req;
	struct api_error err;
	char swarm[] = "swarm", *mode = cfg.engine_mode;

	cfg.engine_mode = swarm;
	ck_assert_int_eq(
	    check(M("{\"source\":\"/scratch/alice/a\",\"target\":\"/mnt\"}"), &req, &err), -1);
	ck_assert_int_eq(err.status, 403);
	ck_assert_ptr_nonnull(strstr(err.message, "only read-only mounts"));
	ck_assert_int_eq(req.nmounts, 0);
	ck_assert_int_eq(check(M("{\"source\":\"/datasets/x\",\"target\":\"/home/alice/x\","
	                         "\"read_only\":true}"),
	                       &req, &err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err.message, "not in your home"));
	ck_assert_msg(check(M("{\"source\":\"/datasets/x\",\"target\":\"/data/x\","
	                      "\"read_only\":true}"),
	                    &req, &err) == 0,
	              "%s", err.message);
	start_req_free(&req);
	cfg.engine_mode = mode;
}
END_TEST

START_TEST(too_many_mounts)
{
	char body[4096];
	size_t off = 0;
	struct start_req req;
	struct api_error err;

	off += (size_t)snprintf(body + off, sizeof(body) - off,
	                        "{\"ssh_keys\":[\"" KEY "\"],\"mounts\":[");
	for (int i = 0; i < WS_MOUNTS_MAX + 1; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		                        "%s{\"source\":\"/scratch/a/%d\",\"target\":\"/mnt/%d\"}",
		                        i ? "," : "", i, i);
	snprintf(body + off, sizeof(body) - off, "]}");
	ck_assert_int_eq(check(body, &req, &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_ptr_nonnull(strstr(err.message, "at most 8"));
}
END_TEST

/* With no roots configured the feature is off, and says so. */
START_TEST(mounts_off_by_default)
{
	struct config def;
	struct start_req req;
	struct api_error err;
	const char *body = M("{\"source\":\"/data/users/a\",\"target\":\"/mnt/a\"}");
	char e[256];

	config_defaults(&def);
	ck_assert_int_eq(config_parse_buffer(&def, "empty", "", e, sizeof(e)), 0);
	ck_assert_int_eq(valid_start_request(&def, 8, body, strlen(body), &req, &err), -1);
	ck_assert_int_eq(err.status, 403);
	ck_assert_ptr_nonnull(strstr(err.message, "no mount roots are configured"));
	config_free(&def);
}
END_TEST

/* The target once the user is known (on the pool, in wsfs.c). */
START_TEST(targets_for_a_user)
{
	char why[WS_PATH_MAX + 128];

	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/alice/p", "alice", why, sizeof(why)), 0);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/alice/a/b", "alice", why, sizeof(why)), 0);
	ck_assert_int_eq(valid_mount_target(cfg.mount_points, "/data/x", "alice", why, sizeof(why)),
	                 0);
	ck_assert_int_eq(valid_mount_target(cfg.mount_points, "/data", "alice", why, sizeof(why)),
	                 0);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/bob/p", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/bob/p", "alice", why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not inside your home /home/alice"));
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/alicex/p", "alice", why, sizeof(why)), -1);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/ali/p", "alice", why, sizeof(why)), -1);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/home/alice", "alice", why, sizeof(why)), -1);
	ck_assert_int_eq(
	    valid_mount_target(cfg.mount_points, "/etc/group", "alice", why, sizeof(why)), -1);
}
END_TEST

/* The config's mount keys are lists of clean absolute paths. */
START_TEST(config_mount_keys)
{
	static const struct {
		const char *text;
		const char *needle;
	} badc[] = {
	    {"mount_roots = relative\n", "mount_roots"},
	    {"mount_roots = /\n", "mount_roots"},
	    {"mount_roots = /a/../etc\n", "mount_roots"},
	    {"shared_mount_roots = /a,,/b\n", "shared_mount_roots"},
	    {"mount_points = /etc\n", "mount_points"},
	    {"mount_points = /home\n", "mount_points"},
	};
	struct config c;
	char err[512];

	for (size_t i = 0; i < sizeof(badc) / sizeof(badc[0]); i++) {
		config_defaults(&c);
		ck_assert_int_eq(
		    config_parse_buffer(&c, "wsd.conf", badc[i].text, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, badc[i].needle) != NULL, "%s", err);
		config_free(&c);
	}
	config_defaults(&c);
	ck_assert_msg(config_parse_buffer(&c, "wsd.conf",
	                                  "mount_roots = /srv/users\nmount_points = /data\n", err,
	                                  sizeof(err)) == 0,
	              "%s", err);
	ck_assert_str_eq(c.mount_roots, "/srv/users");
	ck_assert_str_eq(c.shared_mount_roots, "");
	config_free(&c);
}
END_TEST

Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("start");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_uses_defaults);
	tcase_add_test(tc, max_keys_fit_authorized_keys);
	tcase_add_test(tc, full_request);
	tcase_add_loop_test(tc, refused, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, too_many_keys);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, names);
	tcase_add_test(tc, error_body);
	tcase_add_test(tc, mounts_accepted);
	tcase_add_loop_test(tc, mounts_refused, 0,
	                    (int)(sizeof(bad_mounts) / sizeof(bad_mounts[0])));
	tcase_add_test(tc, too_many_mounts);
	tcase_add_test(tc, mounts_swarm_mode);
	tcase_add_test(tc, mounts_off_by_default);
	tcase_add_test(tc, queue_and_wait);
	tcase_add_test(tc, targets_for_a_user);
	tcase_add_test(tc, config_mount_keys);
	suite_add_tcase(s, tc);
	return s;
}
