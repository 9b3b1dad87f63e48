/*
 * Swarm mode's node table (nodes.c) and the allocator across nodes: GPUs
 * advertised as generic resources join one inventory at stable positions,
 * a set never spans two nodes, and a node that is down, drained or unfit
 * gives no GPUs.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gpu.h"
#include "node_report.h"
#include "nodes.h"
#include "unit.h"

static struct nodes t;
static struct gpu_inventory inv;

/* A node as GET /nodes describes it, with its GPUs. */
static json_t *
node(const char *id, const char *host, const char *state, const char *avail, const char *addr,
     const char *gpus)
{
	json_t *res = json_array(), *labels = json_object();
	char copy[256], *save = NULL, *tok;

	snprintf(copy, sizeof(copy), "%s", gpus);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(res, json_pack("{s:{s:s, s:s}}", "NamedResourceSpec", "Kind",
		                                     "gpu", "Value", tok));
	if (addr != NULL)
		json_object_set_new(labels, "wslab.address", json_string(addr));
	return json_pack("{s:s, s:{s:s, s:o}, s:{s:s, s:s}, s:{s:s, s:{s:o}, s:{s:s}}}", "ID", id,
	                 "Spec", "Availability", avail, "Labels", labels, "Status", "State", state,
	                 "Addr", "10.0.0.9", "Description", "Hostname", host, "Resources",
	                 "GenericResources", res, "Engine", "EngineVersion", "20.10.24");
}

static void
setup(void)
{
	memset(&t, 0, sizeof(t));
	memset(&inv, 0, sizeof(inv));
}

#define MARK "0123456789abcdef0123456789abcdef"
#define NOW 1700000000.0

/* A fresh, matching wsnode report of node pos: every GPU it advertises, at util%. */
static void
report(int pos, unsigned util, struct node_report *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->node_id, sizeof(r->node_id), "%s", t.n[pos].id);
	r->time = NOW - 1;
	r->interval = 5;
	snprintf(r->shared_marker, sizeof(r->shared_marker), MARK);
	snprintf(r->home_marker, sizeof(r->home_marker), MARK);
	for (size_t g = 0; g < inv.n; g++) {
		struct gpu *d = &r->gpus.gpus[r->gpus.n];

		if (inv.gpus[g].node != pos)
			continue;
		snprintf(d->uuid, sizeof(d->uuid), "%s", inv.gpus[g].uuid);
		snprintf(d->name, sizeof(d->name), "NVIDIA H200");
		d->mem_total = 141ull << 30;
		d->mem_used = 1ull << 30;
		d->util = util;
		r->gpus.n++;
	}
}

static int
read_list(json_t *list)
{
	char err[200];
	int n = nodes_read(&t, &inv, list, err, sizeof(err));

	json_decref(list);
	/* Every node's wsnode reports in order. */
	for (size_t i = 0; i < t.count; i++) {
		struct node_report r;

		report((int)i, 0, &r);
		nodes_agent(&t, &inv, (int)i, &r, NULL, NOW, MARK);
	}
	return n;
}

static int
pick(int count, int *out, struct api_error *err)
{
	struct gpu_request r = {0};

	r.count = count;
	return gpu_pick(&inv, &r, out, err);
}

START_TEST(test_nodes_inventory)
{
	ck_assert_int_eq(
	    read_list(json_pack("[o, o, o]", node("m1", "ctl", "ready", "drain", NULL, ""),
	                        node("w1", "gpu1", "ready", "active", "192.0.2.11", "GPU-a,GPU-b"),
	                        node("w2", "gpu2", "ready", "active", NULL, "GPU-c,bogus"))),
	    3);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_uint_eq(inv.n, 3); /* "bogus" is not a GPU UUID */
	ck_assert_str_eq(t.n[1].addr, "192.0.2.11");
	ck_assert_str_eq(t.n[2].addr, "10.0.0.9"); /* no label: the Swarm's address */
	ck_assert_int_eq(inv.gpus[0].node, 1);
	ck_assert_int_eq(inv.gpus[2].node, 2);
	ck_assert_int_eq(t.n[1].ngpus, 2);
	ck_assert_str_eq(nodes_status(&t.n[0]), "drained");
	ck_assert_int_eq(nodes_usable(&t.n[0]), 0);
	ck_assert_int_eq(nodes_usable(&t.n[1]), 1);
	{
		json_t *notalist = json_object();

		ck_assert_int_eq(nodes_read(&t, &inv, notalist, (char[64]){0}, 64), -1);
		json_decref(notalist);
	}
}
END_TEST

