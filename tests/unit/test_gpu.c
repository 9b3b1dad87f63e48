/* The GPU allocator: policy, exclusivity, release, and bad requests. */
#include <stdio.h>
#include <string.h>

#include "gpu.h"
#include "unit.h"

static struct gpu_inventory inv;

static void
add(const char *uuid, uint64_t used_mib, unsigned util)
{
	struct gpu *g = &inv.gpus[inv.n];

	g->index = (int)inv.n;
	snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
	g->mem_total = (uint64_t)81559 << 20;
	g->mem_used = used_mib << 20;
	g->util = util;
	inv.n++;
}

static void
setup(void)
{
	memset(&inv, 0, sizeof(inv));
	add("GPU-a", 500, 0);
	add("GPU-b", 0, 0);
	add("GPU-c", 0, 30);
	add("GPU-d", 9000, 90);
}

static int
pick(int count, const char *ids, int *out, struct api_error *err)
{
	struct gpu_request r = {0};
	char copy[256], *save = NULL, *tok;

	r.count = count;
	if (ids != NULL) {
		snprintf(copy, sizeof(copy), "%s", ids);
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			snprintf(r.ids[r.nids++], GPU_UUID_MAX, "%s", tok);
	}
	memset(err, 0, sizeof(*err));
	return gpu_pick(&inv, &r, out, err);
}

START_TEST(one_takes_least_used)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(1, NULL, out, &err), 1);
	ck_assert_str_eq(inv.gpus[out[0]].uuid, "GPU-b"); /* no memory, no load */
	gpu_hold(&inv, out, 1, "ws000000000b");
	ck_assert_int_eq(pick(1, NULL, out, &err), 1);
	ck_assert_str_eq(inv.gpus[out[0]].uuid, "GPU-c"); /* no memory beats less load */
}
END_TEST

START_TEST(never_twice)
{
	int out[GPU_MAX], seen[4] = {0};
	struct api_error err;
	char id[13];

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pick(1, NULL, out, &err), 1);
		ck_assert_int_eq(seen[out[0]], 0);
		seen[out[0]] = 1;
		snprintf(id, sizeof(id), "ws%010d", i);
		gpu_hold(&inv, out, 1, id);
	}
	ck_assert_int_eq(gpu_free_count(&inv), 0);
	ck_assert_int_eq(pick(1, NULL, out, &err), -1);
	ck_assert_int_eq(err.status, 409);
	ck_assert_str_eq(err.code, "no_gpus");
	ck_assert_ptr_nonnull(strstr(err.message, "only 0 of 4 are free now; nothing was created"));
}
END_TEST

START_TEST(release_frees_exactly_its_own)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(2, NULL, out, &err), 2);
	gpu_hold(&inv, out, 2, "wsAAAAAAAAAA");
	ck_assert_int_eq(pick(1, NULL, out, &err), 1);
	gpu_hold(&inv, out, 1, "wsBBBBBBBBBB");
	ck_assert_int_eq(gpu_free_count(&inv), 1);
	ck_assert_int_eq(gpu_release(&inv, "wsAAAAAAAAAA"), 2);
	ck_assert_int_eq(gpu_free_count(&inv), 3);
	ck_assert_int_eq(gpu_release(&inv, "wsAAAAAAAAAA"), 0); /* twice is harmless */
	ck_assert_int_eq(gpu_release(&inv, "wsBBBBBBBBBB"), 1);
	ck_assert_int_eq(gpu_free_count(&inv), 4);
}
END_TEST

START_TEST(pair_follows_topology)
{
	int out[GPU_MAX];
	struct api_error err;
	/* a-c and b-d share a switch; least used alone would give a+b. */
	static const int t[4][4] = {
	    {0, 50, 10, 50}, {50, 0, 50, 10}, {10, 50, 0, 50}, {50, 10, 50, 0}};

	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			inv.topo[i][j] = t[i][j];
	inv.have_topo = 1;
	ck_assert_int_eq(pick(2, NULL, out, &err), 2);
	ck_assert_int_eq(out[0] + out[1], 0 + 2);
	ck_assert(out[0] != out[1]);
	/* With a and c taken, the other close pair. */
	gpu_hold(&inv, out, 2, "ws0000000001");
	ck_assert_int_eq(pick(2, NULL, out, &err), 2);
	ck_assert_int_eq(out[0] + out[1], 1 + 3);
}
END_TEST

