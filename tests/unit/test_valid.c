/* Start-request validation: every bad input is refused with a message that names it. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "unit.h"
#include "valid.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1M2Nk578yN2BF4rcTb6Tdga/jU5RHrD/7n3fZDekpP t@x"

static struct config cfg;

static void
setup(void)
{
	char err[256];

	config_defaults(&cfg);
	ck_assert_msg(config_parse_buffer(&cfg, "t",
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
};

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

Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("start");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_uses_defaults);
	tcase_add_test(tc, full_request);
	tcase_add_loop_test(tc, refused, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, too_many_keys);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
