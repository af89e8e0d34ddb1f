/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Walks the trail in chain order and reports every inconsistency, never
 *	  stopping at the first.
 *
 * For each block, in id order: the head is hashed again and compared, the
 * chain link and position range are checked against the previous block,
 * the Merkle tree of block hashes is extended and its root compared (and
 * with saved checkpoints), the signature is checked when the key is known.
 * For each transaction of the block, in position order, its events are
 * fetched through the (txid, event_id) index: each event's leaf hash is
 * recomputed, and the Merkle root of the stored leaves is compared with the
 * transaction's digest and count.  Transactions not yet sealed are checked
 * the same way, and finally events that belong to no transaction at all
 * are looked for.
 *
 * A stored hash that disagrees is reported once, where it is wrong; the
 * walk then continues from the stored values, so one alteration does not
 * make every later block look broken.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "alert.h"
#include "archive.h"
#include "chain_format.h"
#include "event_format.h"
#include "event_images.h"
#include "merkle.h"
#include "schema.h"
#include "seal.h"
#include "sign.h"
#include "store.h"
#include "verify.h"

typedef struct Verifier
{
	const VerifyOptions *opts;
	VerifyResult *res;
	MemoryContext result_cxt;	/* first_problem lives here */
	MemoryContext scan_cxt;		/* where the event scan began: it allocates there */
	MemoryContext work_cxt;		/* reset per block */
	MemoryContext txn_cxt;		/* reset per transaction */
	Snapshot	snap;
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	uint64		own_txid;		/* this transaction's, if it has one */
	int64		matched_events; /* events reached through a transaction */
	AuditArchiveRange *archives;	/* audit.archive, by archive_id */
	int			narchives;
	Relation	event_rel;
	Relation	event_idx;
	IndexScanDesc event_scan;
	TupleTableSlot *event_slot;
	Relation	txn_rel;
	Relation	txn_idx;
	Relation	block_rel;
	Relation	block_idx;
} Verifier;

/* Location of a problem; -1 / 0 where it does not apply. */
typedef struct Where
{
	int64		block_id;
	uint64		txid;
	int64		event_id;
} Where;

static char *
hex_of(const uint8 *bytes, size_t len)
{
	char	   *out = palloc(len * 2 + 3);

	out[0] = '\\';
	out[1] = 'x';
	hex_encode((const char *) bytes, len, out + 2);
	out[len * 2 + 2] = '\0';
	return out;
}

/* "event 42: ", "transaction 731: " or "block 3: ", the most precise. */
static char *
where_prefix(const Where *w)
{
	if (w->event_id >= 0)
		return psprintf("event %lld: ", (long long) w->event_id);
	if (w->txid != 0)
		return psprintf("transaction %llu: ", (unsigned long long) w->txid);
	if (w->block_id >= 0)
		return psprintf("block %lld: ", (long long) w->block_id);
	return pstrdup("");
}

/*
 * Record one problem: count it, keep the first, and add a report row.
 */
static void
report(Verifier *v, const Where *w, const char *problem, const char *detail)
{
	VerifyResult *res = v->res;

	res->problems++;
	if (res->first_problem == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(v->result_cxt);

		res->first_problem = psprintf("%s%s: %s", where_prefix(w), problem, detail);
		MemoryContextSwitchTo(old);
	}
	if (v->opts->report)
	{
		Datum		values[5];
		bool		isnull[5] = {w->block_id < 0, w->txid == 0, w->event_id < 0, false, false};

		values[0] = Int64GetDatum(w->block_id);
		values[1] = FullTransactionIdGetDatum(FullTransactionIdFromU64(w->txid));
		values[2] = Int64GetDatum(w->event_id);
		values[3] = CStringGetTextDatum(problem);
		values[4] = CStringGetTextDatum(detail);
		tuplestore_putvalues(v->opts->report, v->opts->report_desc, values, isnull);
	}
}

