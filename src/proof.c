/*-------------------------------------------------------------------------
 *
 * proof.c
 *	  audit.inclusion_proof(event_id, at_block) and
 *	  audit.consistency_proof(from_block, to_block): proofs as jsonb, in
 *	  the layout of docs/FORMAT.md, that a verifier outside the database
 *	  checks element by element.
 *
 * An inclusion proof climbs three trees: the event's leaf in its
 * transaction's tree (root: the digest), the transaction's entry in its
 * block's tree (root: txn_root), the block's hash in the trail tree of
 * at_block blocks (root: the checkpoint).  The stored leaf hashes are used,
 * as verification does; a proof of a tampered trail does not verify.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "archive.h"
#include "chain_format.h"
#include "checkpoint.h"
#include "merkle.h"
#include "proof.h"
#include "schema.h"
#include "seal.h"
#include "store.h"

/* An ordered index scan and the index it runs on. */
typedef struct OrderedScan
{
	Relation	idx;
	SysScanDesc scan;
	ScanKeyData key[2];
} OrderedScan;

/* Scan rel in index order with key attno <op> value (heap attribute). */
static void
scan_begin(OrderedScan *os, Relation rel, AuditRel idx, Snapshot snap,
		   AttrNumber attno, StrategyNumber strategy, RegProcedure proc,
		   Datum value)
{
	os->idx = index_open(audit_store_relid(idx), AccessShareLock);
	ScanKeyInit(&os->key[0], attno, strategy, proc, value);
	os->scan = systable_beginscan_ordered(rel, os->idx, snap, 1, os->key);
}

static HeapTuple
scan_next(OrderedScan *os)
{
	return systable_getnext_ordered(os->scan, ForwardScanDirection);
}

static void
scan_end(OrderedScan *os)
{
	systable_endscan_ordered(os->scan);
	index_close(os->idx, AccessShareLock);
}

static void
copy_hash_datum(uint8 *dst, Datum d, const char *what)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != AUDIT_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored %s is not a 32-byte hash", what),
				 errhint("Run audit.verify_report() to see what was altered.")));
	memcpy(dst, VARDATA_ANY(b), AUDIT_HASH_LEN);
}

static void
hashes_append(HashList *list, int64 *cap, const uint8 *h)
{
	if (list->n == *cap)
	{
		*cap = Max(16, *cap * 2);
		list->hashes = list->hashes ? repalloc_huge(list->hashes, *cap * AUDIT_HASH_LEN)
			: palloc_extended(*cap * AUDIT_HASH_LEN, MCXT_ALLOC_HUGE);
	}
	memcpy(list->hashes[list->n++], h, AUDIT_HASH_LEN);
}

/* The hashes of blocks 1..upto, in order. */
void
audit_trail_block_hashes(Snapshot snap, int64 upto, HashList *out)
{
	Relation	rel = audit_store_open(AUDIT_REL_BLOCK, AccessShareLock);
	Relation	idx = index_open(audit_store_relid(AUDIT_REL_BLOCK_PKEY), AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int64		cap = 0;

	memset(out, 0, sizeof(*out));
	out->index = -1;
	ScanKeyInit(&key, Anum_block_block_id, BTLessEqualStrategyNumber, F_INT8LE,
				Int64GetDatum(upto));
	scan = systable_beginscan_ordered(rel, idx, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_block_block_hash, RelationGetDescr(rel), &isnull);
		uint8		h[AUDIT_HASH_LEN];

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a block of the audit trail has no block hash"),
					 errhint("Run audit.verify_report() to see what was altered.")));
		copy_hash_datum(h, d, "block hash");
		hashes_append(out, &cap, h);
	}
	systable_endscan_ordered(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	if (out->n != upto)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the audit trail has %lld blocks up to block %lld",
						(long long) out->n, (long long) upto),
				 errhint("Run audit.verify_report() to see what was altered.")));
}

