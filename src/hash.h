/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  SHA-256 hashing with RFC 6962 domain separation (OpenSSL).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_HASH_H
#define AUDIT_HASH_H

#include "postgres.h"

#define AUDIT_HASH_LEN			32

/* RFC 6962 domain-separation prefix of a leaf (an encoded event). */
#define AUDIT_HASH_PREFIX_LEAF	0x00

extern void audit_hash_leaf(const void *entry, size_t len,
							uint8 out[AUDIT_HASH_LEN]);

#endif							/* AUDIT_HASH_H */
