/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  Seals committed transactions into the next block: in commit-position
 *	  order, up to the settled horizon (shmem.c), hash-chained to the
 *	  previous block, with the running Merkle tree of block hashes and,
 *	  when audit.signing_key is set, an Ed25519 signature of the checkpoint.
 *
 * One sealer at a time per database: the background worker and
 * audit.seal() both take ExclusiveLock on audit.block, which conflicts only
 * with itself and with writers (there are none but sealers).  Transactions
 * are read with a snapshot taken after the horizon was computed, so every
 * position at or below it is either visible (committed) or will never be
 * (aborted): a transaction that commits later can never be skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "port/pg_bitutils.h"
#include "utils/fmgroids.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "schema.h"
#include "seal.h"
#include "shmem.h"
#include "sign.h"
#include "store.h"

int			audit_seal_interval = 1000;
int			audit_block_max_transactions = 10000;

static void
copy_bytea(uint8 *dst, Datum d, size_t len)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit_ext: stored hash has %zu bytes, %zu expected",
						(size_t) VARSIZE_ANY_EXHDR(b), len)));
	memcpy(dst, VARDATA_ANY(b), len);
}

static Datum
bytea_datum(const uint8 *src, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), src, len);
	return PointerGetDatum(b);
}

/*
 * The chain id of this trail (audit.chain).
 */
void
audit_chain_id(uint8 out[AUDIT_CHAIN_ID_LEN])
{
	Relation	rel = audit_store_open(AUDIT_REL_CHAIN, AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false,
										  snap, 0, NULL);
	HeapTuple	tup = systable_getnext(scan);
	bool		isnull;
	Datum		d;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit.chain is empty"),
				 errhint("The chain id was removed outside the extension.")));
	d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit.chain has a NULL chain id")));
	copy_bytea(out, d, AUDIT_CHAIN_ID_LEN);
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
}

/*
 * Fill state from a stored block row (its id, last position, hash and the
 * frontier of the block-hash tree after it).  False, with state untouched,
 * when the row is malformed.
 */
bool
audit_block_state_decode(BlockState *state, const Datum *values,
						 const bool *isnull)
{
	bytea	   *frontier;
	bytea	   *hash;
	int64		block_id;
	int			nhashes;

	if (isnull[Anum_block_block_id - 1] || isnull[Anum_block_last_position - 1] ||
		isnull[Anum_block_block_hash - 1] || isnull[Anum_block_tree_frontier - 1])
		return false;
	block_id = DatumGetInt64(values[Anum_block_block_id - 1]);
	hash = DatumGetByteaPP(values[Anum_block_block_hash - 1]);
	frontier = DatumGetByteaPP(values[Anum_block_tree_frontier - 1]);
	nhashes = VARSIZE_ANY_EXHDR(frontier) / AUDIT_HASH_LEN;
	if (block_id <= 0 || VARSIZE_ANY_EXHDR(hash) != AUDIT_HASH_LEN ||
		VARSIZE_ANY_EXHDR(frontier) % AUDIT_HASH_LEN != 0 ||
		nhashes != pg_popcount64((uint64) block_id))
		return false;

	state->block_id = block_id;
	state->last_position = DatumGetInt64(values[Anum_block_last_position - 1]);
	memcpy(state->block_hash, VARDATA_ANY(hash), AUDIT_HASH_LEN);
	state->tree.size = (uint64) block_id;
	state->tree.count = nhashes;
	memcpy(state->tree.hash, VARDATA_ANY(frontier), nhashes * AUDIT_HASH_LEN);
	return true;
}

/* The columns of a block row that only checkpoints show. */
static void
head_decode_extra(AuditHead *head, const Datum *values, const bool *isnull)
{
	head->sealed_at = DatumGetTimestampTz(values[Anum_block_sealed_at - 1]);
	copy_bytea(head->tree_root, values[Anum_block_tree_root - 1], AUDIT_HASH_LEN);
	head->has_signature = !isnull[Anum_block_signature - 1] &&
		!isnull[Anum_block_key_id - 1];
	if (head->has_signature)
	{
		copy_bytea(head->signature, values[Anum_block_signature - 1],
				   sizeof(head->signature));
		strlcpy(head->key_id, TextDatumGetCString(values[Anum_block_key_id - 1]),
				sizeof(head->key_id));
	}
}

/*
 * Block block_id (0: the newest) under snap; false if there is none.  (The
 * sealer holds the sealing lock, so for it the head cannot change.)
 */
