/* The ssh config text of wsctl ssh-config: what it writes, and what it refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshconf.h"
#include "unit.h"

static const struct sshconf_host base = {
    .name = "ws1",
    .hostname = "127.0.0.1",
    .port = 20001,
    .user = "alice",
    .jump = "lab01.example.edu:2222",
    .host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBase64+/= wslab",
    .known_hosts = SSHCONF_KNOWN_HOSTS,
    .local_port = 8888,
    .inner_port = 8888,
};

/* What fn writes for h, or NULL when it refuses. */
static char *
text(int (*fn)(FILE *, const struct sshconf_host *), const struct sshconf_host *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = fn(f, h);

	fclose(f);
	if (r == -1) {
		ck_assert_uint_eq(len, 0); /* nothing written when refused */
		free(buf);
		return NULL;
	}
	return buf;
}

START_TEST(entry)
{
	char *t = text(sshconf_host, &base);

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "Host wslab-ws1\n"
	                    "\tHostName 127.0.0.1\n"
	                    "\tPort 20001\n"
	                    "\tUser alice\n"
	                    "\tProxyJump alice@lab01.example.edu:2222\n"
	                    "\tHostKeyAlias wslab-ws1\n"
	                    "\tUserKnownHostsFile ~/.ssh/wslab_known_hosts\n"
	                    "\tStrictHostKeyChecking yes\n"
	                    "\tCheckHostIP no\n"
	                    "\tLocalForward 127.0.0.1:8888 127.0.0.1:8888\n");
	free(t);
}
END_TEST

START_TEST(entry_direct)
{
	struct sshconf_host h = base;
	char *t;

	h.jump = NULL;
	h.local_port = 0;
	h.hostname = "lab01.example.edu";
	t = text(sshconf_host, &h);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(strstr(t, "ProxyJump"));
	ck_assert_ptr_null(strstr(t, "LocalForward"));
	ck_assert_ptr_nonnull(strstr(t, "\tHostName lab01.example.edu\n"));
	free(t);
}
END_TEST

START_TEST(known_line)
{
	char *t = text(sshconf_known, &base);

	/* The alias, not host:port; the key's comment left out. */
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "wslab-ws1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBase64+/=\n");
	free(t);
}
END_TEST

/* Values that would change what ssh reads: each is refused, nothing written. */
START_TEST(refused)
{
	static const char *const names[] = {"",   "-oProxyCommand=x", "a b", "a\nHost *", "a\"b",
	                                    "a#b"};
	static const char *const keys[] = {"",
	                                   "ssh-ed25519",
	                                   "ssh-ed25519 ",
	                                   "ssh-ed25519 AAAA\nHost *",
	                                   "Ssh-ed25519 AAAA",
	                                   "ssh-ed25519 AA\tAA"};
	struct sshconf_host h;
	char why[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		h = base;
		h.name = names[i];
		ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
		ck_assert_ptr_null(text(sshconf_host, &h));
		ck_assert_ptr_null(text(sshconf_known, &h));
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		h = base;
		h.host_key = keys[i];
		ck_assert_msg(sshconf_check(&h, why, sizeof(why)) == -1, "key %zu accepted", i);
		ck_assert_ptr_nonnull(strstr(why, "host key"));
	}
	h = base;
	h.user = "al ice";
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "workspace ws1: its user cannot go into an ssh config");
	h = base;
	h.jump = "lab01 -oProxyCommand=x";
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h = base;
	h.hostname = "127.0.0.1\n\tProxyCommand x";
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h = base;
	h.known_hosts = "~/my known";
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h = base;
	h.port = 0;
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h.port = 65536;
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h = base;
	h.local_port = 65536;
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
	h.local_port = -1;
	ck_assert_int_eq(sshconf_check(&h, why, sizeof(why)), -1);
}
END_TEST

Suite *
sshconf_suite(void)
{
	Suite *s = suite_create("sshconf");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, entry);
	tcase_add_test(tc, entry_direct);
	tcase_add_test(tc, known_line);
	tcase_add_test(tc, refused);
	suite_add_tcase(s, tc);
	return s;
}