/* ["<hex>", ...] */
char *
audit_hash_path_json(uint8 (*path)[AUDIT_HASH_LEN], int len)
{
	StringInfoData buf;
	char		hex[AUDIT_HASH_LEN * 2 + 1];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < len; i++)
	{
		hex_encode((const char *) path[i], AUDIT_HASH_LEN, hex);
		hex[AUDIT_HASH_LEN * 2] = '\0';
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? "," : "", hex);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* "index", "path" of leaf list->index in the tree of list's leaves. */
static void
put_path(StringInfo buf, const HashList *list)
{
	uint8		(*path)[AUDIT_HASH_LEN] = palloc(sizeof(*path) * MERKLE_MAX_FRONTIER);
	int			len = merkle_inclusion_path((const uint8 (*)[AUDIT_HASH_LEN]) list->hashes,
											list->n, list->index, path);

	audit_json_put_int(buf, "index", list->index);
	audit_json_put_raw(buf, "path", audit_hash_path_json(path, len));
}

static void
put_bytea(StringInfo buf, const char *key, bytea *b)
{
	audit_json_put_hex(buf, key, (const uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
}

/*
 * One column as a JSON member (of an event, and in bundles of a block or a
 * transaction too): timestamps as microseconds (key
 * "<name>_us"), xid8 as an unsigned number, inet as its output text, jsonb
 * (row images too) as a string holding its canonical text (jsonb_out), the
 * very bytes the leaf hash covers, so a verifier encodes the event again
 * exactly; bytea (row_salt) as hex without \x.
 */
void
audit_json_put_column(StringInfo buf, const AuditColumn *c, Datum value, bool isnull)
{
	const char *key = c->type == TIMESTAMPTZOID ? psprintf("%s_us", c->name) : c->name;

	if (isnull)
		audit_json_put_raw(buf, key, "null");
	else if (c->type == TIMESTAMPTZOID)
		audit_json_put_int(buf, key, DatumGetTimestampTz(value));
	else if (c->type == TEXTOID)
		audit_json_put_text(buf, key, TextDatumGetCString(value));
	else if (c->type == INETOID)
		audit_json_put_text(buf, key, DatumGetCString(DirectFunctionCall1(inet_out, value)));
	else if (c->type == JSONBOID)
		audit_json_put_text(buf, key, DatumGetCString(DirectFunctionCall1(jsonb_out, value)));
	else if (c->type == XID8OID)
		audit_json_put_raw(buf, key,
						   psprintf(UINT64_FORMAT, U64FromFullTransactionId(DatumGetFullTransactionId(value))));
	else if (c->type == INT8OID)
		audit_json_put_int(buf, key, DatumGetInt64(value));
	else if (c->type == INT4OID)
		audit_json_put_int(buf, key, DatumGetInt32(value));
	else if (c->type == INT2OID)
		audit_json_put_int(buf, key, DatumGetInt16(value));
	else if (c->type == BYTEAOID)
		put_bytea(buf, key, DatumGetByteaPP(value));
	else
		elog(ERROR, "audit_ext: no proof field for type %u", c->type);
}

/*
 * The columns of an event as JSON, every column of the newest layout: those
 * an older row or table lacks are null (values/isnull hold Natts_event).
 * row_salt is no field, but the row images cannot be encoded without it.
 */
static char *
event_json(const Datum *values, const bool *isnull)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < Natts_event; i++)
	{
		if (i == Anum_event_leaf_hash - 1)
			continue;			/* leaf_hash goes beside the event */
		audit_json_put_column(&buf, &audit_event_columns[i], values[i], isnull[i]);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static void
not_provable(const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* An archived event's payload, and so its proof, is in its archive bundle. */
static void
proof_archived(Snapshot snap, int64 event_id, int64 archive_id)
{
	int			n;
	AuditArchiveRange *ranges = audit_archive_ranges(snap, &n);
	const AuditArchiveRange *a = audit_archive_find(ranges, n, archive_id);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("event %lld was archived; its proof is in archive bundle \"%s\"",
					(long long) event_id, a && a->bundle ? a->bundle : "(unknown)"),
			 errdetail("Archive %lld removed its payload.", (long long) archive_id),
			 errhint("Verify the bundle with audit_verify --bundle.")));
}

/* The event, its leaf, and the leaves of its transaction's tree. */
static void
proof_event(Snapshot snap, int64 event_id, Datum *values, bool *isnull,
			HashList *leaves)
{
	Relation	rel = audit_store_open(AUDIT_REL_EVENT, AccessShareLock);
	OrderedScan os;
	HeapTuple	tup;
	uint64		txid;
	int64		cap = 0;

	scan_begin(&os, rel, AUDIT_REL_EVENT_PKEY, snap, Anum_event_event_id,
			   BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(event_id));
	tup = scan_next(&os);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("event %lld does not exist", (long long) event_id)));
	/*
	 * A table still in an older layout has fewer columns: the rest stay
	 * NULL.  The store checked the layout, so it never has more.
	 */
	if (RelationGetDescr(rel)->natts > Natts_event)
		elog(ERROR, "audit_ext: audit.event has %d columns, at most %d are known",
			 RelationGetDescr(rel)->natts, Natts_event);
	memset(isnull, true, Natts_event * sizeof(bool));
	heap_deform_tuple(heap_copytuple(tup), RelationGetDescr(rel), values, isnull);
	scan_end(&os);
	if (audit_event_is_archived(values, isnull, RelationGetDescr(rel)->natts))
		proof_archived(snap, event_id, DatumGetInt64(values[Anum_event_archive_id - 1]));
	txid = U64FromFullTransactionId(DatumGetFullTransactionId(values[Anum_event_txid - 1]));

	memset(leaves, 0, sizeof(*leaves));
	leaves->index = -1;
	scan_begin(&os, rel, AUDIT_REL_EVENT_TXID_IDX, snap, Anum_event_txid,
			   BTEqualStrategyNumber, F_XID8EQ,
			   FullTransactionIdGetDatum(FullTransactionIdFromU64(txid)));
	while (HeapTupleIsValid(tup = scan_next(&os)))
	{
		bool		n1,
					n2;
		int64		id = DatumGetInt64(heap_getattr(tup, Anum_event_event_id, RelationGetDescr(rel), &n1));
		Datum		leaf = heap_getattr(tup, Anum_event_leaf_hash, RelationGetDescr(rel), &n2);
		uint8		h[AUDIT_HASH_LEN];

		if (n2)
			not_provable("an event of this transaction has no leaf hash",
						 "Run audit.verify_report() to see what was altered.");
		copy_hash_datum(h, leaf, "leaf hash");
		if (id == event_id)
			leaves->index = leaves->n;
		hashes_append(leaves, &cap, h);
	}
	scan_end(&os);
	table_close(rel, AccessShareLock);
}

