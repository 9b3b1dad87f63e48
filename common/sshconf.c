/*
 * OpenSSH client configuration for a laptop. The entry reaches the
 * workspace's sshd directly or through a ProxyJump, and pins its host key
 * under an alias (HostKeyAlias), so that the key is found whatever address
 * and port the workspace has, and a file of wslab's own holds it
 * (UserKnownHostsFile) with StrictHostKeyChecking: a wrong key is refused,
 * never asked about. ssh_config(5) takes one word per value; every value
 * is checked to be one printable word first.
 */
#include "sshconf.h"

#include <stdio.h>
#include <string.h>

/* One printable ASCII word that ssh_config reads as it is. */
static int
sshconf_word(const char *s, const char *extra)
{
	if (s == NULL || *s == '\0' || *s == '-')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("._-", c) != NULL || (extra != NULL && strchr(extra, c) != NULL))
			continue;
		return 0;
	}
	return 1;
}

/* Length of the key's "TYPE BASE64" part; 0 when it is not one. */
static size_t
sshconf_key_len(const char *key)
{
	size_t t, b;

	if (key == NULL)
		return 0;
	t = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789@.-");
	if (t == 0 || key[t] != ' ')
		return 0;
	b = strspn(key + t + 1,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
	if (b == 0 || (key[t + 1 + b] != '\0' && key[t + 1 + b] != ' '))
		return 0;
	return t + 1 + b;
}

int
sshconf_check(const struct sshconf_host *h, char *why, size_t whylen)
{
	const char *bad = NULL;

	if (!sshconf_word(h->name, NULL) || strlen(h->name) > 64)
		bad = "name";
	else if (!sshconf_word(h->hostname, ":"))
		bad = "address";
	else if (h->port < 1 || h->port > 65535)
		bad = "port";
	else if (!sshconf_word(h->user, NULL))
		bad = "user";
	else if (h->jump != NULL && !sshconf_word(h->jump, ":[]"))
		bad = "jump host";
	else if (sshconf_key_len(h->host_key) == 0)
		bad = "host key";
	else if (!sshconf_word(h->known_hosts, "/~+"))
		bad = "known_hosts path";
	else if (h->local_port != 0 && (h->local_port < 1 || h->local_port > 65535 ||
	                                h->inner_port < 1 || h->inner_port > 65535))
		bad = "Jupyter port";
	if (bad == NULL)
		return 0;
	snprintf(why, whylen, "workspace %s: its %s cannot go into an ssh config",
	         sshconf_word(h->name, NULL) ? h->name : "?", bad);
	return -1;
}

int
sshconf_host(FILE *f, const struct sshconf_host *h)
{
	char why[128];

	if (sshconf_check(h, why, sizeof(why)) == -1)
		return -1;
	fprintf(f, "Host " SSHCONF_ALIAS_PREFIX "%s\n", h->name);
	fprintf(f, "\tHostName %s\n", h->hostname);
	fprintf(f, "\tPort %ld\n", h->port);
	fprintf(f, "\tUser %s\n", h->user);
	/* The jump host knows the student by the same name. */
	if (h->jump != NULL)
		fprintf(f, "\tProxyJump %s@%s\n", h->user, h->jump);
	fprintf(f, "\tHostKeyAlias " SSHCONF_ALIAS_PREFIX "%s\n", h->name);
	fprintf(f, "\tUserKnownHostsFile %s\n", h->known_hosts);
	fprintf(f, "\tStrictHostKeyChecking yes\n");
	fprintf(f, "\tCheckHostIP no\n");
	if (h->local_port != 0)
		fprintf(f, "\tLocalForward 127.0.0.1:%ld 127.0.0.1:%ld\n", h->local_port,
		        h->inner_port);
	return ferror(f) ? -1 : 0;
}

int
sshconf_known(FILE *f, const struct sshconf_host *h)
{
	char why[128];

	if (sshconf_check(h, why, sizeof(why)) == -1)
		return -1;
	fprintf(f, SSHCONF_ALIAS_PREFIX "%s %.*s\n", h->name, (int)sshconf_key_len(h->host_key),
	        h->host_key);
	return ferror(f) ? -1 : 0;
}