START_TEST(test_nodes_stable_positions)
{
	struct api_error err = {0};
	int out[GPU_MAX];

	read_list(json_pack("[o, o]", node("w1", "gpu1", "ready", "active", NULL, "GPU-a,GPU-b"),
	                    node("w2", "gpu2", "ready", "active", NULL, "GPU-c")));
	gpu_hold(&inv, (int[]){2}, 1, "ws2");
	/* w1 goes down, then a new node joins: nothing moves, w1's GPUs are not free. */
	read_list(json_pack("[o, o, o]", node("w3", "gpu3", "ready", "active", NULL, "GPU-d"),
	                    node("w1", "gpu1", "down", "active", NULL, "GPU-a,GPU-b"),
	                    node("w2", "gpu2", "ready", "active", NULL, "GPU-c")));
	ck_assert_str_eq(t.n[0].id, "w1");
	ck_assert_str_eq(t.n[2].id, "w3");
	ck_assert_str_eq(inv.gpus[2].uuid, "GPU-c");
	ck_assert_str_eq(inv.gpus[2].holder, "ws2");
	ck_assert_str_eq(inv.gpus[3].uuid, "GPU-d");
	ck_assert_str_eq(nodes_status(&t.n[0]), "down");
	ck_assert_int_eq(gpu_free_count(&inv), 1);
	ck_assert_int_eq(pick(1, out, &err), 1);
	ck_assert_int_eq(out[0], 3);
	ck_assert_int_eq(pick(2, out, &err), -1);
	ck_assert_str_eq(err.code, "no_gpus");
	/* A node no longer listed is kept, not usable. */
	read_list(json_pack("[o]", node("w2", "gpu2", "ready", "active", NULL, "GPU-c")));
	ck_assert_uint_eq(t.count, 3);
	ck_assert_str_eq(nodes_status(&t.n[2]), "removed");
	ck_assert_int_eq(gpu_free_count(&inv), 0);
}
END_TEST

START_TEST(test_nodes_set_never_spans)
{
	struct api_error err = {0};
	int out[GPU_MAX];
	struct gpu_request r = {0};

	read_list(json_pack("[o, o]", node("w1", "gpu1", "ready", "active", NULL, "GPU-a"),
	                    node("w2", "gpu2", "ready", "active", NULL, "GPU-b,GPU-c")));
	/* Two GPUs: only w2 has two. */
	ck_assert_int_eq(pick(2, out, &err), 2);
	ck_assert_int_eq(inv.gpus[out[0]].node, 1);
	ck_assert_int_eq(inv.gpus[out[1]].node, 1);
	/* Two free GPUs on two nodes are not a set of two. */
	gpu_hold(&inv, (int[]){2}, 1, "ws1");
	ck_assert_int_eq(gpu_free_count(&inv), 2);
	ck_assert_int_eq(pick(2, out, &err), -1);
	ck_assert_str_eq(err.code, "no_gpus");
	ck_assert_ptr_nonnull(strstr(err.message, "no server has 2 free"));
	/* Named GPUs on two nodes are refused. */
	r.nids = 2;
	snprintf(r.ids[0], sizeof(r.ids[0]), "GPU-a");
	snprintf(r.ids[1], sizeof(r.ids[1]), "GPU-b");
	ck_assert_int_eq(gpu_pick(&inv, &r, out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "different servers"));
}
END_TEST

START_TEST(test_nodes_unfit_and_cpu)
{
	struct api_error err = {0};
	int out[GPU_MAX], load[NODES_MAX] = {0};

	read_list(json_pack("[o, o, o]", node("m1", "ctl", "ready", "drain", NULL, ""),
	                    node("w1", "gpu1", "ready", "active", NULL, "GPU-a"),
	                    node("w2", "gpu2", "ready", "active", NULL, "GPU-b")));
	nodes_set_unfit(&t, &inv, 2, "no no-new-privileges");
	ck_assert_str_eq(nodes_status(&t.n[2]), "unfit");
	ck_assert_int_eq(pick(1, out, &err), 1);
	ck_assert_int_eq(inv.gpus[out[0]].node, 1);
	gpu_hold(&inv, out, 1, "ws1");
	ck_assert_int_eq(pick(1, out, &err), -1);
	/* CPU workspaces: the usable node with the fewest, never the manager or the unfit. */
	load[1] = 5;
	ck_assert_int_eq(nodes_pick_cpu(&t, load), 1);
	nodes_set_unfit(&t, &inv, 2, NULL);
	ck_assert_int_eq(nodes_pick_cpu(&t, load), 2);
	ck_assert_int_eq(pick(1, out, &err), 1);
	ck_assert_int_eq(out[0], 1);
	/* wsd's own drain: the label wslab.drain=true. */
	{
		json_t *w2 = node("w2", "gpu2", "ready", "active", NULL, "GPU-b");

		json_object_set_new(json_object_get(json_object_get(w2, "Spec"), "Labels"),
		                    "wslab.drain", json_string("true"));
		read_list(json_pack("[o]", w2));
	}
	ck_assert_str_eq(nodes_status(&t.n[2]), "drained (wsd)");
	ck_assert_int_eq(nodes_pick_cpu(&t, load), -1);
}
END_TEST