static bool
read_block(Snapshot snap, int64 block_id, AuditHead *head)
{
	Relation	rel = audit_store_open(AUDIT_REL_BLOCK, AccessShareLock);
	Relation	idx = index_open(audit_store_relid(AUDIT_REL_BLOCK_PKEY), AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	ScanKeyInit(&key, Anum_block_block_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(block_id));
	scan = systable_beginscan_ordered(rel, idx, snap, block_id > 0 ? 1 : 0, &key);
	tup = systable_getnext_ordered(scan, BackwardScanDirection);
	found = HeapTupleIsValid(tup);

	memset(head, 0, sizeof(*head));
	merkle_frontier_init(&head->state.tree);
	if (found)
	{
		Datum		values[Natts_block];
		bool		isnull[Natts_block];

		heap_deform_tuple(tup, RelationGetDescr(rel), values, isnull);
		if (!audit_block_state_decode(&head->state, values, isnull))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("block %lld of the audit trail is malformed",
							(long long) DatumGetInt64(values[Anum_block_block_id - 1])),
					 errhint("Run audit.verify_report() to see what was altered.")));
		head_decode_extra(head, values, isnull);
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Block block_id (0: the newest) under snap (NULL: as of now), with the
 * trail's chain id; false if there is no such block.
 */
bool
audit_read_block_row(Snapshot snap, int64 block_id, AuditHead *head)
{
	Snapshot	own = snap ? snap : RegisterSnapshot(GetLatestSnapshot());
	bool		found = read_block(own, block_id, head);

	if (snap == NULL)
		UnregisterSnapshot(own);
	if (found)
		audit_chain_id(head->chain_id);
	return found;
}

/*
 * Decode one audit.txn row; false when a column is NULL or the digest is
 * not 32 bytes (what is missing is left zero).
 */
bool
audit_txn_decode_checked(TxnEntry *txn, const Datum *values, const bool *isnull)
{
	bytea	   *digest;

	memset(txn, 0, sizeof(*txn));
	if (!isnull[Anum_txn_txid - 1])
		txn->txid = U64FromFullTransactionId(DatumGetFullTransactionId(values[Anum_txn_txid - 1]));
	if (!isnull[Anum_txn_position - 1])
		txn->position = DatumGetInt64(values[Anum_txn_position - 1]);
	if (!isnull[Anum_txn_event_count - 1])
		txn->event_count = DatumGetInt32(values[Anum_txn_event_count - 1]);
	if (!isnull[Anum_txn_committed_at - 1])
		txn->committed_at = DatumGetTimestampTz(values[Anum_txn_committed_at - 1]);
	for (int i = 0; i < Natts_txn; i++)
		if (isnull[i])
			return false;
	digest = DatumGetByteaPP(values[Anum_txn_digest - 1]);
	if (VARSIZE_ANY_EXHDR(digest) != AUDIT_HASH_LEN)
		return false;
	memcpy(txn->digest, VARDATA_ANY(digest), AUDIT_HASH_LEN);
	return true;
}

/* Decode one audit.txn row that must be intact (sealing, proofs). */
void
audit_txn_decode(TxnEntry *txn, const Datum *values, const bool *isnull)
{
	if (!audit_txn_decode_checked(txn, values, isnull))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the digest row of transaction %llu is malformed",
						(unsigned long long) txn->txid),
				 errhint("Run audit.verify_report() to see what was altered.")));
}

/*
 * Read the transactions with positions in (after, upto], in order, at most
 * max of them, into the block being built.  Returns how many were read;
 * *last is the position of the last one.
 */
