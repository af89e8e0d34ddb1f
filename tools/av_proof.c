/*-------------------------------------------------------------------------
 *
 * av_proof.c
 *	  audit_verify --proof FILE: check an inclusion proof
 *	  (audit.inclusion_proof()) or a consistency proof
 *	  (audit.consistency_proof()), every element of it (FORMAT.md, "Proofs").
 *
 * Inclusion: the event's encoding hashes to leaf_hash; leaf_hash climbs the
 * transaction's tree to its digest; the transaction entry climbs the
 * block's tree to txn_root; the block head (with the chain id) climbs the
 * trail tree to the checkpoint's root; the checkpoint is the trail's, of
 * the tree's size, and signed by a given key.  Consistency: the trail of
 * the larger size extends the one of the smaller.  Saved checkpoints of a
 * size the proof shows must have its root.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_checkpoint.h"
#include "av_json.h"
#include "av_modes.h"

/* One Merkle climb of a proof: the leaf at index in a tree of size leaves. */
typedef struct Climb
{
	int64		index;
	int64		size;
	uint8		(*path)[AUDIT_HASH_LEN];
	int			pathlen;
} Climb;

/* What the inclusion proof says, decoded. */
typedef struct Inclusion
{
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	AvEvent		event;
	uint8		leaf_hash[AUDIT_HASH_LEN];
	TxnEntry	txn;
	Climb		txn_climb;
	BlockHead	block;
	Climb		block_climb;
	Climb		tree_climb;
	AvCheckpoint checkpoint;
	json_object *doc;
} Inclusion;

static json_object *
object_field(json_object *obj, const char *key, const char *ctx)
{
	bool		isnull;
	json_object *v = av_json_field(obj, key, ctx, &isnull);

	if (isnull || !json_object_is_type(v, json_type_object))
		av_fatal("%s: \"%s\" must be an object", ctx, key);
	return v;
}

static int64
count_field(json_object *obj, const char *key, const char *ctx, int64 max)
{
	int64		v = av_json_int64(obj, key, ctx);

	if (v < 0 || v > max)
		av_fatal("%s: \"%s\" is out of range", ctx, key);
	return v;
}

static void
climb_from_json(Climb *c, json_object *obj, const char *ctx, const char *size_key)
{
	c->index = count_field(obj, "index", ctx, PG_INT64_MAX);
	c->size = count_field(obj, size_key, ctx, PG_INT64_MAX);
	av_json_hash_list(obj, "path", ctx, MERKLE_MAX_FRONTIER, &c->path, &c->pathlen);
}

static bool
climb_holds(const Climb *c, const uint8 *leaf, const uint8 *root)
{
	return merkle_inclusion_verify(leaf, (uint64) c->index, (uint64) c->size,
								   (const uint8 (*)[AUDIT_HASH_LEN]) c->path,
								   c->pathlen, root);
}

static void
txn_from_json(Inclusion *p, json_object *doc, const char *ctx)
{
	json_object *t = object_field(doc, "transaction", ctx);
	char	   *tctx = av_psprintf("%s, transaction", ctx);

	p->txn.txid = av_json_uint64(t, "txid", tctx);
	p->txn.position = av_json_int64(t, "position", tctx);
	p->txn.event_count = (int32) count_field(t, "event_count", tctx, PG_INT32_MAX);
	p->txn.committed_at = av_json_int64(t, "committed_at_us", tctx);
	av_json_hash(t, "digest", tctx, p->txn.digest, AUDIT_HASH_LEN);
	climb_from_json(&p->txn_climb, t, tctx, "event_count");
	free(tctx);
}

static void
block_from_json(Inclusion *p, json_object *doc, const char *ctx)
{
	json_object *b = object_field(doc, "block", ctx);
	char	   *bctx = av_psprintf("%s, block", ctx);

	memcpy(p->block.chain_id, p->chain_id, AUDIT_CHAIN_ID_LEN);
	p->block.block_id = av_json_int64(b, "block_id", bctx);
	p->block.first_position = av_json_int64(b, "first_position", bctx);
	p->block.last_position = av_json_int64(b, "last_position", bctx);
	p->block.txn_count = (int32) count_field(b, "txn_count", bctx, PG_INT32_MAX);
	p->block.event_count = av_json_int64(b, "event_count", bctx);
	p->block.sealed_at = av_json_int64(b, "sealed_at_us", bctx);
	av_json_hash(b, "txn_root", bctx, p->block.txn_root, AUDIT_HASH_LEN);
	av_json_hash(b, "prev_hash", bctx, p->block.prev_hash, AUDIT_HASH_LEN);
	climb_from_json(&p->block_climb, b, bctx, "txn_count");
	free(bctx);
}