/* wsnode's report: what the agent writes is what wsd reads. */
START_TEST(test_node_report_roundtrip)
{
	struct gpu_inventory g = {0};
	struct node_report r;
	json_t *ws = json_pack("{s:[s]}", "svc1", "sshd: alice@pts/0"), *j;
	char err[200];
	const char *procs[] = {"/usr/sbin/sshd -D", "sshd: alice@pts/0", "sshd: alice [priv]",
	                       "python3 -m notebook"};
	json_t *lines;

	g.n = 2;
	snprintf(g.gpus[0].uuid, GPU_UUID_MAX, "GPU-a");
	snprintf(g.gpus[1].uuid, GPU_UUID_MAX, "GPU-b");
	g.gpus[1].index = 1;
	g.gpus[1].util = 87;
	g.gpus[1].mem_total = 80ull << 30;
	g.gpus[1].mem_used = 3ull << 30;
	g.topo[0][1] = g.topo[1][0] = 10;
	g.have_topo = 1;
	j = node_report_build(&(struct node_report_in){.node_id = "n1",
	                                               .hostname = "gpu1",
	                                               .time = NOW,
	                                               .interval = 5,
	                                               .shared_marker = MARK,
	                                               .home_marker = MARK,
	                                               .gpus = &g,
	                                               .workspaces = ws});
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.node_id, "n1");
	ck_assert_str_eq(r.nvml, "");
	ck_assert_str_eq(r.home_marker, MARK);
	ck_assert_uint_eq(r.gpus.n, 2);
	ck_assert_str_eq(r.gpus.gpus[1].uuid, "GPU-b");
	ck_assert_uint_eq(r.gpus.gpus[1].util, 87);
	ck_assert_uint_eq(r.gpus.gpus[1].mem_used, 3ull << 30);
	ck_assert_int_eq(r.gpus.have_topo, 1);
	ck_assert_int_eq(r.gpus.topo[1][0], 10);
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(r.workspaces, "svc1"), 0)),
	    "sshd: alice@pts/0");
	node_report_free(&r);
	/* The engine's top: the COMMAND column, wherever it is. */
	{
		json_t *top =
		    json_pack("{s:[s, s], s:[[s, s], [s, s]]}", "Titles", "PID", "COMMAND",
		              "Processes", "1", "sshd: alice@pts/0", "2", "python3");
		const char *cmds[2];

		ck_assert_uint_eq(top_commands(top, cmds), 2);
		ck_assert_str_eq(cmds[0], "sshd: alice@pts/0");
		ck_assert_str_eq(cmds[1], "python3");
		json_decref(top);
	}
	/* Only SSH sessions' lines are kept. */
	lines = node_report_sshd(procs, 4);
	ck_assert_uint_eq(json_array_size(lines), 2);
	json_decref(lines);
	/* What does not read as a report is refused, with the reason. */
	json_object_set_new(j, "version", json_integer(2));
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "version"));
	json_object_set_new(j, "version", json_integer(1));
	json_object_set_new(json_array_get(json_object_get(j, "gpus"), 1), "utilization",
	                    json_integer(101));
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), -1);
	json_object_set_new(json_array_get(json_object_get(j, "gpus"), 1), "utilization",
	                    json_integer(5));
	json_array_remove(json_object_get(j, "topology"), 1);
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "topology"));
	json_object_del(j, "topology");
	json_object_set_new(j, "workspaces", json_pack("{s:i}", "svc", 3));
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), -1);
	json_object_set_new(j, "workspaces", json_object());
	json_object_set_new(j, "interval", json_integer(0));
	ck_assert_int_eq(node_report_parse(j, &r, err, sizeof(err)), -1);
	json_decref(j);
	json_decref(ws);
}
END_TEST