START_TEST(pair_without_topology_is_least_used)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(2, NULL, out, &err), 2);
	ck_assert(!(out[0] == 3 || out[1] == 3)); /* the busy d is never in it */
}
END_TEST

START_TEST(ids_honoured)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(0, "3,GPU-a", out, &err), 2);
	ck_assert_int_eq(out[0], 3);
	ck_assert_int_eq(out[1], 0);
	ck_assert_int_eq(pick(2, "1,2", out, &err), 2);
}
END_TEST

START_TEST(ids_busy_refused)
{
	int out[GPU_MAX], p = 2;
	struct api_error err;

	gpu_hold(&inv, &p, 1, "ws0000000002");
	ck_assert_int_eq(pick(0, "1,2", out, &err), -1);
	ck_assert_int_eq(err.status, 409);
	ck_assert_ptr_nonnull(strstr(err.message, "GPU 2 is held by another workspace"));
	ck_assert_ptr_nonnull(strstr(err.message, "3 of 4 GPUs are free now"));
}
END_TEST

static const struct {
	int count;
	const char *ids;
	const char *needle;
} bad[] = {
    {-1, NULL, "out of range"},     {65, NULL, "out of range"},
    {5, NULL, "this server has 4"}, {0, "GPU-zzz", "no GPU \"GPU-zzz\""},
    {0, "4", "no GPU \"4\""},       {0, "0,0", "named twice"},
    {0, "GPU-a,0", "named twice"},  {3, "0,1", "does not match"},
    {0, "0001", "no GPU"},
};

START_TEST(bad_requests)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(bad[_i].count, bad[_i].ids, out, &err), -1);
	ck_assert_msg(strstr(err.message, bad[_i].needle) != NULL, "\"%s\" lacks \"%s\"",
	              err.message, bad[_i].needle);
	ck_assert_int_eq(gpu_free_count(&inv), 4);
}
END_TEST

START_TEST(zero_gpus)
{
	int out[GPU_MAX];
	struct api_error err;

	ck_assert_int_eq(pick(0, NULL, out, &err), 0);
	memset(&inv, 0, sizeof(inv));
	ck_assert_int_eq(pick(0, NULL, out, &err), 0); /* CPU workspaces on a GPU-less server */
	ck_assert_int_eq(pick(1, NULL, out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "this server has 0"));
}
END_TEST

START_TEST(lookup)
{
	ck_assert_int_eq(gpu_lookup(&inv, "0"), 0);
	ck_assert_int_eq(gpu_lookup(&inv, "3"), 3);
	ck_assert_int_eq(gpu_lookup(&inv, "GPU-c"), 2);
	ck_assert_int_eq(gpu_lookup(&inv, "4"), -1);
	ck_assert_int_eq(gpu_lookup(&inv, "-1"), -1);
	ck_assert_int_eq(gpu_lookup(&inv, "1x"), -1);
	ck_assert_int_eq(gpu_lookup(&inv, ""), -1);
}
END_TEST

Suite *
gpu_suite(void)
{
	Suite *s = suite_create("gpu");
	TCase *tc = tcase_create("alloc");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, one_takes_least_used);
	tcase_add_test(tc, never_twice);
	tcase_add_test(tc, release_frees_exactly_its_own);
	tcase_add_test(tc, pair_follows_topology);
	tcase_add_test(tc, pair_without_topology_is_least_used);
	tcase_add_test(tc, ids_honoured);
	tcase_add_test(tc, ids_busy_refused);
	tcase_add_loop_test(tc, bad_requests, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, zero_gpus);
	tcase_add_test(tc, lookup);
	suite_add_tcase(s, tc);
	return s;
}
