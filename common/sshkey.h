/*
 * Ed25519 keys through libssh: wsd makes a host key per workspace, wsctl
 * makes a user key when the user has none.
 */
#ifndef WSLAB_SSHKEY_H
#define WSLAB_SSHKEY_H

#include <stddef.h>

/*
 * Generate an ed25519 key. Writes the OpenSSH private key to priv_path
 * (created with mode 0600, never overwritten) and, when pub is not NULL,
 * the public key as "ssh-ed25519 BASE64" into pub (publen bytes).
 * Returns 0, or -1 with a message in err.
 */
int sshkey_generate(const char *priv_path, char *pub, size_t publen, char *err, size_t errlen);

/*
 * Check that text is one OpenSSH public key line ("type base64 [comment]")
 * that libssh can import. Returns 0 when it is.
 */
int sshkey_check_public(const char *line);

#endif
