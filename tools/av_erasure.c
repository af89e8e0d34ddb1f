/*-------------------------------------------------------------------------
 *
 * av_erasure.c
 *	  audit_verify: an event's erasure record (audit.event.erasure, written
 *	  by audit.redact(); docs/FORMAT.md, "Erasure"), taken apart for the
 *	  encoding of its row images.
 *
 *	{"erased": {"<side>": {"<key>": "<commitment hex>", ...}, ...},
 *	 "salts":  {"<side>": {"<key>": "<salt hex>", ...}, ...},
 *	 "redactions": [...]}
 *
 * side is k, o or n.  The record is no field: nothing hashes its text, so
 * it is read with the JSON library.  A side whose part is not an object is
 * malformed, and so is an image of that side (the server's rule); other
 * sides are not concerned.  Commitments (32 bytes) and salts (16) are hex,
 * either case, nothing else; one that is not is a row image that cannot
 * be encoded.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_json.h"

static const char av_sides[AV_ERASURE_SIDES] = {'k', 'o', 'n'};

/* The index of side ('k', 'o', 'n'), or -1. */
static int
side_index(char side)
{
	for (int i = 0; i < AV_ERASURE_SIDES; i++)
		if (av_sides[i] == side)
			return i;
	return -1;
}

/* obj[key]: NULL if absent; false if there but not an object. */
static bool
object_member(json_object *obj, const char *key, json_object **out)
{
	*out = NULL;
	if (obj == NULL || !json_object_object_get_ex(obj, key, out))
		return true;
	return json_object_is_type(*out, json_type_object);
}

/* A JSON string of exactly len bytes in hex into out. */
static bool
hex_exact(json_object *v, uint8 *out, size_t len)
{
	uint8	   *bytes;
	size_t		n;

	if (v == NULL || !json_object_is_type(v, json_type_string) ||
		(size_t) json_object_get_string_len(v) != 2 * len ||
		!av_hex_decode(json_object_get_string(v), 2 * len, &bytes, &n))
		return false;
	memcpy(out, bytes, len);
	free(bytes);
	return true;
}

/* jsonb's key order: shorter keys first, then bytewise. */
static int
erased_cmp(const void *a, const void *b)
{
	const AvErasedMember *x = a;
	const AvErasedMember *y = b;

	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return memcmp(x->key, y->key, x->keylen);
}

/* The erased members of one side, sorted; false if one is malformed. */
static bool
read_erased(AvImageErasure *ie, json_object *erased)
{
	struct json_object_iterator it;
	struct json_object_iterator end;

	if (erased == NULL)
		return true;
	ie->erased = av_malloc(sizeof(AvErasedMember) * (json_object_object_length(erased) + 1));
	it = json_object_iter_begin(erased);
	end = json_object_iter_end(erased);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
	{
		AvErasedMember *m = &ie->erased[ie->nerased];

		m->key = json_object_iter_peek_name(&it);
		m->keylen = strlen(m->key);
		if (!hex_exact(json_object_iter_peek_value(&it), m->commitment, AUDIT_HASH_LEN))
			return false;
		ie->nerased++;
	}
	qsort(ie->erased, ie->nerased, sizeof(AvErasedMember), erased_cmp);
	return true;
}

/*
 * Parse the erasure record s[0..len) (NULL: none) into e; each side is
 * marked usable or not.  Text that is not JSON is malformed input (exit
 * 2, naming ctx), as the server rejects it in a proof.  av_erasure_free()
 * releases it.
 */
void
av_erasure_parse(AvErasure *e, const char *s, size_t len, const char *ctx)
{
	json_object *erased = NULL;
	json_object *salts = NULL;
	bool		ok = true;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < AV_ERASURE_SIDES; i++)
		e->side[i].ok = true;
	if (s == NULL)
		return;
	e->root = av_json_parse(s, len, ctx);
	ok = json_object_is_type(e->root, json_type_object) &&
		object_member(e->root, "erased", &erased) &&
		object_member(e->root, "salts", &salts);
	for (int i = 0; i < AV_ERASURE_SIDES; i++)
	{
		AvImageErasure *ie = &e->side[i];
		const char	key[2] = {av_sides[i], '\0'};
		json_object *side_erased;

		ie->ok = ok && object_member(erased, key, &side_erased) &&
			object_member(salts, key, &ie->salts) &&
			read_erased(ie, side_erased);
	}
}

/* The part of the record for the image of side ('k', 'o', 'n'). */
const AvImageErasure *
av_erasure_side(const AvErasure *e, char side)
{
	return &e->side[side_index(side)];
}

/* The salt the record kept for member key[0..keylen); false if none. */
bool
av_erasure_salt(const AvImageErasure *ie, const uint8 *key, size_t keylen,
				uint8 out[AV_MEMBER_SALT_LEN])
{
	char	   *k = av_psprintf("%.*s", (int) keylen, (const char *) key);
	json_object *v = NULL;
	bool		found = ie->salts != NULL && strlen(k) == keylen &&
		json_object_object_get_ex(ie->salts, k, &v);

	free(k);
	return found && hex_exact(v, out, AV_MEMBER_SALT_LEN);
}

void
av_erasure_free(AvErasure *e)
{
	for (int i = 0; i < AV_ERASURE_SIDES; i++)
		free(e->side[i].erased);
	if (e->root != NULL)
		json_object_put(e->root);
	memset(e, 0, sizeof(*e));
}