/* A stored hash column, or NULL when it is not a 32-byte value. */
static const uint8 *
stored_hash(Datum d, bool isnull)
{
	bytea	   *b;

	if (isnull)
		return NULL;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != AUDIT_HASH_LEN)
		return NULL;
	return (const uint8 *) VARDATA_ANY(b);
}

/*
 * An archived event is not encoded again: its stored leaf hash stands for
 * it, provided an archive covers its block and its payload is gone.
 */
static void
verify_archived_event(Verifier *v, const Where *w, const Datum *values,
					  const bool *isnull, int natts, const uint8 *stored)
{
	int64		archive_id = DatumGetInt64(values[Anum_event_archive_id - 1]);

	v->res->archived_events++;
	if (!audit_archive_covers(v->archives, v->narchives, archive_id, w->block_id))
		report(v, w, "event altered",
			   psprintf("payload removed outside an archive: archive %lld does not cover its block",
						(long long) archive_id));
	else if (!audit_event_payload_removed(isnull, natts))
		report(v, w, "event altered", "an archived event holds payload");
	if (stored == NULL)
		report(v, w, "event altered", "leaf hash is missing or malformed");
}

/* The jsonb columns that the checks and the encoding of an event each read. */
static const int event_jsonb_read[] = {
	Anum_event_row_key, Anum_event_old_row, Anum_event_new_row, Anum_event_erasure
};

/*
 * The first natts values of the event in slot (all deformed) into values,
 * its row images and erasure record detoasted: once here, in the current
 * context, rather than by each check and again by the encoding (a jsonb
 * stored with a short header is copied by every DatumGetJsonbP).
 */
static void
event_values(TupleTableSlot *slot, Datum *values, int natts)
{
	memcpy(values, slot->tts_values, natts * sizeof(Datum));
	for (int i = 0; i < (int) lengthof(event_jsonb_read); i++)
	{
		int			attnum = event_jsonb_read[i];

		if (attnum <= natts && !slot->tts_isnull[attnum - 1])
			values[attnum - 1] = PointerGetDatum(PG_DETOAST_DATUM(values[attnum - 1]));
	}
}

/*
 * Check one event against its leaf hash.  leaf receives the leaf to build
 * the transaction's root from: the stored one, so that an altered event is
 * reported here and not again as a digest mismatch.
 */
static void
verify_event(Verifier *v, Where *w, TupleTableSlot *slot,
			 uint8 leaf[AUDIT_HASH_LEN])
{
	Datum		values[Natts_event];
	const bool *isnull = slot->tts_isnull;
	int			natts = Min(slot->tts_tupleDescriptor->natts, Natts_event);
	uint8		computed[AUDIT_HASH_LEN];
	const uint8 *stored;

	event_values(slot, values, natts);
	stored = stored_hash(values[Anum_event_leaf_hash - 1],
						 isnull[Anum_event_leaf_hash - 1]);
	w->event_id = isnull[Anum_event_event_id - 1] ? -1 :
		DatumGetInt64(values[Anum_event_event_id - 1]);
	v->res->events_checked++;
	memset(leaf, 0, AUDIT_HASH_LEN);
	if (stored)
		memcpy(leaf, stored, AUDIT_HASH_LEN);

	if (audit_event_is_archived(values, isnull, natts))
	{
		verify_archived_event(v, w, values, isnull, natts, stored);
		return;
	}
	if (audit_event_format(values, isnull, natts) == 0)
	{
		report(v, w, "event altered", "unknown format version");
		return;
	}
	if (audit_event_has_unhashed(values, isnull, natts))
		report(v, w, "event altered",
			   "fields its format version does not hash hold values");
	if (!audit_event_images_encodable(values, isnull, natts))
	{
		/* no leaf hash to compute: its transaction is rebuilt from the stored one */
		report(v, w, "event altered", AUDIT_EVENT_IMAGES_UNENCODABLE);
		return;
	}
	audit_event_leaf_hash(values, isnull, natts, computed);
	if (stored == NULL)
	{
		report(v, w, "event altered", "leaf hash is missing or malformed");
		memcpy(leaf, computed, AUDIT_HASH_LEN);
	}
	else if (memcmp(stored, computed, AUDIT_HASH_LEN) != 0)
		report(v, w, "event altered",
			   psprintf("stored leaf hash %s, computed %s",
						hex_of(stored, AUDIT_HASH_LEN),
						hex_of(computed, AUDIT_HASH_LEN)));
}

