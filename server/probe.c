/*
 * SSH readiness: connect, run the key exchange, compare the server's host
 * key with the one wsd generated for the workspace. No authentication is
 * attempted. Runs on a pool thread with a short timeout.
 */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#include "xmalloc.h"

struct ssh_probe {
	uv_work_t work;
	char host[64];
	int port;
	char *expected;
	int ok;
	char why[128];
	probe_ssh_cb *cb;
	void *arg;
};

static void
ssh_work(uv_work_t *w)
{
	struct ssh_probe *p = w->data;
	ssh_session s = ssh_new();
	ssh_key key = NULL;
	char *b64 = NULL;
	long timeout = 2;
	int verbosity = SSH_LOG_NOLOG, no = 0;
	unsigned int port = (unsigned int)p->port;

	if (s == NULL) {
		snprintf(p->why, sizeof(p->why), "out of memory");
		return;
	}
	ssh_options_set(s, SSH_OPTIONS_HOST, p->host);
	ssh_options_set(s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
	ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, "ssh-ed25519");
	ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
	ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	if (ssh_connect(s) != SSH_OK) {
		snprintf(p->why, sizeof(p->why), "ssh: %s", ssh_get_error(s));
		goto out;
	}
	if (ssh_get_server_publickey(s, &key) != SSH_OK ||
	    ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(p->why, sizeof(p->why), "ssh: no host key");
		goto out;
	}
	if (strncmp(p->expected, "ssh-ed25519 ", 12) == 0 && strcmp(p->expected + 12, b64) == 0)
		p->ok = 1;
	else
		snprintf(p->why, sizeof(p->why), "ssh: the server presented another host key");
out:
	ssh_string_free_char(b64);
	ssh_key_free(key);
	ssh_disconnect(s);
	ssh_free(s);
}

static void
ssh_after(uv_work_t *w, int status)
{
	struct ssh_probe *p = w->data;

	if (status != 0)
		snprintf(p->why, sizeof(p->why), "cancelled");
	p->cb(p->arg, p->ok, p->why);
	free(p->expected);
	free(p);
}

int
probe_ssh(uv_loop_t *loop, const char *host, int port, const char *expected_pub, probe_ssh_cb *cb,
          void *arg)
{
	struct ssh_probe *p = xcalloc(1, sizeof(*p));

	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	p->expected = xstrdup(expected_pub);
	p->cb = cb;
	p->arg = arg;
	p->work.data = p;
	if (uv_queue_work(loop, &p->work, ssh_work, ssh_after) != 0) {
		free(p->expected);
		free(p);
		return -1;
	}
	return 0;
}
