/*-------------------------------------------------------------------------
 *
 * av_key.c
 *	  audit_verify: Ed25519 public keys and signature checks (OpenSSL).
 *
 * A key file is PEM SubjectPublicKeyInfo, as `openssl pkey -pubout` writes
 * it and audit.public_key() returns it.  Its key id is the hex of the
 * first 8 bytes of SHA-256 of the raw 32-byte public key (FORMAT.md), the
 * id the server writes beside each signature.
 *
 * When keys are given, a signature by a key that is not among them is a
 * problem, not something to skip: whoever rewrote the trail could sign it
 * with a key of their own.  Several --public-key options cover a rotation.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "av_key.h"

static void
key_id_of(EVP_PKEY *pkey, const char *path, char out[AV_KEY_ID_LEN + 1])
{
	uint8		raw[32];
	size_t		rawlen = sizeof(raw);
	uint8		h[AUDIT_HASH_LEN];
	unsigned int hlen = 0;
	char	   *hex;

	if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != 32 ||
		EVP_Digest(raw, rawlen, h, &hlen, EVP_sha256(), NULL) != 1)
		av_fatal("could not derive the key id of the public key in \"%s\"", path);
	hex = av_hex(h, AV_KEY_ID_LEN / 2);
	memcpy(out, hex, AV_KEY_ID_LEN + 1);
	free(hex);
}

/* Load an Ed25519 public key from a PEM file and add it to the ring. */
void
av_keyring_add(AvKeyring *ring, const char *path)
{
	FILE	   *fp = fopen(path, "r");
	EVP_PKEY   *pkey;
	AvKey	   *key;

	if (fp == NULL)
		av_fatal("could not open public key file \"%s\": %m", path);
	pkey = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pkey == NULL || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519)
		av_fatal("\"%s\" does not hold an Ed25519 public key in PEM form "
				 "(as audit.public_key() returns it, or openssl pkey -pubout writes it)",
				 path);
	ring->keys = av_realloc(ring->keys, sizeof(AvKey) * (ring->n + 1));
	key = &ring->keys[ring->n++];
	key->pkey = pkey;
	key->path = av_strdup(path);
	key_id_of(pkey, path, key->key_id);
}

/* The key with this id, or NULL. */
const AvKey *
av_keyring_find(const AvKeyring *ring, const char *key_id, size_t len)
{
	if (key_id == NULL || len != AV_KEY_ID_LEN)
		return NULL;
	for (int i = 0; i < ring->n; i++)
		if (memcmp(ring->keys[i].key_id, key_id, AV_KEY_ID_LEN) == 0)
			return &ring->keys[i];
	return NULL;
}

/* "id1, id2", for messages. */
char *
av_keyring_ids(const AvKeyring *ring)
{
	char	   *out = av_strdup("");

	for (int i = 0; i < ring->n; i++)
	{
		char	   *next = av_psprintf("%s%s%s", out, i > 0 ? ", " : "",
									   ring->keys[i].key_id);

		free(out);
		out = next;
	}
	return out;
}

bool
av_key_verify(const AvKey *key, const uint8 *msg, size_t len,
			  const uint8 *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	int			rc = -1;

	if (siglen != AV_SIGNATURE_LEN)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		av_fatal("out of memory for an OpenSSL context");
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, (EVP_PKEY *) key->pkey) == 1)
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1;
}

/*
 * Check a signature over msg by the key key_id names, when keys were given;
 * report 'signature invalid' at w otherwise.  what names what was signed
 * ("the checkpoint at this block").  True when it was checked and holds.
 */
bool
av_signature_check(const AvKeyring *ring, const AvWhere *w, const char *what,
				   const char *key_id, size_t key_id_len, const uint8 *sig,
				   size_t siglen, const uint8 *msg, size_t len)
{
	const AvKey *key;
	char	   *shown;
	char	   *ids;
	bool		ok = false;

	if (ring->n == 0)
		return false;
	shown = key_id ? av_printable(key_id, key_id_len) : av_strdup("(none)");
	key = av_keyring_find(ring, key_id, key_id_len);
	if (key == NULL)
	{
		ids = av_keyring_ids(ring);
		av_problem(w, "signature invalid",
				   "%s is signed by key %s, which is not among the given public keys (%s)",
				   what, shown, ids);
		free(ids);
	}
	else if (!(ok = av_key_verify(key, msg, len, sig, siglen)))
		av_problem(w, "signature invalid",
				   "the signature by key %s does not match %s", shown, what);
	free(shown);
	return ok;
}
