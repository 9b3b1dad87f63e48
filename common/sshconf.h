/*
 * OpenSSH client configuration for reaching a workspace from a laptop:
 * one Host entry per workspace and the known_hosts line that pins its
 * host key. Pure text: wsctl ssh-config decides what goes in, these only
 * check it and write it.
 */
#ifndef WSLAB_SSHCONF_H
#define WSLAB_SSHCONF_H

#include <stddef.h>
#include <stdio.h>

/* A workspace NAME is the host alias wslab-NAME on the laptop. */
#define SSHCONF_ALIAS_PREFIX "wslab-"
/* The lines around what wsctl writes, so that a new run replaces it. */
#define SSHCONF_BEGIN "# BEGIN wslab"
#define SSHCONF_END "# END wslab"
/* Where the laptop keeps the pinned keys, unless told otherwise. */
#define SSHCONF_KNOWN_HOSTS "~/.ssh/wslab_known_hosts"

struct sshconf_host {
	const char *name;        /* the workspace's name */
	const char *hostname;    /* its address, as the laptop or the jump host reach it */
	long port;               /* its SSH port there */
	const char *user;        /* the student, in the workspace and on the jump host */
	const char *jump;        /* host[:port] to jump through, or NULL */
	const char *host_key;    /* "TYPE BASE64" (a comment is dropped) */
	const char *known_hosts; /* the UserKnownHostsFile of the entry */
	long local_port;         /* LocalForward 127.0.0.1:local_port to Jupyter; 0: none */
	long inner_port;         /* Jupyter's port inside the workspace */
};

/*
 * Check every value of h before anything is written: a value with a space,
 * a quote or a control character would change what ssh reads (a newline
 * would add directives). Returns 0, or -1 with what is wrong in why.
 */
int sshconf_check(const struct sshconf_host *h, char *why, size_t whylen);
/* Write h's "Host wslab-NAME" entry (h checked first); 0 or -1. */
int sshconf_host(FILE *f, const struct sshconf_host *h);
/* Write h's known_hosts line, "wslab-NAME TYPE BASE64"; 0 or -1. */
int sshconf_known(FILE *f, const struct sshconf_host *h);

#endif
