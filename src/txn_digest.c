/*-------------------------------------------------------------------------
 *
 * txn_digest.c
 *	  Collects the leaf hashes of a transaction's events and, at
 *	  PRE_COMMIT, writes its audit.txn row: the Merkle root of the leaves
 *	  in event id order, their count, and a commit position.
 *
 * Events are appended in event id order, so the root is built
 * incrementally with a Merkle frontier: memory stays O(log n) however many
 * events a transaction writes.  A subtransaction start saves the frontier;
 * its abort restores it (the aborted events are exactly the ones appended
 * since), its commit forgets the saved copy.
 *
 * The commit position is taken last, at PRE_COMMIT, and announced in this
 * process's shared-memory slot until the commit is visible or the
 * transaction has aborted (see shmem.c): the sealer never seals past it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "utils/xid8.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "chain_format.h"
#include "merkle.h"
#include "shmem.h"
#include "txn_digest.h"
#include "schema.h"
#include "store.h"

/*
 * State saved at a subtransaction's start: only the frontier's hashes in
 * use, none at all while the transaction has no events (most savepoints,
 * and every one in a database without audit_ext).
 */
typedef struct SavedDigest
{
	SubTransactionId subid;
	int32		event_count;
	uint64		size;
	int			count;
	struct SavedDigest *next;
	uint8		hash[FLEXIBLE_ARRAY_MEMBER][AUDIT_HASH_LEN];
} SavedDigest;

static MerkleFrontier txn_frontier;
static int32 txn_event_count = 0;
static Oid	txn_event_relid = InvalidOid;	/* the audit.event they went to */
static bool txn_digest_written = false;
static SavedDigest *saved = NULL;	/* innermost first; TopTransactionContext */

static void
digest_reset(void)
{
	merkle_frontier_init(&txn_frontier);
	txn_event_count = 0;
	txn_event_relid = InvalidOid;
	txn_digest_written = false;
	saved = NULL;				/* memory goes with TopTransactionContext */
}

/*
 * Count one event of the current (sub)transaction into the digest.
 *
 * Events written to an audit.event that has since been dropped (DROP and
 * CREATE EXTENSION in one transaction) went with it: they are forgotten.
 * An event after the digest was written (another extension's PRE_COMMIT
 * callback running DML) could not be covered by it: that is an error,
 * rather than an event missing from its digest.
 */
void
audit_txn_add_event(Oid event_relid, const uint8 leaf[AUDIT_HASH_LEN])
{
	if (txn_digest_written)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot record an audit event after the transaction's audit digest was written"),
				 errdetail("A statement ran during commit, after audit_ext sealed the transaction's digest."),
				 errhint("List audit_ext before the other libraries in shared_preload_libraries: commit callbacks run in the reverse order of loading.")));
	if (event_relid != txn_event_relid)
	{
		merkle_frontier_init(&txn_frontier);
		txn_event_count = 0;
		txn_event_relid = event_relid;
	}
	merkle_frontier_append(&txn_frontier, leaf);
	txn_event_count++;
}

/*
 * Write one audit.txn row.
 */
static void
digest_store(const TxnEntry *txn)
{
	Relation	rel = audit_store_open(AUDIT_REL_TXN, RowExclusiveLock);
	Datum		values[Natts_txn];
	bool		isnull[Natts_txn] = {0};
	bytea	   *digest = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(digest, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(digest), txn->digest, AUDIT_HASH_LEN);
	values[Anum_txn_txid - 1] = FullTransactionIdGetDatum(FullTransactionIdFromU64(txn->txid));
	values[Anum_txn_position - 1] = Int64GetDatum(txn->position);
	values[Anum_txn_event_count - 1] = Int32GetDatum(txn->event_count);
	values[Anum_txn_committed_at - 1] = TimestampTzGetDatum(txn->committed_at);
	values[Anum_txn_digest - 1] = PointerGetDatum(digest);
	audit_store_insert(rel, values, isnull);
	table_close(rel, RowExclusiveLock);
}

/*
 * PRE_COMMIT: take a commit position and write the digest row.
 */
static void
digest_pre_commit(void)
{
	TxnEntry	txn;
	uint64		position;

	/* From here on, an event could not be covered by this digest. */
	txn_digest_written = true;

	/* Nothing recorded, or the extension was dropped meanwhile. */
	if (txn_event_count == 0 || !audit_store_available() ||
		audit_store_relid(AUDIT_REL_EVENT) != txn_event_relid)
		return;

	audit_slot_begin_taking();
	position = (uint64) audit_store_next_position();
	audit_slot_publish(position);

	txn.txid = U64FromFullTransactionId(GetTopFullTransactionId());
	txn.position = (int64) position;
	txn.event_count = txn_event_count;
	txn.committed_at = GetCurrentTimestamp();
	merkle_frontier_root(&txn_frontier, txn.digest);
	digest_store(&txn);
}

static void
digest_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			digest_pre_commit();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (txn_event_count > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that wrote audit events"),
						 errdetail("audit_ext does not support two-phase commit of audited changes."),
						 errhint("Commit the transaction directly.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* Visible or gone: the sealer may pass our position now. */
			audit_slot_clear();
			digest_reset();
			break;
		default:
			break;
	}
}

static void
digest_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid pg_attribute_unused(),
						void *arg pg_attribute_unused())
{
	SavedDigest *s;

	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			s = MemoryContextAlloc(TopTransactionContext,
								   offsetof(SavedDigest, hash) +
								   txn_frontier.count * AUDIT_HASH_LEN);
			s->subid = mySubid;
			s->event_count = txn_event_count;
			s->size = txn_frontier.size;
			s->count = txn_frontier.count;
			memcpy(s->hash, txn_frontier.hash, txn_frontier.count * AUDIT_HASH_LEN);
			s->next = saved;
			saved = s;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
		case SUBXACT_EVENT_COMMIT_SUB:
			while (saved != NULL && saved->subid >= mySubid)
			{
				s = saved;
				saved = s->next;
				if (event == SUBXACT_EVENT_ABORT_SUB && s->subid == mySubid)
				{
					txn_frontier.size = s->size;
					txn_frontier.count = s->count;
					memcpy(txn_frontier.hash, s->hash, s->count * AUDIT_HASH_LEN);
					txn_event_count = s->event_count;
				}
				pfree(s);
			}
			break;
		default:
			break;
	}
}

void
audit_txn_digest_init(void)
{
	RegisterXactCallback(digest_xact_callback, NULL);
	RegisterSubXactCallback(digest_subxact_callback, NULL);
}
