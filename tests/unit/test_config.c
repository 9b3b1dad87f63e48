/* The config parser: defaults, each keyword type, and errors that name the line. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "unit.h"

START_TEST(defaults_offer_offline)
{
	struct config cfg;
	char err[256];

	config_defaults(&cfg);
	ck_assert_int_eq(config_parse_buffer(&cfg, "empty", "", err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.socket, "/run/wslab/wsd.sock");
	ck_assert_str_eq(cfg.engine, "unix:///var/run/docker.sock");
	ck_assert_str_eq(cfg.publish_address, "127.0.0.1");
	ck_assert_int_eq(cfg.ntemplates, 1);
	ck_assert_str_eq(cfg.templates[0]->name, "offline");
	ck_assert_str_eq(cfg.templates[0]->image, "wslab/offline:1");
	config_free(&cfg);
}
END_TEST

START_TEST(values)
{
	struct config cfg;
	char err[256];
	const struct template *t;

	config_defaults(&cfg);
	ck_assert_msg(
	    config_parse_buffer(&cfg, "f",
	                        "# comment\n"
	                        "  socket = /tmp/x.sock   \n"
	                        "ready_timeout = 2m\n"
	                        "port_min = 30000\nport_max = 30010\n"
	                        "default_template = gpu\n"
	                        "[template gpu]\n"
	                        "image = pytorch-cuda:2.9\n"
	                        "memory = 32g\nmemory_max=64g\ncpus = 8\nurl_path = /lab\n",
	                        err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(cfg.socket, "/tmp/x.sock");
	ck_assert_int_eq(cfg.ready_timeout, 120);
	ck_assert_int_eq(cfg.port_min, 30000);
	t = config_template(&cfg, "gpu");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->memory, INT64_C(32) << 30);
	ck_assert_double_eq(t->cpus, 8);
	ck_assert_str_eq(t->url_path, "/lab");
	ck_assert_ptr_null(config_template(&cfg, "offline"));
	config_free(&cfg);
}
END_TEST

static const struct {
	const char *text;
	const char *needle;
} bad[] = {
    {"nonsense = 1\n", "line 1: unknown keyword \"nonsense\""},
    {"\n\nport_min = abc\n", "line 3: port_min"},
    {"port_min = 80\n", "out of range"},
    {"ready_timeout = forever\n", "not a duration"},
    {"[template x]\nimage = a\nmemory = lots\n", "line 3: memory"},
    {"[template x]\nimage = a\ncpus = -1\n", "cpus"},
    {"[template x]\nimage = a\nsocket = /x\n", "unknown keyword \"socket\" in a template"},
    {"[templat x]\n", "expected [template NAME]"},
    {"[template a/b]\n", "bad template name"},
    {"[template x]\nimage = a\n[template x]\n", "declared twice"},
    {"[template x]\n", "image is required"},
    {"just words\n", "expected key = value"},
    {"default_template = nope\n", "no template named \"nope\""},
    {"port_min = 30000\nport_max = 29000\n", "port_min..port_max"},
    {"state_dir = relative\n", "absolute"},
    {"log_level = loud\n", "log_level"},
    {"instance = Bad_Name\n", "instance"},
    {"network = \n", "network"},
    {"network = host/../x\n", "network"},
    {"min_booting = 9\nmax_booting = 4\n", "min_booting 9 is above max_booting 4"},
    {"\nmetrics_listen = 9464\n", "line 2: metrics_listen: \"9464\" is not ADDRESS:PORT"},
    {"metrics_listen = localhost:9464\n", "line 1: metrics_listen"},
    {"metrics_listen = 127.0.0.1:0\n",
     "line 1: metrics_listen: \"127.0.0.1:0\": the port must be 1 to 65535"},
    {"metrics_listen = 127.0.0.1:65536\n", "the port must be 1 to 65535"},
    {"metrics_listen = 127.0.0.1:\n", "the port must be"},
    {"metrics_listen = 127.0.0.1:9x\n", "the port must be"},
    {"metrics_listen = ::1:9464\n", "is not ADDRESS:PORT"},
    {"metrics_listen = [::1:9464\n", "is not ADDRESS:PORT"},
    {"metrics_listen = []:9464\n", "is not ADDRESS:PORT"},
    {"metrics_listen = 300.1.1.1:9464\n", "is not ADDRESS:PORT"},
    {"max_booting = -2\n", "max_booting"},
    {"[template x]\nimage = a\nlog_max_files = 0\n", "log_max_files"},
    {"[template x]\nimage = a\nlog_max_size = 1k\n", "log_max_size"},
    {"engine_timeout = 0s\n", "out of range"},
    {"[template x]\nimage = a\nmemory = 8g\nmemory_max = 4g\n", "above its maximum"},
    {"\nssh_jump_host = alice@lab01\n", "line 2: ssh_jump_host: \"alice@lab01\": give host[:port]"},
    {"ssh_jump_host = lab01:0\n",
     "line 1: ssh_jump_host: \"lab01:0\": the port must be 1 to 65535"},
    {"ssh_jump_host = lab01:65536\n", "the port must be 1 to 65535"},
    {"ssh_jump_host = lab01:22x\n", "the port must be 1 to 65535"},
    {"ssh_jump_host = lab01:\n", "the port must be 1 to 65535"},
    {"ssh_jump_host = lab01:+22\n", "the port must be 1 to 65535"},
    {"ssh_jump_host = -oProxyCommand=x\n",
     "line 1: ssh_jump_host: \"-oProxyCommand=x\" is not host[:port]"},
    {"ssh_jump_host = lab01 lab02\n", "is not host[:port]"},
    {"ssh_jump_host = lab01,lab02\n", "is not host[:port]"},
    {"ssh_jump_host = ::1\n", "an IPv6 address goes in brackets"},
    {"ssh_jump_host = [::1\n", "is not host[:port]"},
    {"ssh_jump_host = []:22\n", "is not host[:port]"},
    {"ssh_jump_host = [::1]x\n", "is not host[:port]"},
    {"ssh_jump_host = :22\n", "is not host[:port]"},
};

/* Jump hosts that ProxyJump takes as they are. */
static const char *const jump_ok[] = {
    "",         "lab01",     "lab01.example.edu", "lab01.example.edu:2222", "10.0.0.5:22",
    "[::1]:22", "[fe80::1]",
};

