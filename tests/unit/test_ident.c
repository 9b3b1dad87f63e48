/*
 * Identity lookups against this machine's databases: root is found with
 * its group and is an admin, a name or uid without an entry is "no one"
 * (not an error), and the admin group is read.
 */
#include <grp.h>
#include <string.h>

#include "ident.h"
#include "unit.h"

START_TEST(root_by_uid_and_name)
{
	struct ident id;
	char why[256];
	struct group *g = getgrgid(0);

	ck_assert_int_eq(ident_lookup(&id, 0, NULL, "", why, sizeof(why)), 1);
	ck_assert_str_eq(id.user, "root");
	ck_assert_int_eq(id.admin, 1);
	ck_assert_uint_ge(id.ngroups, 1);
	if (g != NULL)
		ck_assert_str_eq(id.groups[0], g->gr_name);
	ident_free(&id);
	ck_assert_int_eq(ident_lookup(&id, 12345, "root", NULL, why, sizeof(why)), 1);
	ck_assert_int_eq(id.uid, 0);
	ck_assert_int_eq(id.admin, 1);
	ident_free(&id);
}
END_TEST

START_TEST(no_such_user)
{
	struct ident id;
	char why[256];

	ck_assert_int_eq(ident_lookup(&id, 0, "wslab-no-such-user", NULL, why, sizeof(why)), 0);
	ck_assert_str_eq(id.user, "");
	ck_assert_int_eq(id.admin, 0);
	ck_assert_uint_eq(id.ngroups, 0);
	ident_free(&id);
	ck_assert_int_eq(ident_lookup(&id, 3999999999u, NULL, "root", why, sizeof(why)), 0);
	ck_assert_str_eq(id.user, "");
	ck_assert_int_eq(id.admin, 0);
	ident_free(&id);
}
END_TEST

/* Membership of the admin group by primary gid: a user whose group is it. */
START_TEST(admin_group_by_primary_gid)
{
	struct ident id;
	char why[256];
	struct group *g = getgrgid(0);

	if (g == NULL)
		return;
	/* "daemon" (uid 1) is in group "daemon" (1), not in root's group. */
	if (ident_lookup(&id, 1, NULL, g->gr_name, why, sizeof(why)) == 1 &&
	    strcmp(id.user, "daemon") == 0)
		ck_assert_int_eq(id.admin, 0);
	ident_free(&id);
	if (ident_lookup(&id, 1, NULL, "daemon", why, sizeof(why)) == 1 &&
	    strcmp(id.user, "daemon") == 0)
		ck_assert_int_eq(id.admin, 1);
	ident_free(&id);
}
END_TEST

Suite *
ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("lookup");

	tcase_add_test(tc, root_by_uid_and_name);
	tcase_add_test(tc, no_such_user);
	tcase_add_test(tc, admin_group_by_primary_gid);
	suite_add_tcase(s, tc);
	return s;
}
