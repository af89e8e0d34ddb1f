/*-------------------------------------------------------------------------
 *
 * av_checkpoint.c
 *	  audit_verify: reading saved checkpoints, and checking their own
 *	  signatures.
 *
 * A checkpoint file holds what audit.digest() returned: one object, or an
 * array of them.  Only block_id (the tree size) and root_hash are needed
 * to check that the trail extends it; chain_id, when present, must be the
 * trail's; a signature is checked when public keys are given.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_checkpoint.h"

/* An optional field: absent and null are the same. */
static bool
present(json_object *obj, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) && v != NULL &&
		!json_object_is_type(v, json_type_null);
}

static void
checkpoint_signature_from_json(AvCheckpoint *c, json_object *obj, const char *ctx)
{
	uint8	   *sig;
	size_t		siglen;
	const char *key_id;

	if (present(obj, "signature") &&
		av_json_hex_null(obj, "signature", ctx, &sig, &siglen))
	{
		c->has_signature = true;
		c->signature_len = siglen;
		memcpy(c->signature, sig, Min(siglen, (size_t) AV_SIGNATURE_LEN));
		free(sig);
	}
	if (present(obj, "key_id") &&
		av_json_text_null(obj, "key_id", ctx, &key_id, &c->key_id_len))
	{
		c->has_key_id = true;
		c->key_id_len = Min(c->key_id_len, (size_t) AV_KEY_ID_MAX); /* cut */
		memcpy(c->key_id, key_id, c->key_id_len);
	}
}

/* One checkpoint object. */
void
av_checkpoint_from_json(AvCheckpoint *c, json_object *obj, const char *ctx)
{
	memset(c, 0, sizeof(*c));
	av_json_require_object(obj, ctx);
	c->source = av_strdup(ctx);
	if (present(obj, "format") && av_json_int64(obj, "format", ctx) != 1)
		av_fatal("%s: checkpoint format " INT64_FORMAT " is not known (1 is)",
				 ctx, av_json_int64(obj, "format", ctx));
	c->block_id = av_json_int64(obj, "block_id", ctx);
	if (c->block_id < 1)
		av_fatal("%s: \"block_id\" must be at least 1", ctx);
	if (present(obj, "tree_size") && av_json_int64(obj, "tree_size", ctx) != c->block_id)
		av_fatal("%s: \"tree_size\" and \"block_id\" differ", ctx);
	av_json_hash(obj, "root_hash", ctx, c->root_hash, AUDIT_HASH_LEN);
	if ((c->has_chain_id = present(obj, "chain_id")))
		av_json_hash(obj, "chain_id", ctx, c->chain_id, AUDIT_CHAIN_ID_LEN);
	if ((c->has_block_hash = present(obj, "block_hash")))
		av_json_hash(obj, "block_hash", ctx, c->block_hash, AUDIT_HASH_LEN);
	checkpoint_signature_from_json(c, obj, ctx);
	if (c->has_signature && !c->has_chain_id)
		av_fatal("%s: a signed checkpoint must have \"chain_id\"", ctx);
}

/* Add the checkpoints of a parsed document: an object or an array. */
void
av_checkpoints_add_json(AvCheckpoints *cps, json_object *doc, const char *source)
{
	size_t		n = 1;
	bool		is_array = json_object_is_type(doc, json_type_array);

	if (is_array)
		n = json_object_array_length(doc);
	else if (!json_object_is_type(doc, json_type_object))
		av_fatal("%s: a checkpoint object, or an array of them, was expected", source);
	if (is_array && n == 0)
		av_fatal("%s: the array holds no checkpoint", source);
	if (n > (size_t) (PG_INT32_MAX / 2 - cps->n))
		av_fatal("%s: too many checkpoints", source);
	cps->items = av_realloc(cps->items, sizeof(AvCheckpoint) * (cps->n + n));
	for (size_t i = 0; i < n; i++)
	{
		char		ctx[1100];

		if (is_array)
			snprintf(ctx, sizeof(ctx), "%s[%zu]", source, i);
		else
			snprintf(ctx, sizeof(ctx), "%s", source);
		av_checkpoint_from_json(&cps->items[cps->n++],
								is_array ? json_object_array_get_idx(doc, i) : doc,
								ctx);
	}
}

/* --checkpoint FILE */
void
av_checkpoints_load(AvCheckpoints *cps, const char *path)
{
	json_object *doc = av_json_read_file(path, false);

	av_checkpoints_add_json(cps, doc, path);
	json_object_put(doc);
}

/*
 * A checkpoint's own signature, over its own chain id, size and root.
 * True when checked and valid; problems are reported.
 */
bool
av_checkpoint_check_signature(const AvCheckpoint *c, const AvKeyring *keys,
							  const char *what)
{
	AvWhere		w = {c->block_id, 0, -1};
	uint8		msg[AUDIT_CHECKPOINT_MSG_LEN];

	if (keys->n == 0 || !c->has_signature)
		return false;
	audit_checkpoint_message(c->chain_id, (uint64) c->block_id, c->root_hash, msg);
	return av_signature_check(keys, &w, what,
							  c->has_key_id ? c->key_id : NULL,
							  c->key_id_len, c->signature, c->signature_len,
							  msg, sizeof(msg));
}

/* The signatures of all saved checkpoints; returns how many hold. */
int
av_checkpoints_check_signatures(const AvCheckpoints *cps, const AvKeyring *keys)
{
	int			good = 0;

	for (int i = 0; i < cps->n; i++)
	{
		char	   *what = av_psprintf("the saved checkpoint %s", cps->items[i].source);

		if (av_checkpoint_check_signature(&cps->items[i], keys, what))
			good++;
		free(what);
	}
	return good;
}