static int
seal_collect(Snapshot snap, int64 after, int64 upto, int max,
			 MerkleFrontier *txn_tree, int64 *event_count, int64 *last)
{
	Relation	rel = audit_store_open(AUDIT_REL_TXN, AccessShareLock);
	Relation	idx = index_open(audit_store_relid(AUDIT_REL_TXN_POSITION_IDX), AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	int			n = 0;

	ScanKeyInit(&key[0], Anum_txn_position, BTGreaterStrategyNumber, F_INT8GT, Int64GetDatum(after));
	ScanKeyInit(&key[1], Anum_txn_position, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(upto));
	scan = systable_beginscan_ordered(rel, idx, snap, 2, key);
	while (n < max &&
		   HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		Datum		values[Natts_txn];
		bool		isnull[Natts_txn];
		TxnEntry	txn;
		uint8		leaf[AUDIT_HASH_LEN];

		heap_deform_tuple(tup, RelationGetDescr(rel), values, isnull);
		audit_txn_decode(&txn, values, isnull);
		audit_txn_leaf(&txn, leaf);
		merkle_frontier_append(txn_tree, leaf);
		*event_count += txn.event_count;
		*last = txn.position;
		n++;
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return n;
}

/*
 * Append the block row for head, signing the checkpoint it makes.
 */
static void
seal_write_block(const BlockHead *head, const uint8 block_hash[AUDIT_HASH_LEN],
				 const MerkleFrontier *tree)
{
	Relation	rel = audit_store_open(AUDIT_REL_BLOCK, RowExclusiveLock);
	Datum		values[Natts_block];
	bool		isnull[Natts_block] = {0};
	uint8		root[AUDIT_HASH_LEN];

	merkle_frontier_root(tree, root);
	values[Anum_block_block_id - 1] = Int64GetDatum(head->block_id);
	values[Anum_block_first_position - 1] = Int64GetDatum(head->first_position);
	values[Anum_block_last_position - 1] = Int64GetDatum(head->last_position);
	values[Anum_block_txn_count - 1] = Int32GetDatum(head->txn_count);
	values[Anum_block_event_count - 1] = Int64GetDatum(head->event_count);
	values[Anum_block_sealed_at - 1] = TimestampTzGetDatum(head->sealed_at);
	values[Anum_block_txn_root - 1] = bytea_datum(head->txn_root, AUDIT_HASH_LEN);
	values[Anum_block_prev_hash - 1] = bytea_datum(head->prev_hash, AUDIT_HASH_LEN);
	values[Anum_block_block_hash - 1] = bytea_datum(block_hash, AUDIT_HASH_LEN);
	values[Anum_block_tree_root - 1] = bytea_datum(root, AUDIT_HASH_LEN);
	values[Anum_block_tree_frontier - 1] =
		bytea_datum((const uint8 *) tree->hash, tree->count * AUDIT_HASH_LEN);
	if (audit_sign_configured())
	{
		uint8		msg[AUDIT_CHECKPOINT_MSG_LEN];
		uint8		sig[AUDIT_SIGNATURE_LEN];
		char		key_id[AUDIT_KEY_ID_LEN + 1];

		audit_checkpoint_message(head->chain_id, tree->size, root, msg);
		audit_sign(msg, sizeof(msg), sig, key_id);
		values[Anum_block_signature - 1] = bytea_datum(sig, AUDIT_SIGNATURE_LEN);
		values[Anum_block_key_id - 1] = CStringGetTextDatum(key_id);
	}
	else
		isnull[Anum_block_signature - 1] = isnull[Anum_block_key_id - 1] = true;
	audit_store_insert(rel, values, isnull);
	table_close(rel, RowExclusiveLock);
}

/*
 * Seal the next block, if any settled transaction awaits.  Returns its id,
 * or 0 if there was nothing to seal; *more is set when the block was cut
 * at audit.block_max_transactions and more is waiting, *busy when a
 * backend was taking a position and the caller should try again shortly.
 * Must run in a transaction, as the extension's owner.
 */
int64
audit_seal_once(bool *more, bool *busy)
{
	Relation	lockrel;
	uint64		horizon;
	Snapshot	snap;
	AuditHead	headrow;
	BlockState *prev = &headrow.state;
	BlockHead	head = {0};
	MerkleFrontier txn_tree;
	int64		last = 0;
	uint8		block_hash[AUDIT_HASH_LEN];

	*more = false;
	lockrel = audit_store_open(AUDIT_REL_BLOCK, ExclusiveLock);

	/* A backend is between announcing and publishing its position: later. */
	*busy = !audit_slot_horizon(MyDatabaseId,
								(uint64) audit_store_last_position(), &horizon);
	if (*busy)
	{
		table_close(lockrel, NoLock);
		return 0;
	}

	snap = RegisterSnapshot(GetLatestSnapshot());
	(void) read_block(snap, 0, &headrow);
	merkle_frontier_init(&txn_tree);
	if ((int64) horizon > prev->last_position)
		head.txn_count = seal_collect(snap, prev->last_position, (int64) horizon,
									  audit_block_max_transactions, &txn_tree,
									  &head.event_count, &last);
	UnregisterSnapshot(snap);
	if (head.txn_count == 0)
	{
		table_close(lockrel, NoLock);
		return 0;
	}

	*more = (head.txn_count == audit_block_max_transactions && last < (int64) horizon);
	audit_chain_id(head.chain_id);
	head.block_id = prev->block_id + 1;
	head.first_position = prev->last_position + 1;
	head.last_position = *more ? last : (int64) horizon;
	head.sealed_at = GetCurrentTimestamp();
	merkle_frontier_root(&txn_tree, head.txn_root);
	memcpy(head.prev_hash, prev->block_hash, AUDIT_HASH_LEN);
	audit_block_hash(&head, block_hash);
	merkle_frontier_append(&prev->tree, block_hash);
	seal_write_block(&head, block_hash, &prev->tree);

	/*
	 * A block must be on disk before anyone can take a checkpoint of it:
	 * lost in a crash under synchronous_commit = off, it would be sealed
	 * again differently, and the checkpoint would look like tampering.
	 */
	ForceSyncCommit();

	/* Keep the lock until commit: the next sealer must see this block. */
	table_close(lockrel, NoLock);
	return head.block_id;
}

/*
 * Seal everything settled now; returns the id of the newest block (0 if
 * there is none).
 */
int64
audit_seal_all(void)
{
	bool		more = true;
	bool		busy = false;
	int			tries = 0;
	int64		last = 0;
	int64		id;

	while (more || (busy && tries++ < 1000))
	{
		CHECK_FOR_INTERRUPTS();
		id = audit_seal_once(&more, &busy);
		if (id > 0)
		{
			last = id;
			CommandCounterIncrement();
		}
		else if (busy)
			pg_usleep(1000L);
	}
	if (busy)
		ereport(NOTICE,
				(errmsg("a transaction was still taking its commit position; it will be sealed by the background sealer")));
	if (last == 0)
	{
		AuditHead	head;

		if (audit_read_block_row(NULL, 0, &head))
			last = head.state.block_id;
	}
	return last;
}
