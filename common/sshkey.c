/*
 * Key generation and checking with libssh, so neither wsd nor wsctl
 * shells out to ssh-keygen.
 */
#include "sshkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

int
sshkey_generate(const char *priv_path, char *pub, size_t publen, char *err, size_t errlen)
{
	ssh_key key = NULL;
	char *b64 = NULL, *priv = NULL;
	int fd = -1, ret = -1;
	size_t len;

	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		snprintf(err, errlen, "cannot generate an ed25519 key");
		goto out;
	}
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &priv) != SSH_OK) {
		snprintf(err, errlen, "cannot export the private key");
		goto out;
	}
	fd = open(priv_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", priv_path, strerror(errno));
		goto out;
	}
	len = strlen(priv);
	if (write(fd, priv, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", priv_path, strerror(errno));
		unlink(priv_path);
		goto out;
	}
	if (pub != NULL) {
		if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
			snprintf(err, errlen, "cannot export the public key");
			unlink(priv_path);
			goto out;
		}
		if ((size_t)snprintf(pub, publen, "ssh-ed25519 %s", b64) >= publen) {
			snprintf(err, errlen, "public key buffer too small");
			unlink(priv_path);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (priv != NULL) {
		explicit_bzero(priv, strlen(priv));
		ssh_string_free_char(priv);
	}
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return ret;
}

int
sshkey_check_public(const char *line)
{
	char type[64], b64[8192];
	enum ssh_keytypes_e kt;
	ssh_key key = NULL;
	const char *sp, *end;
	size_t tl, bl;

	sp = strchr(line, ' ');
	if (sp == NULL || (tl = (size_t)(sp - line)) == 0 || tl >= sizeof(type))
		return -1;
	memcpy(type, line, tl);
	type[tl] = '\0';
	kt = ssh_key_type_from_name(type);
	if (kt == SSH_KEYTYPE_UNKNOWN)
		return -1;
	sp++;
	end = strchr(sp, ' ');
	bl = end ? (size_t)(end - sp) : strlen(sp);
	if (bl == 0 || bl >= sizeof(b64))
		return -1;
	memcpy(b64, sp, bl);
	b64[bl] = '\0';
	if (ssh_pki_import_pubkey_base64(b64, kt, &key) != SSH_OK)
		return -1;
	ssh_key_free(key);
	return 0;
}