/* The transaction's entry, found by txid. */
static void
proof_txn(Snapshot snap, uint64 txid, TxnEntry *txn)
{
	Relation	rel = audit_store_open(AUDIT_REL_TXN, AccessShareLock);
	OrderedScan os;
	HeapTuple	tup;
	Datum		values[Natts_txn];
	bool		isnull[Natts_txn];

	scan_begin(&os, rel, AUDIT_REL_TXN_PKEY, snap, Anum_txn_txid,
			   BTEqualStrategyNumber, F_XID8EQ,
			   FullTransactionIdGetDatum(FullTransactionIdFromU64(txid)));
	tup = scan_next(&os);
	if (!HeapTupleIsValid(tup))
		not_provable("the event's transaction has no digest",
					 "Events of a transaction still in progress cannot be proven; otherwise run audit.verify_report().");
	heap_deform_tuple(tup, RelationGetDescr(rel), values, isnull);
	audit_txn_decode(txn, values, isnull);
	scan_end(&os);
	table_close(rel, AccessShareLock);
}

/* A block row's hashed head; false if a column is NULL or malformed. */
static bool
block_head_decode(Relation rel, HeapTuple tup, BlockHead *h)
{
	Datum		values[Natts_block];
	bool		isnull[Natts_block];

	heap_deform_tuple(tup, RelationGetDescr(rel), values, isnull);
	for (int i = 0; i < Anum_block_block_hash - 1; i++)
		if (isnull[i])
			return false;
	h->block_id = DatumGetInt64(values[Anum_block_block_id - 1]);
	h->first_position = DatumGetInt64(values[Anum_block_first_position - 1]);
	h->last_position = DatumGetInt64(values[Anum_block_last_position - 1]);
	h->txn_count = DatumGetInt32(values[Anum_block_txn_count - 1]);
	h->event_count = DatumGetInt64(values[Anum_block_event_count - 1]);
	h->sealed_at = DatumGetTimestampTz(values[Anum_block_sealed_at - 1]);
	copy_hash_datum(h->txn_root, values[Anum_block_txn_root - 1], "transaction root");
	copy_hash_datum(h->prev_hash, values[Anum_block_prev_hash - 1], "previous hash");
	return true;
}

