/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  SHA-256 hashing with RFC 6962 domain separation (OpenSSL).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_HASH_H
#define AUDIT_HASH_H

#define AUDIT_HASH_LEN			32

/* RFC 6962 domain separation; 0x02 (block heads) is ours. */
#define AUDIT_HASH_PREFIX_LEAF	0x00
#define AUDIT_HASH_PREFIX_NODE	0x01
#define AUDIT_HASH_PREFIX_BLOCK	0x02

extern void audit_hash_leaf(const void *entry, size_t len,
							uint8 out[AUDIT_HASH_LEN]);
extern void audit_hash_node(const uint8 *left, const uint8 *right,
							uint8 out[AUDIT_HASH_LEN]);
extern void audit_hash_prefixed(uint8 prefix, const void *data, size_t len,
								uint8 out[AUDIT_HASH_LEN]);
extern void audit_hash_empty(uint8 out[AUDIT_HASH_LEN]);
extern void audit_hash_block(const void *head, size_t len,
							 uint8 out[AUDIT_HASH_LEN]);

#endif							/* AUDIT_HASH_H */