static void
inclusion_from_json(Inclusion *p, json_object *doc, const char *ctx)
{
	char	   *sub;

	memset(p, 0, sizeof(*p));
	av_json_hash(doc, "chain_id", ctx, p->chain_id, AUDIT_CHAIN_ID_LEN);
	sub = av_psprintf("%s, event", ctx);
	av_event_from_json(&p->event, object_field(doc, "event", ctx), sub);
	free(sub);
	av_json_hash(doc, "leaf_hash", ctx, p->leaf_hash, AUDIT_HASH_LEN);
	txn_from_json(p, doc, ctx);
	block_from_json(p, doc, ctx);
	sub = av_psprintf("%s, tree", ctx);
	climb_from_json(&p->tree_climb, object_field(doc, "tree", ctx), sub, "size");
	free(sub);
	sub = av_psprintf("%s, checkpoint", ctx);
	av_checkpoint_from_json(&p->checkpoint, object_field(doc, "checkpoint", ctx), sub);
	free(sub);
}

/* The event, up to its transaction's digest. */
static void
check_event_part(const Inclusion *p, const AvWhere *w)
{
	uint8		leaf[AUDIT_HASH_LEN];
	AvEventStatus status = av_event_leaf(&p->event, leaf);

	if (status != AV_EVENT_OK)
		av_problem(w, "event altered", "%s", av_event_status_detail(status));
	else if (memcmp(leaf, p->leaf_hash, AUDIT_HASH_LEN) != 0)
	{
		char	   *a = av_hex_x(leaf, AUDIT_HASH_LEN);
		char	   *b = av_hex_x(p->leaf_hash, AUDIT_HASH_LEN);

		av_problem(w, "event altered", "the event hashes to %s, the proof's leaf_hash is %s", a, b);
		free(a);
		free(b);
	}
	if ((uint64) p->event.f[1].i != p->txn.txid)
		av_problem(w, "transaction altered",
				   "the event's txid is " UINT64_FORMAT ", the transaction's " UINT64_FORMAT,
				   (uint64) p->event.f[1].i, p->txn.txid);
	if (!climb_holds(&p->txn_climb, p->leaf_hash, p->txn.digest))
		av_problem(w, "digest mismatch",
				   "the path from leaf " INT64_FORMAT " of " INT64_FORMAT " does not lead to the transaction's digest",
				   p->txn_climb.index, p->txn_climb.size);
}

/* The transaction, up to its block's transaction root. */
static void
check_txn_part(const Inclusion *p, const AvWhere *w)
{
	uint8		leaf[AUDIT_HASH_LEN];

	if (p->txn.position < p->block.first_position ||
		p->txn.position > p->block.last_position)
		av_problem(w, "transaction altered",
				   "position " INT64_FORMAT " lies outside the block's positions " INT64_FORMAT " to " INT64_FORMAT,
				   p->txn.position, p->block.first_position, p->block.last_position);
	audit_txn_leaf(&p->txn, leaf);
	if (!climb_holds(&p->block_climb, leaf, p->block.txn_root))
		av_problem(w, "transaction altered",
				   "the path from transaction " INT64_FORMAT " of " INT64_FORMAT " does not lead to the block's transaction root",
				   p->block_climb.index, p->block_climb.size);
}

/* The block, up to the checkpoint's root; and the checkpoint itself. */
static void
check_block_part(const Inclusion *p, const AvWhere *w, const AvKeyring *keys)
{
	uint8		hash[AUDIT_HASH_LEN];
	const AvCheckpoint *c = &p->checkpoint;

	audit_block_hash(&p->block, hash);
	if (p->tree_climb.index != p->block.block_id - 1)
		av_problem(w, "block altered", "the tree index " INT64_FORMAT " is not block " INT64_FORMAT "'s",
				   p->tree_climb.index, p->block.block_id);
	if (!climb_holds(&p->tree_climb, hash, c->root_hash))
		av_problem(w, "block altered",
				   "the path from block " INT64_FORMAT " of " INT64_FORMAT " does not lead to the checkpoint's root",
				   p->tree_climb.index + 1, p->tree_climb.size);
	if (c->has_block_hash && c->block_id == p->block.block_id &&
		memcmp(c->block_hash, hash, AUDIT_HASH_LEN) != 0)
		av_problem(w, "block altered", "the block hashes differently from the checkpoint's block_hash");
	if (c->block_id != p->tree_climb.size)
		av_problem(w, "checkpoint mismatch", "the tree has " INT64_FORMAT " blocks, the checkpoint " INT64_FORMAT,
				   p->tree_climb.size, c->block_id);
	if (c->has_chain_id && memcmp(c->chain_id, p->chain_id, AUDIT_CHAIN_ID_LEN) != 0)
		av_problem(w, "checkpoint mismatch", "the checkpoint belongs to another trail (chain id differs)");
	if (keys->n > 0 && !c->has_signature)
		av_problem(w, "signature invalid", "the proof's checkpoint is not signed");
	else
		(void) av_checkpoint_check_signature(c, keys, "the proof's checkpoint");
}