START_TEST(jump_host_accepted)
{
	struct config cfg;
	char err[256] = "", text[128];

	config_defaults(&cfg);
	snprintf(text, sizeof(text), "ssh_jump_host = %s\n", jump_ok[_i]);
	ck_assert_msg(config_parse_buffer(&cfg, "wsd.conf", text, err, sizeof(err)) == 0, "%s: %s",
	              jump_ok[_i], err);
	ck_assert_str_eq(cfg.ssh_jump_host, jump_ok[_i]);
	config_free(&cfg);
}
END_TEST

START_TEST(refused)
{
	struct config cfg;
	char err[256] = "";

	config_defaults(&cfg);
	ck_assert_int_eq(config_parse_buffer(&cfg, "wsd.conf", bad[_i].text, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad[_i].needle) != NULL, "error \"%s\" lacks \"%s\"", err,
	              bad[_i].needle);
	ck_assert_msg(strncmp(err, "wsd.conf", 8) == 0, "error \"%s\" does not name the file", err);
	config_free(&cfg);
}
END_TEST

START_TEST(metrics_listen)
{
	struct config cfg;
	char err[256], host[64], why[256];
	int port = 0;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.metrics_listen, ""); /* off by default */
	ck_assert_int_eq(
	    config_parse_buffer(&cfg, "f", "metrics_listen = 127.0.0.1:9464\n", err, sizeof(err)),
	    0);
	ck_assert_str_eq(cfg.metrics_listen, "127.0.0.1:9464");
	config_free(&cfg);
	ck_assert_int_eq(
	    config_listen_parse("127.0.0.1:9464", host, sizeof(host), &port, why, sizeof(why)), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 9464);
	ck_assert_int_eq(
	    config_listen_parse("[::1]:1", host, sizeof(host), &port, why, sizeof(why)), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 1);
	ck_assert_int_eq(
	    config_listen_parse("0.0.0.0:65535", host, sizeof(host), &port, why, sizeof(why)), 0);
	ck_assert_int_eq(port, 65535);
	ck_assert_int_eq(
	    config_listen_parse("1.2.3.4:099999", host, sizeof(host), &port, why, sizeof(why)), -1);
	ck_assert_int_eq(config_listen_parse("[::1]:9464", host, 3, &port, why, sizeof(why)), -1);
}
END_TEST