/*
 * Check a transaction's events against its digest and count.
 */
static void
verify_txn_events(Verifier *v, Where *w, const TxnEntry *txn)
{
	ScanKeyData key;
	MerkleFrontier tree;
	int64		found = 0;
	uint8		leaf[AUDIT_HASH_LEN];
	uint8		root[AUDIT_HASH_LEN];
	MemoryContext caller = CurrentMemoryContext;

	/*
	 * A raw index scan: the key is the index's first column, txid.  The
	 * scan is driven from the context it began in: it allocates state of
	 * its own there as it goes (btree's killed items), which must outlive
	 * the resets of the per-block and per-transaction contexts.
	 */
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_XID8EQ,
				FullTransactionIdGetDatum(FullTransactionIdFromU64(txn->txid)));
	MemoryContextSwitchTo(v->scan_cxt);
	index_rescan(v->event_scan, &key, 1, NULL, 0);
	merkle_frontier_init(&tree);
	while (index_getnext_slot(v->event_scan, ForwardScanDirection, v->event_slot))
	{
		MemoryContextSwitchTo(v->txn_cxt);
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(v->event_slot);
		verify_event(v, w, v->event_slot, leaf);
		MemoryContextSwitchTo(v->scan_cxt);
		merkle_frontier_append(&tree, leaf);
		/* what an event leaves behind goes, now and then: a transaction may hold millions */
		if ((++found & 1023) == 0)
			MemoryContextReset(v->txn_cxt);
	}
	MemoryContextSwitchTo(caller);
	w->event_id = -1;
	v->matched_events += found;

	if (found < txn->event_count)
		report(v, w, "event missing",
			   psprintf("the transaction recorded %d events, %lld are present",
						txn->event_count, (long long) found));
	else if (found > txn->event_count)
		report(v, w, "event inserted",
			   psprintf("the transaction recorded %d events, %lld are present",
						txn->event_count, (long long) found));
	else
	{
		merkle_frontier_root(&tree, root);
		if (memcmp(root, txn->digest, AUDIT_HASH_LEN) != 0)
			report(v, w, "digest mismatch",
				   psprintf("stored digest %s, computed from its events %s",
							hex_of(txn->digest, AUDIT_HASH_LEN),
							hex_of(root, AUDIT_HASH_LEN)));
	}
}

/* Totals of the transactions of one position range. */
typedef struct TxnTotals
{
	int32		txn_count;
	int64		event_count;
	MerkleFrontier tree;		/* of transaction leaves */
} TxnTotals;

/*
 * Check the transactions with positions in [first, last] (last < 0: no
 * upper bound), in order.
 */
static void
verify_txn_range(Verifier *v, int64 block_id, int64 first, int64 last,
				 TxnTotals *totals)
{
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	MemoryContext old = MemoryContextSwitchTo(v->work_cxt);

	memset(totals, 0, sizeof(*totals));
	merkle_frontier_init(&totals->tree);
	ScanKeyInit(&key[0], Anum_txn_position, BTGreaterEqualStrategyNumber,
				F_INT8GE, Int64GetDatum(first));
	ScanKeyInit(&key[1], Anum_txn_position, BTLessEqualStrategyNumber,
				F_INT8LE, Int64GetDatum(last));
	scan = systable_beginscan_ordered(v->txn_rel, v->txn_idx, v->snap,
									  last < 0 ? 1 : 2, key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		Datum		values[Natts_txn];
		bool		isnull[Natts_txn];
		TxnEntry	txn;
		uint8		leaf[AUDIT_HASH_LEN];
		Where		w = {block_id, 0, -1};

		heap_deform_tuple(tup, RelationGetDescr(v->txn_rel), values, isnull);
		if (!audit_txn_decode_checked(&txn, values, isnull))
		{
			w.txid = txn.txid;
			report(v, &w, "transaction altered",
				   "a column of its digest row is NULL, or the digest is not 32 bytes");
		}
		w.txid = txn.txid;
		verify_txn_events(v, &w, &txn);
		MemoryContextReset(v->txn_cxt);
		audit_txn_leaf(&txn, leaf);
		merkle_frontier_append(&totals->tree, leaf);
		totals->txn_count++;
		totals->event_count += txn.event_count;
		v->res->transactions_checked++;
		if (block_id < 0)
			v->res->unsealed_events += txn.event_count;
	}
	systable_endscan_ordered(scan);
	MemoryContextSwitchTo(old);
}

