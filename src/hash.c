/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  SHA-256 with RFC 6962 domain separation, through OpenSSL's EVP API.
 *
 * OpenSSL 3 looks up the implementation of a digest on every
 * EVP_DigestInit_ex(ctx, EVP_sha256(), ...) call, which costs more than the
 * hash of a small audit record.  So the digest is fetched once per backend
 * and one context is reused for every hash.
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

#include <openssl/evp.h>

#include "hash.h"

static EVP_MD *sha256_md = NULL;
static EVP_MD_CTX *sha256_ctx = NULL;

#ifdef FRONTEND
#define hash_fail(msg) \
	do { fprintf(stderr, "audit_ext: %s\n", msg); exit(2); } while (0)
#else
#define hash_fail(msg) \
	ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR), errmsg(msg)))
#endif

/*
 * Fetch the SHA-256 implementation and allocate the reusable context, once.
 */
static void
hash_ensure_ready(void)
{
	if (sha256_ctx != NULL)
		return;

	if (sha256_md == NULL)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md == NULL)
		hash_fail("could not load the SHA-256 implementation from OpenSSL");

	sha256_ctx = EVP_MD_CTX_new();
	if (sha256_ctx == NULL)
		hash_fail("out of memory for an OpenSSL digest context");
}

/*
 * out = SHA-256(prefix || a || b); b may be NULL.
 */
static void
hash_prefixed2(uint8 prefix, const void *a, size_t alen,
			   const void *b, size_t blen, uint8 out[AUDIT_HASH_LEN])
{
	unsigned int outlen = 0;

	hash_ensure_ready();
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
		EVP_DigestUpdate(sha256_ctx, &prefix, 1) != 1 ||
		EVP_DigestUpdate(sha256_ctx, a, alen) != 1 ||
		(b != NULL && EVP_DigestUpdate(sha256_ctx, b, blen) != 1) ||
		EVP_DigestFinal_ex(sha256_ctx, out, &outlen) != 1 ||
		outlen != AUDIT_HASH_LEN)
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
	unsigned int outlen = 0;

	hash_ensure_ready();
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
		EVP_DigestFinal_ex(sha256_ctx, out, &outlen) != 1 ||
		outlen != AUDIT_HASH_LEN)
		hash_fail("could not compute a SHA-256 digest");
}
