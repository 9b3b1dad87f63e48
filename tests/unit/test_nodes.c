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

static int
read_list(json_t *list)
{
	char err[200];
	int n = nodes_read(&t, &inv, list, err, sizeof(err));

	json_decref(list);
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
	suite_add_tcase(s, tc);
	return s;
}