/* The block as stored: its head, and the columns that are not hashed. */
typedef struct BlockRow
{
	BlockHead	head;
	const uint8 *block_hash;	/* NULL if missing or malformed */
	const uint8 *tree_root;
	const uint8 *signature;
	size_t		signature_len;
	char	   *key_id;
	const Datum *values;
	const bool *isnull;
} BlockRow;

static int64
int_or_zero(const Datum *values, const bool *isnull, int attnum, bool is32)
{
	if (isnull[attnum - 1])
		return 0;
	return is32 ? DatumGetInt32(values[attnum - 1]) : DatumGetInt64(values[attnum - 1]);
}

static void
copy_or_zero(uint8 *dst, const uint8 *src)
{
	if (src)
		memcpy(dst, src, AUDIT_HASH_LEN);
	else
		memset(dst, 0, AUDIT_HASH_LEN);
}

static void
block_row_decode(Verifier *v, BlockRow *b, const Datum *values, const bool *isnull)
{
	BlockHead  *h = &b->head;

	memcpy(h->chain_id, v->chain_id, AUDIT_CHAIN_ID_LEN);
	h->block_id = int_or_zero(values, isnull, Anum_block_block_id, false);
	h->first_position = int_or_zero(values, isnull, Anum_block_first_position, false);
	h->last_position = int_or_zero(values, isnull, Anum_block_last_position, false);
	h->txn_count = (int32) int_or_zero(values, isnull, Anum_block_txn_count, true);
	h->event_count = int_or_zero(values, isnull, Anum_block_event_count, false);
	h->sealed_at = int_or_zero(values, isnull, Anum_block_sealed_at, false);
	copy_or_zero(h->txn_root, stored_hash(values[Anum_block_txn_root - 1],
										  isnull[Anum_block_txn_root - 1]));
	copy_or_zero(h->prev_hash, stored_hash(values[Anum_block_prev_hash - 1],
										   isnull[Anum_block_prev_hash - 1]));
	b->block_hash = stored_hash(values[Anum_block_block_hash - 1],
								isnull[Anum_block_block_hash - 1]);
	b->tree_root = stored_hash(values[Anum_block_tree_root - 1],
							   isnull[Anum_block_tree_root - 1]);
	b->signature = NULL;
	b->signature_len = 0;
	if (!isnull[Anum_block_signature - 1])
	{
		bytea	   *sig = DatumGetByteaPP(values[Anum_block_signature - 1]);

		b->signature = (const uint8 *) VARDATA_ANY(sig);
		b->signature_len = VARSIZE_ANY_EXHDR(sig);
	}
	b->key_id = isnull[Anum_block_key_id - 1] ? NULL :
		TextDatumGetCString(values[Anum_block_key_id - 1]);
	b->values = values;
	b->isnull = isnull;
}