/* The block sealing position, and the transaction leaves of its tree. */
static void
proof_block(Snapshot snap, int64 position, BlockHead *head, HashList *leaves)
{
	Relation	rel = audit_store_open(AUDIT_REL_BLOCK, AccessShareLock);
	Relation	trel;
	OrderedScan os;
	HeapTuple	tup;
	int64		cap = 0;

	scan_begin(&os, rel, AUDIT_REL_BLOCK_LAST_POSITION_IDX, snap,
			   Anum_block_last_position, BTGreaterEqualStrategyNumber, F_INT8GE,
			   Int64GetDatum(position));
	tup = scan_next(&os);
	if (!HeapTupleIsValid(tup))
		not_provable("the event is not sealed yet", "Run audit.seal() first.");
	if (!block_head_decode(rel, tup, head) || head->first_position > position)
		not_provable("no intact block covers the event's transaction",
					 "Run audit.verify_report() to see what was altered.");
	scan_end(&os);
	table_close(rel, AccessShareLock);

	memset(leaves, 0, sizeof(*leaves));
	leaves->index = -1;
	trel = audit_store_open(AUDIT_REL_TXN, AccessShareLock);
	scan_begin(&os, trel, AUDIT_REL_TXN_POSITION_IDX, snap, Anum_txn_position,
			   BTGreaterEqualStrategyNumber, F_INT8GE,
			   Int64GetDatum(head->first_position));
	while (HeapTupleIsValid(tup = scan_next(&os)))
	{
		Datum		values[Natts_txn];
		bool		isnull[Natts_txn];
		TxnEntry	txn;
		uint8		leaf[AUDIT_HASH_LEN];

		heap_deform_tuple(tup, RelationGetDescr(trel), values, isnull);
		audit_txn_decode(&txn, values, isnull);
		if (txn.position > head->last_position)
			break;
		if (txn.position == position)
			leaves->index = leaves->n;
		audit_txn_leaf(&txn, leaf);
		hashes_append(leaves, &cap, leaf);
	}
	scan_end(&os);
	table_close(trel, AccessShareLock);
}

/*
 * The checkpoint block under snap: at_block, or the newest; it must not be
 * before block_id (what the proof is about: its error names it).
 */
static int64
proof_tree_size(Snapshot snap, int64 at_block, int64 block_id, const char *what)
{
	AuditHead	head;

	if (!audit_read_block_row(snap, at_block, &head))
	{
		if (at_block == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no block is sealed yet"),
					 errhint("Run audit.seal() first.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block %lld does not exist", (long long) at_block)));
	}
	if (head.state.block_id < block_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %lld is after the checkpoint at block %lld",
						what, (long long) block_id, (long long) head.state.block_id)));
	return head.state.block_id;
}

static char *
txn_json(const TxnEntry *txn, const HashList *leaves)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_raw(&buf, "txid", psprintf(UINT64_FORMAT, txn->txid));
	audit_json_put_int(&buf, "position", txn->position);
	audit_json_put_int(&buf, "event_count", txn->event_count);
	audit_json_put_int(&buf, "committed_at_us", txn->committed_at);
	audit_json_put_hex(&buf, "digest", txn->digest, AUDIT_HASH_LEN);
	put_path(&buf, leaves);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static char *
block_json(const BlockHead *h, const HashList *leaves)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "block_id", h->block_id);
	audit_json_put_int(&buf, "first_position", h->first_position);
	audit_json_put_int(&buf, "last_position", h->last_position);
	audit_json_put_int(&buf, "txn_count", h->txn_count);
	audit_json_put_int(&buf, "event_count", h->event_count);
	audit_json_put_int(&buf, "sealed_at_us", h->sealed_at);
	audit_json_put_hex(&buf, "txn_root", h->txn_root, AUDIT_HASH_LEN);
	audit_json_put_hex(&buf, "prev_hash", h->prev_hash, AUDIT_HASH_LEN);
	put_path(&buf, leaves);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static char *
tree_json(const HashList *blocks)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "size", blocks->n);
	put_path(&buf, blocks);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

PG_FUNCTION_INFO_V1(audit_inclusion_proof);

