/*-------------------------------------------------------------------------
 *
 * av_check.c
 *	  audit_verify: the verification walk, the same as audit.verify()'s in
 *	  the server (src/verify.c), with the same problem names and details.
 *
 * Blocks are walked in id order.  Each block's link to the previous one is
 * checked, then its transactions (the positions it covers, in order), each
 * against its events, then the block's own hash, the trail tree over block
 * hashes (with saved checkpoints) and its signature.  Transactions after
 * the last block are checked the same way (unsealed), and last the events
 * that belong to no transaction.
 *
 * Everything streams: the source hands over one block, one transaction and
 * one event at a time, in matching orders, so memory does not grow with
 * the trail.
 *
 * A stored hash that disagrees is reported once, where it is wrong; the
 * walk then goes on from the stored value, so one alteration does not make
 * every later block look broken.  The server resynchronises the trail tree
 * from a block's stored tree_frontier; the views of audit_reader and
 * bundles do not show that column, so without it the tree is rebuilt from
 * the stored block hash, and after a gap in block ids (which no stored hash
 * can bridge) later blocks are checked against their stored tree roots
 * only: against saved checkpoints and signatures.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_check.h"

typedef struct Walk
{
	AvSource   *src;
	const AvKeyring *keys;
	AvCheckpoints *cps;

	/* One transaction and one event of lookahead. */
	AvTxn		txn;
	bool		has_txn;
	bool		txns_done;
	AvEventRec	ev;
	bool		has_ev;
	bool		events_done;

	/* The previous block, as stored, and the trail tree after it. */
	int64		block_id;
	int64		last_position;
	uint8		block_hash[AUDIT_HASH_LEN];
	MerkleFrontier tree;
	bool		tree_known;

	/* For the summary. */
	int64		blocks;
	int64		txns;
	int64		events;
	int64		unsealed_txns;
	int64		unsealed_events;
	int64		archived_events;
	int64		signatures;
	int64		checkpoints_matched;
} Walk;

/* Totals of the transactions of one block (or of the unsealed ones). */
typedef struct Totals
{
	int32		txn_count;
	int64		event_count;
	MerkleFrontier tree;		/* of transaction leaves */
} Totals;

static bool
peek_txn(Walk *w)
{
	if (!w->has_txn && !w->txns_done)
	{
		w->has_txn = w->src->next_txn(w->src->arg, &w->txn);
		w->txns_done = !w->has_txn;
	}
	return w->has_txn;
}

static bool
peek_event(Walk *w)
{
	if (!w->has_ev && !w->events_done)
	{
		w->has_ev = w->src->next_event(w->src->arg, &w->ev);
		w->events_done = !w->has_ev;
	}
	return w->has_ev;
}

static void
problem_hashes(const AvWhere *where, const char *problem, const char *fmt,
			   const uint8 *a, const uint8 *b)
{
	char	   *ha = a ? av_hex_x(a, AUDIT_HASH_LEN) : av_strdup("(none)");
	char	   *hb = av_hex_x(b, AUDIT_HASH_LEN);

	/* fmt is one of this file's literals, with two %s */
	av_problem(where, problem, fmt, ha, hb);
	free(ha);
	free(hb);
}

/*
 * An archived event: its stored leaf stands for it, if an archive covers
 * its block and its payload is gone (as the server's verify checks it).
 */
static void
check_archived_event(Walk *w, const AvWhere *where, const AvEventRec *ev)
{
	w->archived_events++;
	if (!av_archives_cover(&w->src->archives, ev->archive_id, where->block_id))
		av_problem(where, "event altered",
				   "payload removed outside an archive: archive " INT64_FORMAT " does not cover its block",
				   ev->archive_id);
	else if (ev->holds_payload)
		av_problem(where, "event altered", "an archived event holds payload");
	if (!ev->has_stored)
		av_problem(where, "event altered", "leaf hash is missing or malformed");
}

/*
 * Report what checking the event found, and give the leaf its
 * transaction's tree is rebuilt from.
 */
static void
check_event(Walk *w, AvWhere *where, const AvEventRec *ev,
			uint8 leaf[AUDIT_HASH_LEN])
{
	where->event_id = ev->event_id;
	w->events++;
	if (ev->status == AV_EVENT_ARCHIVED)
		check_archived_event(w, where, ev);
	else if (ev->status == AV_EVENT_MISMATCH)
		problem_hashes(where, "event altered", "stored leaf hash %s, computed %s",
					   ev->stored, ev->computed);
	else if (ev->status != AV_EVENT_OK)
		av_problem(where, "event altered", "%s",
				   av_event_status_detail((AvEventStatus) ev->status));
	av_event_rec_leaf(ev, leaf);
}

