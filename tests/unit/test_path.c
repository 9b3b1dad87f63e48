/* Paths as text: what a clean path is, what lies under what, lists of paths. */
#include <string.h>

#include "path.h"
#include "types.h"
#include "unit.h"

START_TEST(paths)
{
	char why[128];
	static const char *const good[] = {"/",      "/a",    "/a/b.c", "/a/..b",
	                                   "/a/b..", "/a/.x", "/a b/c"};
	static const char *const nogood[] = {"",    "a",       "./a",    "/a/",  "//a",  "/a//b",
	                                     "/..", "/a/../b", "/a/./b", "/a/.", "/a\n", "/\x7f"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(path_check(good[i], strlen(good[i]), why, sizeof(why)) == 0, "%s: %s",
		              good[i], why);
	for (size_t i = 0; i < sizeof(nogood) / sizeof(nogood[0]); i++)
		ck_assert_msg(path_check(nogood[i], strlen(nogood[i]), why, sizeof(why)) == -1,
		              "%s", nogood[i]);
	ck_assert_int_eq(path_check("/a\0b", 4, why, sizeof(why)), -1);
	{
		char longp[WS_PATH_MAX + 2];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[WS_PATH_MAX] = '\0';
		ck_assert_int_eq(path_check(longp, WS_PATH_MAX, why, sizeof(why)), -1);
		longp[WS_PATH_MAX - 1] = '\0';
		ck_assert_int_eq(path_check(longp, WS_PATH_MAX - 1, why, sizeof(why)), 0);
	}
	ck_assert(path_under("/data/users/a", "/data/users"));
	ck_assert(path_under("/data/users", "/data/users"));
	ck_assert(!path_under("/data/usersX", "/data/users"));
	ck_assert(!path_under("/data", "/data/users"));
	ck_assert(path_under("/x", "/"));
}
END_TEST

START_TEST(path_lists)
{
	char buf[WS_PATH_MAX + 1], why[256];

	ck_assert_str_eq(path_list_find(" /a ,/b/c,  /d", "/b/c/e", buf, sizeof(buf)), "/b/c");
	ck_assert_str_eq(path_list_find(" /a ,/b/c,  /d", "/d", buf, sizeof(buf)), "/d");
	ck_assert_ptr_null(path_list_find(" /a ,/b/c,  /d", "/b", buf, sizeof(buf)));
	ck_assert_ptr_null(path_list_find("", "/b", buf, sizeof(buf)));
	ck_assert_int_eq(path_list_check("", why, sizeof(why)), 0);
	ck_assert_int_eq(path_list_check("/a, /b", why, sizeof(why)), 0);
	ck_assert_int_eq(path_list_check("/a,,/b", why, sizeof(why)), -1);
	ck_assert_int_eq(path_list_check("/a, b", why, sizeof(why)), -1);
	ck_assert_int_eq(path_list_check("/a/../b", why, sizeof(why)), -1);
	ck_assert_int_eq(path_list_check("/", why, sizeof(why)), -1);
	ck_assert_int_eq(path_mount_points_check("/data, /mnt", why, sizeof(why)), 0);
	ck_assert_int_eq(path_mount_points_check("/etc", why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "/etc/wslab"));
	ck_assert_int_eq(path_mount_points_check("/home/x", why, sizeof(why)), -1);
	ck_assert_int_eq(path_mount_points_check("/proc", why, sizeof(why)), -1);
	ck_assert_int_eq(path_mount_points_check("/dev/shm", why, sizeof(why)), -1);
}
END_TEST

Suite *
path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("path");

	tcase_add_test(tc, paths);
	tcase_add_test(tc, path_lists);
	suite_add_tcase(s, tc);
	return s;
}