/*
 * audit.inclusion_proof(event_id bigint, at_block bigint DEFAULT NULL)
 */
Datum
audit_inclusion_proof(PG_FUNCTION_ARGS)
{
	int64		event_id = PG_GETARG_INT64(0);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	Datum		ev[Natts_event];
	bool		ev_null[Natts_event];
	HashList	ev_leaves,
				txn_leaves,
				blocks;
	TxnEntry	txn;
	BlockHead	head;
	int64		size;
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("event_id must not be NULL")));
	if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("at_block must be at least 1")));
	proof_event(snap, event_id, ev, ev_null, &ev_leaves);
	if (ev_leaves.index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("event %lld is not found through its transaction", (long long) event_id),
				 errhint("Run audit.verify_report() to see what was altered.")));
	proof_txn(snap, U64FromFullTransactionId(DatumGetFullTransactionId(ev[Anum_event_txid - 1])), &txn);
	proof_block(snap, txn.position, &head, &txn_leaves);
	if (txn_leaves.index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the event's transaction is not found in its block"),
				 errhint("Run audit.verify_report() to see what was altered.")));
	size = proof_tree_size(snap, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1),
						   head.block_id, "the event's block");
	audit_trail_block_hashes(snap, size, &blocks);
	blocks.index = head.block_id - 1;
	audit_chain_id(chain_id);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "format", 1);
	audit_json_put_hex(&buf, "chain_id", chain_id, AUDIT_CHAIN_ID_LEN);
	audit_json_put_raw(&buf, "event", event_json(ev, ev_null));
	audit_json_put_hex(&buf, "leaf_hash", ev_leaves.hashes[ev_leaves.index], AUDIT_HASH_LEN);
	audit_json_put_raw(&buf, "transaction", txn_json(&txn, &ev_leaves));
	audit_json_put_raw(&buf, "block", block_json(&head, &txn_leaves));
	audit_json_put_raw(&buf, "tree", tree_json(&blocks));
	audit_json_put_raw(&buf, "checkpoint", audit_checkpoint_json(snap, size));
	appendStringInfoChar(&buf, '}');
	UnregisterSnapshot(snap);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

PG_FUNCTION_INFO_V1(audit_consistency_proof);

/*
 * audit.consistency_proof(from_block bigint, to_block bigint DEFAULT NULL)
 */
Datum
audit_consistency_proof(PG_FUNCTION_ARGS)
{
	int64		from = PG_GETARG_INT64(0);
	int64		to;
	Snapshot	snap;
	HashList	blocks;
	uint8		(*path)[AUDIT_HASH_LEN];
	uint8		old_root[AUDIT_HASH_LEN];
	uint8		new_root[AUDIT_HASH_LEN];
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	int			len;
	StringInfoData buf;
	StringInfoData side;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("from_block must not be NULL")));
	if (from < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_block must be at least 1")));
	if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("to_block must be at least 1")));
	snap = RegisterSnapshot(GetLatestSnapshot());
	to = proof_tree_size(snap, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), from,
						 "from_block");
	audit_trail_block_hashes(snap, to, &blocks);
	UnregisterSnapshot(snap);
	audit_chain_id(chain_id);

	path = palloc(sizeof(*path) * 2 * MERKLE_MAX_FRONTIER);
	len = merkle_consistency_path((const uint8 (*)[AUDIT_HASH_LEN]) blocks.hashes,
								  from, to, path);
	merkle_root((const uint8 (*)[AUDIT_HASH_LEN]) blocks.hashes, from, old_root);
	merkle_root((const uint8 (*)[AUDIT_HASH_LEN]) blocks.hashes, to, new_root);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "format", 1);
	audit_json_put_hex(&buf, "chain_id", chain_id, AUDIT_CHAIN_ID_LEN);
	for (int i = 0; i < 2; i++)
	{
		initStringInfo(&side);
		appendStringInfoChar(&side, '{');
		audit_json_put_int(&side, "tree_size", i == 0 ? from : to);
		audit_json_put_hex(&side, "root_hash", i == 0 ? old_root : new_root, AUDIT_HASH_LEN);
		appendStringInfoChar(&side, '}');
		audit_json_put_raw(&buf, i == 0 ? "from" : "to", side.data);
	}
	audit_json_put_raw(&buf, "path", audit_hash_path_json(path, len));
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
