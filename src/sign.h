/*-------------------------------------------------------------------------
 *
 * sign.h
 *	  Ed25519 signatures of checkpoints (OpenSSL), with the key named by
 *	  audit.signing_key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SIGN_H
#define AUDIT_SIGN_H

#include "postgres.h"

#define AUDIT_SIGNATURE_LEN		64
#define AUDIT_KEY_ID_LEN		16	/* hex characters */

extern char *audit_signing_key;

extern bool audit_sign_configured(void);
extern void audit_sign(const uint8 *msg, size_t len,
					   uint8 sig[AUDIT_SIGNATURE_LEN],
					   char key_id[AUDIT_KEY_ID_LEN + 1]);
extern bool audit_sign_verify(const char *key_id, const uint8 *msg, size_t len,
							  const uint8 *sig, size_t siglen, bool *checked);
extern char *audit_sign_public_key_pem(void);

#endif							/* AUDIT_SIGN_H */
