/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  SHA-256 with RFC 6962 domain separation, through OpenSSL.
 *
 * Nearly everything hashed here is small: a row image member's salt or
 * commitment (one 64-byte block), a Merkle node (two), an event (a few).
 * For such inputs OpenSSL 3's EVP interface adds more than half again to
 * the hash: EVP_DigestInit_ex2() frees and allocates the provider's digest
 * state on every call, even with the digest fetched once and the context
 * reused.  A hash of one block took 92 ns through it instead of 57 ns, and
 * the wrapper was about a sixth of the whole time of audit.verify() on a
 * trail of row events.  So the digest is computed by
 * SHA256_Init/Update/Final on a context on the stack: the same SHA-256
 * implementation of libcrypto (SHA-NI or AVX2, as the CPU allows), without
 * the dispatch.  These functions are deprecated from OpenSSL 3.0 on, but
 * not at the API level PostgreSQL builds with (OPENSSL_API_COMPAT,
 * pg_config.h).
 *
 * Also compiled into the offline verifier (-DFRONTEND), where a failure of
 * OpenSSL ends the program.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <openssl/sha.h>

#include "hash.h"

#ifdef FRONTEND
#define hash_fail(msg) \
	do { fprintf(stderr, "audit_ext: %s\n", msg); exit(2); } while (0)
#else
#define hash_fail(msg) \
	ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR), errmsg(msg)))
#endif

/*
 * out = SHA-256(prefix || a || b); b may be NULL.
 */
static void
hash_prefixed2(uint8 prefix, const void *a, size_t alen,
			   const void *b, size_t blen, uint8 out[AUDIT_HASH_LEN])
{
	SHA256_CTX	ctx;

	if (SHA256_Init(&ctx) != 1 ||
		SHA256_Update(&ctx, &prefix, 1) != 1 ||
		SHA256_Update(&ctx, a, alen) != 1 ||
		(b != NULL && SHA256_Update(&ctx, b, blen) != 1) ||
		SHA256_Final(out, &ctx) != 1)
		hash_fail("could not compute a SHA-256 digest");
}

/*
 * The leaf hash of an encoded entry: SHA-256(0x00 || entry), as RFC 6962.
 */
void
audit_hash_leaf(const void *entry, size_t len, uint8 out[AUDIT_HASH_LEN])
{
	hash_prefixed2(AUDIT_HASH_PREFIX_LEAF, entry, len, NULL, 0, out);
}

/*
 * An interior node of a Merkle tree: SHA-256(0x01 || left || right).
 */
void
audit_hash_node(const uint8 *left, const uint8 *right,
				uint8 out[AUDIT_HASH_LEN])
{
	hash_prefixed2(AUDIT_HASH_PREFIX_NODE, left, AUDIT_HASH_LEN,
				   right, AUDIT_HASH_LEN, out);
}

/*
 * The hash of a block head: SHA-256(0x02 || head).
 */
void
audit_hash_block(const void *head, size_t len, uint8 out[AUDIT_HASH_LEN])
{
	hash_prefixed2(AUDIT_HASH_PREFIX_BLOCK, head, len, NULL, 0, out);
}

/*
 * SHA-256(prefix || data), for the other domains of docs/FORMAT.md (the
 * commitments of row images).
 */
void
audit_hash_prefixed(uint8 prefix, const void *data, size_t len,
					uint8 out[AUDIT_HASH_LEN])
{
	hash_prefixed2(prefix, data, len, NULL, 0, out);
}

/*
 * SHA-256 of the empty string: RFC 6962's root of an empty tree.
 */
void
audit_hash_empty(uint8 out[AUDIT_HASH_LEN])
{
	SHA256_CTX	ctx;

	if (SHA256_Init(&ctx) != 1 || SHA256_Final(out, &ctx) != 1)
		hash_fail("could not compute a SHA-256 digest");
}