/* The link to the previous block: id, positions, hash. */
static void
verify_block_link(Verifier *v, const Where *w, const BlockRow *b,
				  const BlockState *prev)
{
	if (b->head.block_id != prev->block_id + 1)
		report(v, w, "chain broken",
			   psprintf("block %lld follows block %lld",
						(long long) b->head.block_id, (long long) prev->block_id));
	if (b->head.first_position != prev->last_position + 1)
		report(v, w, "chain broken",
			   psprintf("the block starts at position %lld, the previous one ended at %lld",
						(long long) b->head.first_position,
						(long long) prev->last_position));
	if (memcmp(b->head.prev_hash, prev->block_hash, AUDIT_HASH_LEN) != 0)
		report(v, w, "chain broken",
			   psprintf("prev_hash %s, hash of the previous block %s",
						hex_of(b->head.prev_hash, AUDIT_HASH_LEN),
						hex_of(prev->block_hash, AUDIT_HASH_LEN)));
}

/* The block's transactions against its counts and transaction root. */
static void
verify_block_txns(Verifier *v, const Where *w, const BlockRow *b)
{
	TxnTotals	t;
	uint8		root[AUDIT_HASH_LEN];

	verify_txn_range(v, b->head.block_id, b->head.first_position,
					 b->head.last_position, &t);
	if (t.txn_count < b->head.txn_count)
		report(v, w, "transaction missing",
			   psprintf("the block sealed %d transactions, %d are present",
						b->head.txn_count, t.txn_count));
	else if (t.txn_count > b->head.txn_count)
		report(v, w, "transaction inserted",
			   psprintf("the block sealed %d transactions, %d are present",
						b->head.txn_count, t.txn_count));
	else
	{
		merkle_frontier_root(&t.tree, root);
		if (memcmp(root, b->head.txn_root, AUDIT_HASH_LEN) != 0)
			report(v, w, "transaction altered",
				   psprintf("stored transaction root %s, computed %s",
							hex_of(b->head.txn_root, AUDIT_HASH_LEN),
							hex_of(root, AUDIT_HASH_LEN)));
		else if (t.event_count != b->head.event_count)
			report(v, w, "block altered",
				   psprintf("the block counts %lld events, its transactions %lld",
							(long long) b->head.event_count,
							(long long) t.event_count));
	}
}

/* Saved checkpoints at this tree size must have this root. */
static void
verify_checkpoints_at(Verifier *v, const Where *w, int64 block_id,
					  const uint8 root[AUDIT_HASH_LEN])
{
	for (int i = 0; i < v->opts->ncheckpoints; i++)
	{
		SavedCheckpoint *c = &v->opts->checkpoints[i];

		if (c->block_id != block_id)
			continue;
		c->seen = true;
		if (c->has_chain_id &&
			memcmp(c->chain_id, v->chain_id, AUDIT_CHAIN_ID_LEN) != 0)
			report(v, w, "checkpoint mismatch",
				   "the checkpoint belongs to another trail (chain id differs)");
		else if (memcmp(c->tree_root, root, AUDIT_HASH_LEN) != 0)
			report(v, w, "checkpoint mismatch",
				   psprintf("saved root %s, root of the trail now %s: history up to this block was rewritten",
							hex_of(c->tree_root, AUDIT_HASH_LEN),
							hex_of(root, AUDIT_HASH_LEN)));
	}
}

/*
 * The block's own hash, the tree of block hashes, saved checkpoints and
 * the signature.  tree is extended with the block; on a stored tree root
 * that disagrees, it is reset from the block's stored frontier.
 */