/* Saved checkpoints of tree size size must have root (and chain id). */
static int
check_saved(const AvCheckpoints *cps, int64 size, const uint8 *root,
			const uint8 *chain_id)
{
	int			matched = 0;

	for (int i = 0; i < cps->n; i++)
	{
		const AvCheckpoint *c = &cps->items[i];
		AvWhere		w = {c->block_id, 0, -1};

		if (c->block_id != size)
			continue;
		if (c->has_chain_id && memcmp(c->chain_id, chain_id, AUDIT_CHAIN_ID_LEN) != 0)
			av_problem(&w, "checkpoint mismatch",
					   "the saved checkpoint %s belongs to another trail (chain id differs)", c->source);
		else if (memcmp(c->root_hash, root, AUDIT_HASH_LEN) != 0)
			av_problem(&w, "checkpoint mismatch",
					   "the saved checkpoint %s has another root: history up to this block was rewritten",
					   c->source);
		else
			matched++;
	}
	return matched;
}

static int
verify_inclusion(json_object *doc, const char *path, const AvKeyring *keys,
				 const AvCheckpoints *cps)
{
	Inclusion	p;
	AvWhere		w;
	int			saved;

	inclusion_from_json(&p, doc, path);
	w.block_id = p.block.block_id;
	w.txid = (uint64) p.event.f[1].i;
	w.event_id = p.event.f[0].i;
	check_event_part(&p, &w);
	check_txn_part(&p, &w);
	check_block_part(&p, &w, keys);
	saved = check_saved(cps, p.checkpoint.block_id, p.checkpoint.root_hash, p.chain_id);
	(void) av_checkpoints_check_signatures(cps, keys);

	if (av_problem_count() > 0)
	{
		av_summary_failed("inclusion proof");
		return AV_EXIT_FAILED;
	}
	printf("ok: event " INT64_FORMAT " is in block " INT64_FORMAT
		   ", under the checkpoint at block " INT64_FORMAT,
		   p.event.f[0].i, p.block.block_id, p.checkpoint.block_id);
	if (keys->n > 0)
		printf(", signed by key %.*s", (int) p.checkpoint.key_id_len, p.checkpoint.key_id);
	if (saved > 0)
		printf(", %d saved checkpoint%s matched", saved, saved == 1 ? "" : "s");
	printf("\n");
	return AV_EXIT_OK;
}

static void
side_from_json(json_object *doc, const char *key, const char *ctx,
			   int64 *size, uint8 *root)
{
	json_object *side = object_field(doc, key, ctx);
	char	   *sctx = av_psprintf("%s, %s", ctx, key);

	*size = count_field(side, "tree_size", sctx, PG_INT64_MAX);
	av_json_hash(side, "root_hash", sctx, root, AUDIT_HASH_LEN);
	free(sctx);
}

static int
verify_consistency(json_object *doc, const char *path, const AvCheckpoints *cps)
{
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	int64		m,
				n;
	uint8		old_root[AUDIT_HASH_LEN];
	uint8		new_root[AUDIT_HASH_LEN];
	uint8		(*hashes)[AUDIT_HASH_LEN];
	int			len;
	int			saved;
	AvWhere		w = {-1, 0, -1};

	av_json_hash(doc, "chain_id", path, chain_id, AUDIT_CHAIN_ID_LEN);
	side_from_json(doc, "from", path, &m, old_root);
	side_from_json(doc, "to", path, &n, new_root);
	av_json_hash_list(doc, "path", path, 2 * MERKLE_MAX_FRONTIER, &hashes, &len);
	w.block_id = n;
	if (!merkle_consistency_verify((uint64) m, (uint64) n, old_root, new_root,
								   (const uint8 (*)[AUDIT_HASH_LEN]) hashes, len))
		av_problem(&w, "checkpoint mismatch",
				   "the proof does not show that the trail of " INT64_FORMAT
				   " blocks extends the one of " INT64_FORMAT " blocks", n, m);
	saved = check_saved(cps, m, old_root, chain_id) + check_saved(cps, n, new_root, chain_id);
	free(hashes);
	if (av_problem_count() > 0)
	{
		av_summary_failed("consistency proof");
		return AV_EXIT_FAILED;
	}
	printf("ok: the trail of " INT64_FORMAT " blocks extends the one of " INT64_FORMAT " blocks",
		   n, m);
	if (saved > 0)
		printf(", %d saved checkpoint%s matched", saved, saved == 1 ? "" : "s");
	printf("\n");
	return AV_EXIT_OK;
}

int
av_proof_verify(const char *path, const AvKeyring *keys, const AvCheckpoints *cps)
{
	json_object *doc = av_json_read_file(path, false);
	int			rc;

	av_json_require_object(doc, path);
	if (av_json_has(doc, "format") && av_json_int64(doc, "format", path) != 1)
		av_fatal("%s: proof format " INT64_FORMAT " is not known (1 is)", path,
				 av_json_int64(doc, "format", path));
	if (av_json_has(doc, "event"))
		rc = verify_inclusion(doc, path, keys, cps);
	else if (av_json_has(doc, "from") && av_json_has(doc, "to"))
		rc = verify_consistency(doc, path, cps);
	else
		av_fatal("%s: neither an inclusion proof (no \"event\") nor a consistency proof (no \"from\" and \"to\")",
				 path);
	json_object_put(doc);
	return rc;
}
