/*-------------------------------------------------------------------------
 *
 * av_key.h
 *	  audit_verify: Ed25519 public keys (--public-key) and checking
 *	  signatures of checkpoints with them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_KEY_H
#define AV_KEY_H

#include "av.h"

typedef struct AvKey
{
	void	   *pkey;			/* EVP_PKEY */
	char		key_id[AV_KEY_ID_LEN + 1];
	char	   *path;
} AvKey;

/* The public keys given on the command line. */
typedef struct AvKeyring
{
	AvKey	   *keys;
	int			n;
} AvKeyring;

extern void av_keyring_add(AvKeyring *ring, const char *path);
extern const AvKey *av_keyring_find(const AvKeyring *ring, const char *key_id,
									size_t len);
extern char *av_keyring_ids(const AvKeyring *ring);
extern bool av_key_verify(const AvKey *key, const uint8 *msg, size_t len,
						  const uint8 *sig, size_t siglen);
extern bool av_signature_check(const AvKeyring *ring, const AvWhere *w,
							   const char *what, const char *key_id,
							   size_t key_id_len, const uint8 *sig,
							   size_t siglen, const uint8 *msg, size_t len);

#endif							/* AV_KEY_H */