static void
verify_block_hashes(Verifier *v, const Where *w, const BlockRow *b,
					BlockState *state)
{
	uint8		hash[AUDIT_HASH_LEN];
	uint8		root[AUDIT_HASH_LEN];

	audit_block_hash(&b->head, hash);
	if (b->block_hash == NULL || memcmp(hash, b->block_hash, AUDIT_HASH_LEN) != 0)
		report(v, w, "block altered",
			   psprintf("stored block hash %s, computed %s",
						b->block_hash ? hex_of(b->block_hash, AUDIT_HASH_LEN) : "(none)",
						hex_of(hash, AUDIT_HASH_LEN)));
	merkle_frontier_append(&state->tree, hash);
	merkle_frontier_root(&state->tree, root);
	verify_checkpoints_at(v, w, b->head.block_id, root);

	if ((b->signature != NULL) != (b->key_id != NULL) ||
		(b->signature != NULL && b->signature_len != AUDIT_SIGNATURE_LEN))
		report(v, w, "signature invalid",
			   "a signature must be 64 bytes and come with its key id");
	else if (b->signature != NULL)
	{
		uint8		msg[AUDIT_CHECKPOINT_MSG_LEN];
		bool		checked;

		audit_checkpoint_message(v->chain_id, state->tree.size, root, msg);
		if (!audit_sign_verify(b->key_id, msg, sizeof(msg), b->signature,
							   b->signature_len, &checked))
			report(v, w, "signature invalid",
				   psprintf("the signature by key %s does not match the checkpoint at this block",
							b->key_id ? b->key_id : "(none)"));
	}

	if (b->tree_root == NULL || memcmp(root, b->tree_root, AUDIT_HASH_LEN) != 0)
	{
		report(v, w, "block altered",
			   psprintf("stored tree root %s, computed %s",
						b->tree_root ? hex_of(b->tree_root, AUDIT_HASH_LEN) : "(none)",
						hex_of(root, AUDIT_HASH_LEN)));
		if (!audit_block_state_decode(state, b->values, b->isnull))
			report(v, w, "block altered", "the stored tree frontier is malformed");
	}
	state->block_id = b->head.block_id;
	state->last_position = b->head.last_position;
	memcpy(state->block_hash, b->block_hash ? b->block_hash : hash, AUDIT_HASH_LEN);
}

static void
verify_block(Verifier *v, const Datum *values, const bool *isnull,
			 BlockState *state)
{
	BlockRow	b;
	Where		w = {-1, 0, -1};

	block_row_decode(v, &b, values, isnull);
	w.block_id = b.head.block_id;
	verify_block_link(v, &w, &b, state);
	verify_block_txns(v, &w, &b);
	verify_block_hashes(v, &w, &b, state);
	v->res->blocks_checked++;
	v->res->last_verified_block = b.head.block_id;
	v->res->has_head = true;
	memcpy(v->res->head_hash, state->block_hash, AUDIT_HASH_LEN);
}

