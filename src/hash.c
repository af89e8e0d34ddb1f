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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "hash.h"

static EVP_MD *sha256_md = NULL;
static EVP_MD_CTX *sha256_ctx = NULL;

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
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not load the SHA-256 implementation from OpenSSL")));

	sha256_ctx = EVP_MD_CTX_new();
	if (sha256_ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("OpenSSL could not allocate a digest context.")));
}

/*
 * out = SHA-256(prefix || data).
 */
static void
hash_prefixed(uint8 prefix, const void *data, size_t len,
			  uint8 out[AUDIT_HASH_LEN])
{
	unsigned int outlen = 0;

	hash_ensure_ready();
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
		EVP_DigestUpdate(sha256_ctx, &prefix, 1) != 1 ||
		EVP_DigestUpdate(sha256_ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(sha256_ctx, out, &outlen) != 1 ||
		outlen != AUDIT_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not compute a SHA-256 digest")));
}

/*
 * The leaf hash of an encoded entry: SHA-256(0x00 || entry), as RFC 6962.
 */
void
audit_hash_leaf(const void *entry, size_t len, uint8 out[AUDIT_HASH_LEN])
{
	hash_prefixed(AUDIT_HASH_PREFIX_LEAF, entry, len, out);
}