/* The transaction's events against its event count and digest. */
static void
check_txn_digest(const AvWhere *where, const AvTxn *txn, int64 found,
				 const MerkleFrontier *tree)
{
	uint8		root[AUDIT_HASH_LEN];

	if (found < txn->entry.event_count)
		av_problem(where, "event missing",
				   "the transaction recorded %d events, " INT64_FORMAT " are present",
				   txn->entry.event_count, found);
	else if (found > txn->entry.event_count)
		av_problem(where, "event inserted",
				   "the transaction recorded %d events, " INT64_FORMAT " are present",
				   txn->entry.event_count, found);
	else if (!txn->digest_ok)
		av_problem(where, "digest mismatch", "the stored digest is missing or malformed");
	else
	{
		merkle_frontier_root(tree, root);
		if (memcmp(root, txn->entry.digest, AUDIT_HASH_LEN) != 0)
			problem_hashes(where, "digest mismatch",
						   "stored digest %s, computed from its events %s",
						   txn->entry.digest, root);
	}
}

/* The events of one transaction: they come next in the event stream. */
static void
check_txn_events(Walk *w, AvWhere *where, const AvTxn *txn)
{
	MerkleFrontier tree;
	int64		found = 0;
	uint8		leaf[AUDIT_HASH_LEN];

	merkle_frontier_init(&tree);
	/* Events of transactions that no block covers are passed over. */
	while (peek_event(w) && !w->ev.orphan && w->ev.position < txn->entry.position)
		w->has_ev = false;
	while (peek_event(w) && !w->ev.orphan && w->ev.position == txn->entry.position)
	{
		check_event(w, where, &w->ev, leaf);
		merkle_frontier_append(&tree, leaf);
		found++;
		w->has_ev = false;
	}
	where->event_id = -1;
	check_txn_digest(where, txn, found, &tree);
}

/* Pass over transactions before position first (no block covers them). */
static void
skip_txns_before(Walk *w, int64 first)
{
	while (peek_txn(w) && w->txn.entry.position < first)
		w->has_txn = false;
}

/*
 * Check the transactions up to position last, in order, for block
 * block_id (-1: not sealed yet).
 */
static void
check_txns_upto(Walk *w, int64 block_id, int64 last, Totals *t)
{
	memset(t, 0, sizeof(*t));
	merkle_frontier_init(&t->tree);
	while (peek_txn(w) && w->txn.entry.position <= last)
	{
		AvTxn		txn = w->txn;
		AvWhere		where = {block_id, txn.entry.txid, -1};
		uint8		leaf[AUDIT_HASH_LEN];

		w->has_txn = false;
		check_txn_events(w, &where, &txn);
		audit_txn_leaf(&txn.entry, leaf);
		merkle_frontier_append(&t->tree, leaf);
		t->txn_count++;
		t->event_count += txn.entry.event_count;
		w->txns++;
		if (block_id < 0)
		{
			w->unsealed_txns++;
			w->unsealed_events += txn.entry.event_count;
		}
	}
}

/* The link to the previous block: id, positions, hash. */
static void
check_block_link(const Walk *w, const AvWhere *where, const AvBlock *b)
{
	if (b->head.block_id != w->block_id + 1)
		av_problem(where, "chain broken", "block " INT64_FORMAT " follows block " INT64_FORMAT,
				   b->head.block_id, w->block_id);
	if (b->head.first_position != w->last_position + 1)
		av_problem(where, "chain broken",
				   "the block starts at position " INT64_FORMAT ", the previous one ended at " INT64_FORMAT,
				   b->head.first_position, w->last_position);
	if (memcmp(b->head.prev_hash, w->block_hash, AUDIT_HASH_LEN) != 0)
		problem_hashes(where, "chain broken", "prev_hash %s, hash of the previous block %s",
					   b->head.prev_hash, w->block_hash);
}

/* The block's transactions against its counts and transaction root. */
static void
check_block_txns(Walk *w, const AvWhere *where, const AvBlock *b)
{
	Totals		t;
	uint8		root[AUDIT_HASH_LEN];

	skip_txns_before(w, b->head.first_position);
	check_txns_upto(w, b->head.block_id, b->head.last_position, &t);
	if (t.txn_count < b->head.txn_count)
		av_problem(where, "transaction missing",
				   "the block sealed %d transactions, %d are present",
				   b->head.txn_count, t.txn_count);
	else if (t.txn_count > b->head.txn_count)
		av_problem(where, "transaction inserted",
				   "the block sealed %d transactions, %d are present",
				   b->head.txn_count, t.txn_count);
	else
	{
		merkle_frontier_root(&t.tree, root);
		if (memcmp(root, b->head.txn_root, AUDIT_HASH_LEN) != 0)
			problem_hashes(where, "transaction altered", "stored transaction root %s, computed %s",
						   b->head.txn_root, root);
		else if (t.event_count != b->head.event_count)
			av_problem(where, "block altered",
					   "the block counts " INT64_FORMAT " events, its transactions " INT64_FORMAT,
					   b->head.event_count, t.event_count);
	}
}