/* The ids of all transactions with a digest row. */
static HTAB *
verify_known_txids(Verifier *v)
{
	HASHCTL		ctl = {0};
	HTAB	   *known;
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(v->txn_rel, NULL);

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(uint64);
	ctl.hcxt = v->work_cxt;
	known = hash_create("audit_ext known transactions", 1024, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	scan = table_beginscan(v->txn_rel, v->snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, Anum_txn_txid, &isnull);
		uint64		txid;

		if (isnull)
			continue;
		txid = U64FromFullTransactionId(DatumGetFullTransactionId(d));
		(void) hash_search(known, &txid, HASH_ENTER, NULL);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return known;
}

/* An event whose transaction has no digest: forged, or its digest deleted. */
static void
verify_orphan(Verifier *v, TupleTableSlot *slot, uint64 txid)
{
	Where		w = {-1, txid, -1};
	uint8		leaf[AUDIT_HASH_LEN];
	MemoryContext old = MemoryContextSwitchTo(v->txn_cxt);

	slot_getallattrs(slot);
	verify_event(v, &w, slot, leaf);
	report(v, &w, "event inserted",
		   "its transaction has no digest: the event was added, or the transaction's digest removed");
	MemoryContextSwitchTo(old);
	MemoryContextReset(v->txn_cxt);
}

/* The event's transaction id, 0 when NULL. */
static uint64
event_txid(TupleTableSlot *slot, bool *isnull)
{
	Datum		d = slot_getattr(slot, Anum_event_txid, isnull);

	return *isnull ? 0 : U64FromFullTransactionId(DatumGetFullTransactionId(d));
}

/*
 * Name the events whose transaction is not known, in event id order (the
 * primary key's), so that a report does not depend on where the heap put
 * them.
 */
static void
verify_name_orphans(Verifier *v, HTAB *known)
{
	Relation	idx = index_open(audit_store_relid(AUDIT_REL_EVENT_PKEY), AccessShareLock);
	SysScanDesc scan = systable_beginscan_ordered(v->event_rel, idx, v->snap, 0, NULL);

	while (systable_getnext_ordered(scan, ForwardScanDirection) != NULL)
	{
		bool		isnull;
		uint64		txid = event_txid(scan->slot, &isnull);

		CHECK_FOR_INTERRUPTS();
		if (!isnull && txid == v->own_txid)
			continue;
		if (isnull || hash_search(known, &txid, HASH_FIND, NULL) == NULL)
			verify_orphan(v, scan->slot, txid);
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
}

/*
 * Events that belong to no transaction digest.  Counting first keeps the
 * common case to one sequential scan without memory; only when the count
 * differs from the events reached through transactions is a set of known
 * transaction ids built to name the strays.
 */
static void
verify_orphans(Verifier *v)
{
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(v->event_rel, NULL);
	HTAB	   *known;
	int64		total = 0;

	scan = table_beginscan(v->event_rel, v->snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		uint64		txid = event_txid(slot, &isnull);

		CHECK_FOR_INTERRUPTS();
		if (isnull || txid != v->own_txid)
			total++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	if (total == v->matched_events)
		return;
	known = verify_known_txids(v);
	verify_name_orphans(v, known);
	hash_destroy(known);
}

static void
verifier_open(Verifier *v)
{
	FullTransactionId own = GetTopFullTransactionIdIfAny();

	v->own_txid = FullTransactionIdIsValid(own) ? U64FromFullTransactionId(own) : 0;
	v->snap = RegisterSnapshot(GetTransactionSnapshot());
	v->scan_cxt = CurrentMemoryContext;
	v->work_cxt = AllocSetContextCreate(CurrentMemoryContext, "audit_ext verify",
										ALLOCSET_DEFAULT_SIZES);
	v->txn_cxt = AllocSetContextCreate(CurrentMemoryContext, "audit_ext verify transaction",
									   ALLOCSET_DEFAULT_SIZES);
	audit_chain_id(v->chain_id);
	v->archives = audit_archive_ranges(v->snap, &v->narchives);
	v->event_rel = audit_store_open(AUDIT_REL_EVENT, AccessShareLock);
	v->event_idx = index_open(audit_store_relid(AUDIT_REL_EVENT_TXID_IDX), AccessShareLock);
	v->event_scan = index_beginscan(v->event_rel, v->event_idx, v->snap, 1, 0);
	v->event_slot = table_slot_create(v->event_rel, NULL);
	v->txn_rel = audit_store_open(AUDIT_REL_TXN, AccessShareLock);
	v->txn_idx = index_open(audit_store_relid(AUDIT_REL_TXN_POSITION_IDX), AccessShareLock);
	v->block_rel = audit_store_open(AUDIT_REL_BLOCK, AccessShareLock);
	v->block_idx = index_open(audit_store_relid(AUDIT_REL_BLOCK_PKEY), AccessShareLock);
}

static void
verifier_close(Verifier *v)
{
	index_endscan(v->event_scan);
	ExecDropSingleTupleTableSlot(v->event_slot);
	index_close(v->event_idx, AccessShareLock);
	table_close(v->event_rel, AccessShareLock);
	index_close(v->txn_idx, AccessShareLock);
	table_close(v->txn_rel, AccessShareLock);
	index_close(v->block_idx, AccessShareLock);
	table_close(v->block_rel, AccessShareLock);
	UnregisterSnapshot(v->snap);
	MemoryContextDelete(v->txn_cxt);
	MemoryContextDelete(v->work_cxt);
}

/* Does block block_id exist under v's snapshot? */
static bool
block_exists(Verifier *v, int64 block_id, Datum *values, bool *isnull)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	ScanKeyInit(&key, Anum_block_block_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(block_id));
	scan = systable_beginscan_ordered(v->block_rel, v->block_idx, v->snap, 1, &key);
	tup = systable_getnext_ordered(scan, ForwardScanDirection);
	found = HeapTupleIsValid(tup);
	if (found && values)
		heap_deform_tuple(heap_copytuple(tup), RelationGetDescr(v->block_rel),
						  values, isnull);
	systable_endscan_ordered(scan);
	return found;
}

static void
no_such_block(int64 block_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("block %lld does not exist", (long long) block_id),
			 errhint("Blocks are numbered from 1 to the newest in audit.blocks.")));
}

