/*-------------------------------------------------------------------------
 *
 * sign.c
 *	  Ed25519 signing and checking of checkpoints with the private key in
 *	  the file named by audit.signing_key.
 *
 * The key file must be readable by the server only (no group or world
 * access), like ssl_key_file.  It is loaded once and loaded again when the
 * setting changes.  A signature is checked with the public half of the
 * configured key when its key id matches; signatures by other keys can be
 * checked outside the database with audit_verify and the saved public key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "hash.h"
#include "sign.h"

char	   *audit_signing_key = NULL;	/* GUC audit.signing_key */

static EVP_PKEY *loaded_key = NULL;
static char *loaded_path = NULL;
static char loaded_key_id[AUDIT_KEY_ID_LEN + 1];

bool
audit_sign_configured(void)
{
	return audit_signing_key != NULL && audit_signing_key[0] != '\0';
}

/* key id: hex of the first 8 bytes of SHA-256 of the raw public key. */
static void
key_id_of(EVP_PKEY *key, char out[AUDIT_KEY_ID_LEN + 1])
{
	uint8		raw[32];
	size_t		rawlen = sizeof(raw);
	uint8		h[AUDIT_HASH_LEN];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int hlen = 0;

	if (ctx == NULL ||
		EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1 ||
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		EVP_DigestUpdate(ctx, raw, rawlen) != 1 ||
		EVP_DigestFinal_ex(ctx, h, &hlen) != 1)
	{
		EVP_MD_CTX_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not derive the id of the signing key")));
	}
	EVP_MD_CTX_free(ctx);
	hex_encode((const char *) h, AUDIT_KEY_ID_LEN / 2, out);
	out[AUDIT_KEY_ID_LEN] = '\0';
}

static int
no_passphrase(char *buf pg_attribute_unused(), int size pg_attribute_unused(),
			  int rwflag pg_attribute_unused(), void *u pg_attribute_unused())
{
	return 0;
}

/*
 * Load the key named by audit.signing_key, unless it is already loaded.
 */
static EVP_PKEY *
load_key(void)
{
	struct stat st;
	FILE	   *fp;
	EVP_PKEY   *key;

	if (loaded_key != NULL && loaded_path != NULL &&
		strcmp(loaded_path, audit_signing_key) == 0)
		return loaded_key;

	if (stat(audit_signing_key, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access signing key file \"%s\": %m",
						audit_signing_key)));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" has group or world access",
						audit_signing_key),
				 errdetail("The file must be readable by the database server only."),
				 errhint("Run chmod 600 on the file.")));
	fp = AllocateFile(audit_signing_key, "r");
	if (fp == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open signing key file \"%s\": %m",
						audit_signing_key)));
	/* No terminal prompt for an encrypted key: it is refused below. */
	key = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL);
	FreeFile(fp);
	if (key == NULL || EVP_PKEY_id(key) != EVP_PKEY_ED25519)
	{
		EVP_PKEY_free(key);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" does not hold an unencrypted Ed25519 private key in PEM form",
						audit_signing_key),
				 errhint("Create one with: openssl genpkey -algorithm ed25519 -out FILE")));
	}

	EVP_PKEY_free(loaded_key);
	if (loaded_path)
		pfree(loaded_path);
	loaded_key = key;
	loaded_path = MemoryContextStrdup(TopMemoryContext, audit_signing_key);
	key_id_of(key, loaded_key_id);
	return loaded_key;
}

/*
 * Sign msg with the configured key.
 */
void
audit_sign(const uint8 *msg, size_t len, uint8 sig[AUDIT_SIGNATURE_LEN],
		   char key_id[AUDIT_KEY_ID_LEN + 1])
{
	EVP_PKEY   *key = load_key();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		siglen = AUDIT_SIGNATURE_LEN;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
		siglen == AUDIT_SIGNATURE_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not sign the checkpoint with \"%s\"",
						audit_signing_key)));
	memcpy(key_id, loaded_key_id, AUDIT_KEY_ID_LEN + 1);
}

/*
 * Check a signature made by key key_id.  *checked is false (and the result
 * true) when no configured key has that id, so nothing could be checked.
 */
bool
audit_sign_verify(const char *key_id, const uint8 *msg, size_t len,
				  const uint8 *sig, size_t siglen, bool *checked)
{
	EVP_PKEY   *key;
	EVP_MD_CTX *ctx;
	int			rc;

	*checked = false;
	if (!audit_sign_configured())
		return true;
	key = load_key();
	if (key_id == NULL || strcmp(key_id, loaded_key_id) != 0)
		return true;
	*checked = true;
	if (siglen != AUDIT_SIGNATURE_LEN)
		return false;
	ctx = EVP_MD_CTX_new();
	rc = (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1) ?
		EVP_DigestVerify(ctx, sig, siglen, msg, len) : -1;
	EVP_MD_CTX_free(ctx);
	return rc == 1;
}

/*
 * The public key of the configured signing key, PEM (SubjectPublicKeyInfo),
 * or NULL when no key is configured.
 */
char *
audit_sign_public_key_pem(void)
{
	BIO		   *bio;
	char	   *data;
	long		len;
	char	   *result;

	if (!audit_sign_configured())
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PUBKEY(bio, load_key()) != 1)
	{
		BIO_free(bio);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not write the public signing key")));
	}
	len = BIO_get_mem_data(bio, &data);
	result = pnstrdup(data, len);
	BIO_free(bio);
	return result;
}