/* A node is used only with a fresh report whose markers and GPUs match. */
START_TEST(test_nodes_agent_judges)
{
	struct api_error err = {0};
	struct node_report r;
	int out[GPU_MAX];

	read_list(json_pack("[o, o]", node("w1", "gpu1", "ready", "active", NULL, "GPU-a,GPU-b"),
	                    node("w2", "gpu2", "ready", "active", NULL, "GPU-c")));
	ck_assert_int_eq(nodes_usable(&t.n[0]), 1);
	ck_assert_str_eq(inv.gpus[0].name, "NVIDIA H200");
	/* A new node is not used before its first report is read. */
	{
		json_t *l = json_pack("[o, o, o]",
		                      node("w1", "gpu1", "ready", "active", NULL, "GPU-a,GPU-b"),
		                      node("w2", "gpu2", "ready", "active", NULL, "GPU-c"),
		                      node("w4", "gpu4", "ready", "active", NULL, "GPU-e"));

		nodes_read(&t, &inv, l, (char[64]){0}, 64);
		json_decref(l);
	}
	ck_assert_str_eq(t.n[2].agent, "pending");
	ck_assert_int_eq(nodes_usable(&t.n[2]), 0);
	ck_assert_int_eq(nodes_usable(&t.n[0]), 1);
	/* No report. */
	nodes_agent(&t, &inv, 2, NULL, NULL, NOW, MARK);
	ck_assert_str_eq(t.n[2].agent, "none");
	ck_assert_ptr_nonnull(strstr(t.n[2].agent_why, "no wsnode report"));
	ck_assert_str_eq(nodes_status(&t.n[2]), "unfit");
	/* Stale. */
	report(1, 0, &r);
	r.time = NOW - 31;
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_str_eq(t.n[1].agent, "stale");
	ck_assert_int_eq(nodes_usable(&t.n[1]), 0);
	ck_assert_int_eq(inv.gpus[2].unusable, 1);
	/* Another shared_dir, another home root. */
	report(1, 0, &r);
	r.shared_marker[0] = '\0';
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_ptr_nonnull(strstr(t.n[1].agent_why, "shared_dir"));
	report(1, 0, &r);
	snprintf(r.home_marker, sizeof(r.home_marker), "ffff");
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_ptr_nonnull(strstr(t.n[1].agent_why, "home_root"));
	ck_assert_int_eq(pick(1, out, &err), 1);
	ck_assert_int_eq(inv.gpus[out[0]].node, 0); /* never w2's GPU */
	/* A GPU it advertises that NVML there does not see. */
	report(1, 0, &r);
	r.gpus.n = 0;
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_ptr_nonnull(strstr(t.n[1].agent_why, "GPU-c"));
	snprintf(r.nvml, sizeof(r.nvml), "nvmlInit failed");
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_ptr_nonnull(strstr(t.n[1].agent_why, "nvmlInit failed"));
	/* In order again: usable, with the use it reports. */
	report(1, 64, &r);
	nodes_agent(&t, &inv, 1, &r, NULL, NOW, MARK);
	ck_assert_str_eq(t.n[1].agent_why, "");
	ck_assert_int_eq(nodes_usable(&t.n[1]), 1);
	ck_assert_uint_eq(inv.gpus[2].util, 64);
	ck_assert_int_eq(inv.gpus[2].unusable, 0);
	/* Unreadable. */
	nodes_agent(&t, &inv, 1, NULL, "not JSON", NOW, MARK);
	ck_assert_str_eq(t.n[1].agent, "bad");
	ck_assert_ptr_nonnull(strstr(t.n[1].agent_why, "not JSON"));
}
END_TEST

/* Topology from the node's NVML picks the closer pair. */
START_TEST(test_nodes_agent_topology)
{
	struct api_error err = {0};
	struct node_report r;
	int out[GPU_MAX];

	read_list(json_pack(
	    "[o]", node("w1", "gpu1", "ready", "active", NULL, "GPU-a,GPU-b,GPU-c,GPU-d")));
	report(0, 0, &r);
	r.gpus.have_topo = 1;
	/* a-b and c-d on one switch, across pairs the system bus. */
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			r.gpus.topo[i][k] = i == k ? 0 : i / 2 == k / 2 ? 10 : 50;
	nodes_agent(&t, &inv, 0, &r, NULL, NOW, MARK);
	ck_assert_int_eq(inv.have_topo, 1);
	ck_assert_int_eq(inv.topo[2][3], 10);
	gpu_hold(&inv, (int[]){0}, 1, "ws1");
	ck_assert_int_eq(pick(2, out, &err), 2);
	ck_assert_int_eq(out[0] + out[1], 5); /* c and d, not b with one of them */
}
END_TEST

Suite *
nodes_suite(void)
{
	Suite *s = suite_create("nodes");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_nodes_inventory);
	tcase_add_test(tc, test_nodes_stable_positions);
	tcase_add_test(tc, test_nodes_set_never_spans);
	tcase_add_test(tc, test_nodes_unfit_and_cpu);
	tcase_add_test(tc, test_node_report_roundtrip);
	tcase_add_test(tc, test_nodes_agent_judges);
	tcase_add_test(tc, test_nodes_agent_topology);
	suite_add_tcase(s, tc);
	return s;
}