/*
 * Where a range starts: the stored state of the block before it, which is
 * taken as given (verify from block 1 to check everything).  Both ends of
 * a range must be blocks that exist.
 */
static void
verify_anchor(Verifier *v, BlockState *state)
{
	Datum		values[Natts_block];
	bool		isnull[Natts_block];
	int64		from = v->opts->from_block;

	memset(state, 0, sizeof(*state));
	merkle_frontier_init(&state->tree);
	if (from > 0 && !block_exists(v, from, NULL, NULL))
		no_such_block(from);
	if (v->opts->to_block > 0 && !block_exists(v, v->opts->to_block, NULL, NULL))
		no_such_block(v->opts->to_block);
	if (from <= 1)
		return;
	if (!block_exists(v, from - 1, values, isnull))
		no_such_block(from - 1);
	if (!audit_block_state_decode(state, values, isnull))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("block %lld, where verification would start from, is malformed",
						(long long) from - 1),
				 errhint("Verify from an earlier block.")));
}

/* Every block of the range, in order. */
static void
verify_blocks(Verifier *v, BlockState *state)
{
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	int64		from = Max(v->opts->from_block, 1);

	ScanKeyInit(&key[0], Anum_block_block_id, BTGreaterEqualStrategyNumber,
				F_INT8GE, Int64GetDatum(from));
	ScanKeyInit(&key[1], Anum_block_block_id, BTLessEqualStrategyNumber,
				F_INT8LE, Int64GetDatum(v->opts->to_block));
	scan = systable_beginscan_ordered(v->block_rel, v->block_idx, v->snap,
									  v->opts->to_block > 0 ? 2 : 1, key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		Datum		values[Natts_block];
		bool		isnull[Natts_block];
		MemoryContext old = MemoryContextSwitchTo(v->work_cxt);

		CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(tup, RelationGetDescr(v->block_rel), values, isnull);
		verify_block(v, values, isnull, state);
		MemoryContextSwitchTo(old);
		MemoryContextReset(v->work_cxt);
	}
	systable_endscan_ordered(scan);
}

/*
 * Verify the trail, or the blocks from_block..to_block of it.
 */
void
audit_verify_trail(const VerifyOptions *opts, VerifyResult *res)
{
	Verifier	v = {0};
	BlockState	state;

	memset(res, 0, sizeof(*res));
	v.opts = opts;
	v.res = res;
	v.result_cxt = CurrentMemoryContext;
	verifier_open(&v);
	verify_anchor(&v, &state);
	if (state.block_id > 0)
	{
		res->has_head = true;
		memcpy(res->head_hash, state.block_hash, AUDIT_HASH_LEN);
	}
	verify_blocks(&v, &state);

	if (opts->to_block <= 0)
	{
		TxnTotals	t;
		MemoryContext old = MemoryContextSwitchTo(v.work_cxt);

		verify_txn_range(&v, -1, state.last_position + 1, -1, &t);
		MemoryContextSwitchTo(old);
		if (opts->from_block <= 1)
			verify_orphans(&v);
	}
	for (int i = 0; i < opts->ncheckpoints; i++)
		if (!opts->checkpoints[i].seen)
		{
			Where		w = {opts->checkpoints[i].block_id, 0, -1};

			report(&v, &w, "trail truncated",
				   psprintf("a checkpoint was saved at block %lld, the trail ends at block %lld",
							(long long) opts->checkpoints[i].block_id,
							(long long) state.block_id));
		}
	verifier_close(&v);
	if (res->problems > 0)
		audit_alert_verify_failed(res->problems, res->first_problem);
}