/* Saved checkpoints at this tree size must have this root (NULL: unknown). */
static void
check_checkpoints_at(Walk *w, const AvWhere *where, int64 block_id,
					 const uint8 *root)
{
	for (int i = 0; i < w->cps->n; i++)
	{
		AvCheckpoint *c = &w->cps->items[i];

		if (c->block_id != block_id)
			continue;
		c->seen = true;
		if (c->has_chain_id &&
			memcmp(c->chain_id, w->src->chain_id, AUDIT_CHAIN_ID_LEN) != 0)
			av_problem(where, "checkpoint mismatch",
					   "the checkpoint belongs to another trail (chain id differs)");
		else if (root == NULL)
			av_problem(where, "checkpoint mismatch",
					   "the stored tree root at this block is missing or malformed");
		else if (memcmp(c->root_hash, root, AUDIT_HASH_LEN) != 0)
			problem_hashes(where, "checkpoint mismatch",
						   "saved root %s, root of the trail now %s: history up to this block was rewritten",
						   c->root_hash, root);
		else
			w->checkpoints_matched++;
	}
}

/* The block's signature of the checkpoint at it, when keys were given. */
static void
check_block_signature(Walk *w, const AvWhere *where, const AvBlock *b,
					  uint64 size, const uint8 *root)
{
	uint8		msg[AUDIT_CHECKPOINT_MSG_LEN];
	char	   *shown;

	if (w->keys->n == 0)
		return;
	if (!b->has_signature)
	{
		if (b->has_key_id)
		{
			shown = av_printable(b->key_id, b->key_id_len);
			av_problem(where, "signature invalid",
					   "the block names key %s but carries no signature", shown);
			free(shown);
		}
		return;
	}
	if (root == NULL)
	{
		av_problem(where, "signature invalid",
				   "the stored tree root is missing or malformed: the signature cannot be checked");
		return;
	}
	audit_checkpoint_message(w->src->chain_id, size, root, msg);
	if (av_signature_check(w->keys, where, "the checkpoint at this block",
						   b->has_key_id ? b->key_id : NULL, b->key_id_len,
						   b->signature, b->signature_len, msg, sizeof(msg)))
		w->signatures++;
}

/*
 * After a stored tree root that disagrees: go on from the stored state, as
 * the server does from tree_frontier.  Without that column, the tree over
 * the stored block hash is the same thing while no block is missing.
 */
static void
resync_tree(Walk *w, const AvWhere *where, const AvBlock *b,
			const MerkleFrontier *before, const uint8 *hash)
{
	if (b->has_frontier)
	{
		if (b->frontier_ok)
			w->tree = b->frontier;
		else
			av_problem(where, "block altered", "the stored tree frontier is malformed");
		return;
	}
	if (b->head.block_id >= 1 && (uint64) b->head.block_id == w->tree.size)
	{
		w->tree = *before;
		merkle_frontier_append(&w->tree, b->block_hash.ok ? b->block_hash.h : hash);
	}
	else
		w->tree_known = false;
}

/* The block's hash, the trail tree, saved checkpoints and the signature. */
static void
check_block_hashes(Walk *w, const AvWhere *where, const AvBlock *b)
{
	uint8		hash[AUDIT_HASH_LEN];
	uint8		root[AUDIT_HASH_LEN];
	const uint8 *rootp = root;
	uint64		size = (uint64) b->head.block_id;
	MerkleFrontier before = w->tree;

	audit_block_hash(&b->head, hash);
	if (!b->block_hash.ok || memcmp(hash, b->block_hash.h, AUDIT_HASH_LEN) != 0)
		problem_hashes(where, "block altered", "stored block hash %s, computed %s",
					   b->block_hash.ok ? b->block_hash.h : NULL, hash);
	if (w->tree_known)
	{
		merkle_frontier_append(&w->tree, hash);
		merkle_frontier_root(&w->tree, root);
		size = w->tree.size;
	}
	else if (b->tree_root.ok)
		memcpy(root, b->tree_root.h, AUDIT_HASH_LEN);
	else
		rootp = NULL;
	check_checkpoints_at(w, where, b->head.block_id, rootp);
	check_block_signature(w, where, b, size, rootp);

	if (w->tree_known &&
		(!b->tree_root.ok || memcmp(root, b->tree_root.h, AUDIT_HASH_LEN) != 0))
	{
		problem_hashes(where, "block altered", "stored tree root %s, computed %s",
					   b->tree_root.ok ? b->tree_root.h : NULL, root);
		resync_tree(w, where, b, &before, hash);
	}
	else if (!w->tree_known && !b->tree_root.ok)
		av_problem(where, "block altered", "the stored tree root is missing or malformed");
}