START_TEST(missing_file)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(config_load(&cfg, "/nonexistent/wsd.conf", 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	config_free(&cfg);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/wsd.conf", 0, err, sizeof(err)), 0);
	config_free(&cfg);
}
END_TEST

/* config/wsd.conf documents the defaults: loading it changes none of them. */
/* The documented example sets every key to its default: a reload from one to the other changes
 * nothing. */
START_TEST(example_file_matches_defaults)
{
	struct config def, ex;
	struct config_reload r;
	char err[256];

	ck_assert_int_eq(config_load(&def, "/nonexistent", 0, err, sizeof(err)), 0);
	ck_assert_msg(config_load(&ex, WSLAB_SOURCE_DIR "/config/wsd.conf", 1, err, sizeof(err)) ==
	                  0,
	              "%s", err);
	ck_assert_int_eq(ex.ntemplates, 1);
	ck_assert_str_eq(ex.templates[0]->image, def.templates[0]->image);
	ck_assert_int_eq(ex.templates[0]->memory, def.templates[0]->memory);
	ck_assert_int_eq(ex.templates[0]->shm, def.templates[0]->shm);
	config_reload_apply(&def, &ex, &r);
	ck_assert_msg(r.changed[0] == '\0' && r.kept[0] == '\0',
	              "config/wsd.conf differs from the defaults in: %s%s%s", r.changed,
	              r.changed[0] && r.kept[0] ? ", " : "", r.kept);
	config_free(&def);
	config_free(&ex);
}
END_TEST

static void
load(struct config *cfg, const char *text)
{
	char err[256];

	config_defaults(cfg);
	ck_assert_msg(config_parse_buffer(cfg, "f", text, err, sizeof(err)) == 0, "%s", err);
}

/* A reload: what may change does, restart-only keys keep value and pointer. */
START_TEST(reload_applies_and_keeps)
{
	struct config live, next;
	struct config_reload r;
	const char *addr;

	load(&live, "publish_address = 10.0.0.1\nport_min = 21000\nready_timeout = 1m\n"
	            "admin_group = staff\n");
	addr = live.publish_address;
	load(&next, "publish_address = 10.0.0.2\nport_min = 22000\nready_timeout = 2m\n"
	            "admin_group = staff\nquota_gpus = 3\n");
	config_reload_apply(&live, &next, &r);
	ck_assert_int_eq(live.ready_timeout, 120);
	ck_assert_int_eq(live.quota_gpus, 3);
	ck_assert_str_eq(live.publish_address, "10.0.0.1");
	ck_assert_ptr_eq(live.publish_address, addr);
	ck_assert_int_eq(live.port_min, 21000);
	ck_assert_str_eq(r.changed, "ready_timeout, quota_gpus");
	ck_assert_str_eq(r.kept, "publish_address, port_min");
	/* next holds what live had, and frees it. */
	ck_assert_str_eq(next.publish_address, "10.0.0.2");
	config_free(&next);
	ck_assert_str_eq(live.admin_group, "staff");
	config_free(&live);
}
END_TEST

/*
 * Templates: a workspace's reference outlives a reload that changes or
 * drops its template; a kept name keeps its seq, a new name gets a new one.
 */
START_TEST(reload_templates)
{
	struct config live, next;
	struct config_reload r;
	const struct template *held;
	int seq_a, seq_b;

	load(&live, "default_template = a\n[template a]\nimage = i:1\n[template b]\nimage = i:2\n");
	held = config_template_ref(config_template(&live, "a"));
	seq_a = held->seq;
	seq_b = config_template(&live, "b")->seq;
	ck_assert_int_ne(seq_a, seq_b);
	load(&next, "default_template = b\n[template c]\nimage = i:3\n[template b]\nimage = i:2\n"
	            "memory = 8g\n");
	config_reload_apply(&live, &next, &r);
	config_free(&next);
	ck_assert_int_eq(r.templates_added, 1);
	ck_assert_int_eq(r.templates_removed, 1);
	ck_assert_int_eq(r.templates_changed, 1);
	ck_assert_ptr_null(config_template(&live, "a"));
	ck_assert_int_eq(config_template(&live, "b")->seq, seq_b);
	ck_assert_int_eq(config_template(&live, "b")->memory, INT64_C(8) << 30);
	ck_assert_int_gt(config_template(&live, "c")->seq, seq_a > seq_b ? seq_a : seq_b);
	/* The dropped template is still whole for the workspace that holds it. */
	ck_assert_str_eq(held->name, "a");
	ck_assert_str_eq(held->image, "i:1");
	config_template_unref(held);
	ck_assert_str_eq(r.changed, "default_template");
	ck_assert_str_eq(r.kept, "");
	config_free(&live);
}
END_TEST

START_TEST(restart_only_keys)
{
	ck_assert(config_restart_only("socket"));
	ck_assert(config_restart_only("publish_address"));
	ck_assert(!config_restart_only("ready_timeout"));
	ck_assert(!config_restart_only("admin_group"));
	ck_assert(!config_restart_only("mount_roots"));
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults_offer_offline);
	tcase_add_test(tc, values);
	tcase_add_loop_test(tc, refused, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, metrics_listen);
	tcase_add_loop_test(tc, jump_host_accepted, 0, (int)(sizeof(jump_ok) / sizeof(jump_ok[0])));
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, example_file_matches_defaults);
	tcase_add_test(tc, reload_applies_and_keeps);
	tcase_add_test(tc, reload_templates);
	tcase_add_test(tc, restart_only_keys);
	suite_add_tcase(s, tc);
	return s;
}