static void
check_block(Walk *w, AvBlock *b)
{
	AvWhere		where = {b->head.block_id, 0, -1};

	memcpy(b->head.chain_id, w->src->chain_id, AUDIT_CHAIN_ID_LEN);
	check_block_link(w, &where, b);
	check_block_txns(w, &where, b);
	check_block_hashes(w, &where, b);
	w->block_id = b->head.block_id;
	w->last_position = b->head.last_position;
	if (b->block_hash.ok)
		memcpy(w->block_hash, b->block_hash.h, AUDIT_HASH_LEN);
	else
		audit_block_hash(&b->head, w->block_hash);
	w->blocks++;
}

/* Events whose transaction has no digest row: added, or their digest removed. */
static void
check_orphans(Walk *w)
{
	while (peek_event(w))
	{
		AvEventRec	ev = w->ev;
		AvWhere		where = {-1, ev.txid, -1};
		uint8		leaf[AUDIT_HASH_LEN];

		w->has_ev = false;
		if (!ev.orphan)
			continue;			/* of a transaction no block covers */
		check_event(w, &where, &ev, leaf);
		av_problem(&where, "event inserted",
				   "its transaction has no digest: the event was added, or the transaction's digest removed");
	}
}

/* Checkpoints beyond the end of the trail. */
static void
check_truncation(Walk *w)
{
	for (int i = 0; i < w->cps->n; i++)
	{
		AvWhere		where = {w->cps->items[i].block_id, 0, -1};

		if (!w->cps->items[i].seen)
			av_problem(&where, "trail truncated",
					   "a checkpoint was saved at block " INT64_FORMAT ", the trail ends at block " INT64_FORMAT,
					   w->cps->items[i].block_id, w->block_id);
	}
}

static int
summary(const Walk *w)
{
	char	   *b = av_count_of(w->blocks, "block");
	char	   *t = av_count_of(w->txns, "transaction");
	char	   *e = av_count_of(w->events, "event");
	char	   *counts = av_psprintf("%s, %s, %s", b, t, e);

	free(b);
	free(t);
	free(e);
	if (av_problem_count() > 0)
	{
		char	   *what = av_psprintf("%s checked in the %s", counts, w->src->name);

		av_summary_failed(what);
		free(what);
		free(counts);
		return AV_EXIT_FAILED;
	}
	printf("ok: %s, " INT64_FORMAT " unsealed event%s", counts, w->unsealed_events,
		   w->unsealed_events == 1 ? "" : "s");
	if (w->archived_events > 0)
		printf(", " INT64_FORMAT " archived event%s", w->archived_events,
			   w->archived_events == 1 ? "" : "s");
	if (w->keys->n > 0)
		printf(", " INT64_FORMAT " signature%s checked", w->signatures,
			   w->signatures == 1 ? "" : "s");
	if (w->cps->n > 0)
		printf(", " INT64_FORMAT " checkpoint%s extended", w->checkpoints_matched,
			   w->checkpoints_matched == 1 ? "" : "s");
	printf("\n");
	free(counts);
	return AV_EXIT_OK;
}

/*
 * Verify the trail src reads, with the public keys and saved checkpoints
 * given; print the problems and a summary.  Returns the exit status.
 */
int
av_check_trail(AvSource *src, const AvKeyring *keys, AvCheckpoints *cps)
{
	Walk		w;
	AvBlock    *b = av_malloc(sizeof(AvBlock));
	Totals		t;

	memset(&w, 0, sizeof(w));
	w.src = src;
	w.keys = keys;
	w.cps = cps;
	w.tree_known = true;
	merkle_frontier_init(&w.tree);
	w.signatures = av_checkpoints_check_signatures(cps, keys);

	while (src->next_block(src->arg, b))
		check_block(&w, b);
	skip_txns_before(&w, w.last_position + 1);
	check_txns_upto(&w, -1, PG_INT64_MAX, &t);
	check_orphans(&w);
	check_truncation(&w);
	free(b);
	return summary(&w);
}
