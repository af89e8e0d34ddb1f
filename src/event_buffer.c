/*-------------------------------------------------------------------------
 *
 * event_buffer.c
 *	  The event rows of a batch (event_batch.c), inserted up to a thousand
 *	  at a time with heap_multi_insert: one WAL record and one buffer lock
 *	  per page rather than per row.
 *
 * A row is inserted with the transaction id current when it is inserted,
 * and must vanish exactly when the (sub)transaction that recorded it rolls
 * back.  So rows are held per subtransaction: a row recorded inside a
 * subtransaction (a PL/pgSQL exception block in a trigger) goes to that
 * subtransaction's level; when it commits, its rows join its parent's
 * level (their memory with them) unless that would make it too big, in
 * which case they are written just before the commit; when it aborts they
 * are dropped; and a level is only ever written while its own
 * subtransaction is the current one.  A level is written when it reaches
 * a thousand rows; levels below the current one wait.
 * Everything is written when the batch ends, which always comes before
 * the transaction can commit (and PRE_COMMIT refuses to commit if
 * anything were still held: it would be counted in the digest but
 * missing from the trail).
 *
 * Until then, the batch's rows are not in audit.event: a query of the
 * trail inside the same statement's triggers does not see them yet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "event_buffer.h"

#define BUFFER_FLUSH_ROWS	1000
#define BUFFER_FLUSH_BYTES	(4 * 1024 * 1024)

/* The rows held for one subtransaction. */
typedef struct BufferLevel
{
	SubTransactionId subid;
	MemoryContext cxt;			/* the tuples, and merged children's */
	HeapTuple  *tuples;			/* allocated in cxt */
	int			ntuples;
	int			capacity;
	Size		bytes;
	struct BufferLevel *parent;
} BufferLevel;

static BufferLevel *top = NULL;
static TupleTableSlot *slots[BUFFER_FLUSH_ROWS];
static int	nslots = 0;
static TupleDesc slots_desc = NULL; /* a copy: no reference to release */
static Relation held_rel = NULL;	/* the batch's, while rows are held */
static CatalogIndexState held_indstate = NULL;
static bool registered = false;

static void
level_pop(void)
{
	BufferLevel *level = top;

	top = level->parent;
	MemoryContextDelete(level->cxt);
	pfree(level);
}

static void
level_reserve(BufferLevel *level, int n)
{
	if (level->ntuples + n <= level->capacity)
		return;
	level->capacity = Max(level->capacity * 2, level->ntuples + n);
	level->tuples = repalloc(level->tuples, level->capacity * sizeof(HeapTuple));
}

/*
 * A committed subtransaction's rows are its parent's now: appended to the
 * parent's level (made if there is none), their memory moved under it.
 */
static void
level_merge_up(SubTransactionId parent_subid)
{
	BufferLevel *child = top;
	BufferLevel *parent = child->parent;

	if (parent == NULL || parent->subid != parent_subid)
	{
		child->subid = parent_subid;
		return;
	}
	level_reserve(parent, child->ntuples);
	memcpy(parent->tuples + parent->ntuples, child->tuples,
		   child->ntuples * sizeof(HeapTuple));
	parent->ntuples += child->ntuples;
	parent->bytes += child->bytes;
	MemoryContextSetParent(child->cxt, parent->cxt);
	top = parent;
	pfree(child);
}

/*
 * A subtransaction about to commit (still the current one): if its rows
 * would make its parent's level too big, they are written now, with its
 * own xid, so that a bulk statement whose every row comes from a
 * subtransaction (upsert by exception block) holds no more than a level's
 * worth; otherwise room is made in the parent's level for the merge, so
 * that COMMIT_SUB cannot run out of memory.
 */
static void
level_pre_commit(void)
{
	BufferLevel *parent = top->parent;

	if (parent == NULL || held_rel == NULL)
		return;
	if (parent->ntuples + top->ntuples >= BUFFER_FLUSH_ROWS ||
		parent->bytes + top->bytes > BUFFER_FLUSH_BYTES)
		audit_event_buffer_flush(held_rel, held_indstate);
	else
		level_reserve(parent, top->ntuples);
}

static void
buffer_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid,
						void *arg pg_attribute_unused())
{
	if (top == NULL || top->subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		level_pre_commit();
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		level_pop();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		level_merge_up(parentSubid);
}

/*
 * Rows still held at commit would be counted in the digest and missing
 * from the trail: refuse to commit.  At the end, nothing is left (the
 * memory was the transaction's).
 */
static void
buffer_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
		event == XACT_EVENT_PRE_PREPARE)
	{
		for (BufferLevel *level = top; level != NULL; level = level->parent)
			if (level->ntuples > 0)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("audit_ext: audit events were not written before commit")));
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		top = NULL;
		nslots = 0;
		slots_desc = NULL;
		held_rel = NULL;
		held_indstate = NULL;
	}
}

static BufferLevel *
level_push(SubTransactionId subid)
{
	BufferLevel *level = MemoryContextAllocZero(TopTransactionContext,
												sizeof(BufferLevel));

	if (!registered)
	{
		RegisterSubXactCallback(buffer_subxact_callback, NULL);
		RegisterXactCallback(buffer_xact_callback, NULL);
		registered = true;
	}
	level->subid = subid;
	level->cxt = AllocSetContextCreate(TopTransactionContext,
									   "audit_ext event buffer",
									   ALLOCSET_DEFAULT_SIZES);
	level->capacity = 64;
	level->tuples = MemoryContextAlloc(level->cxt,
									   level->capacity * sizeof(HeapTuple));
	level->parent = top;
	top = level;
	return level;
}

/* Insert tuples[0..n) and their index entries. */
static void
insert_many(Relation rel, CatalogIndexState indstate, HeapTuple *tuples, int n)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	if (slots_desc == NULL)
		slots_desc = CreateTupleDescCopy(RelationGetDescr(rel));
	while (nslots < n)
		slots[nslots++] = MakeSingleTupleTableSlot(slots_desc, &TTSOpsHeapTuple);
	MemoryContextSwitchTo(old);
	for (int i = 0; i < n; i++)
		ExecStoreHeapTuple(tuples[i], slots[i], false);
	CatalogTuplesMultiInsertWithInfo(rel, slots, n, indstate);
	for (int i = 0; i < n; i++)
		ExecClearTuple(slots[i]);
}

/*
 * Write the current subtransaction's rows, and their index entries, a
 * thousand at a time.
 */
void
audit_event_buffer_flush(Relation rel, CatalogIndexState indstate)
{
	BufferLevel *level = top;

	if (level == NULL || level->subid != GetCurrentSubTransactionId() ||
		level->ntuples == 0)
		return;
	for (int done = 0; done < level->ntuples; done += BUFFER_FLUSH_ROWS)
		insert_many(rel, indstate, level->tuples + done,
					Min(BUFFER_FLUSH_ROWS, level->ntuples - done));
	level->ntuples = 0;
	level->bytes = 0;
	/* Children merged in are deleted with the reset; the array is kept. */
	level->tuples = NULL;
	MemoryContextReset(level->cxt);
	level->capacity = 64;
	level->tuples = MemoryContextAlloc(level->cxt,
									   level->capacity * sizeof(HeapTuple));
}

/* Hold a copy of tuple, writing the held rows when there are enough. */
void
audit_event_buffer_add(Relation rel, CatalogIndexState indstate,
					   HeapTuple tuple)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	BufferLevel *level = top;
	MemoryContext old;

	/*
	 * A row the heap will TOAST is written at once: heap_multi_insert()
	 * gives the TOASTed copy its position, not the tuple the index entries
	 * are made from (heap_insert() copies it back).
	 */
	if (HeapTupleHasExternal(tuple) || tuple->t_len > TOAST_TUPLE_THRESHOLD)
	{
		audit_event_buffer_flush(rel, indstate);
		CatalogTupleInsertWithInfo(rel, tuple, indstate);
		return;
	}
	held_rel = rel;
	held_indstate = indstate;
	if (level == NULL || level->subid != subid)
		level = level_push(subid);
	if (level->ntuples >= BUFFER_FLUSH_ROWS ||
		level->bytes + tuple->t_len > BUFFER_FLUSH_BYTES)
		audit_event_buffer_flush(rel, indstate);
	level_reserve(level, 1);
	old = MemoryContextSwitchTo(level->cxt);
	level->tuples[level->ntuples++] = heap_copytuple(tuple);
	MemoryContextSwitchTo(old);
	level->bytes += tuple->t_len;
}

/*
 * The end of a batch: the subtransactions started inside it are over, so
 * every held row is the current subtransaction's.  Anything else would be
 * a row that can never be written with the right transaction id: fail
 * rather than lose it.
 */
void
audit_event_buffer_flush_all(Relation rel, CatalogIndexState indstate)
{
	audit_event_buffer_flush(rel, indstate);
	for (BufferLevel *level = top; level != NULL; level = level->parent)
		if (level->ntuples > 0)
			elog(ERROR, "audit_ext: audit events of another subtransaction are still held");
}

/*
 * The batch is over and its rows were written, or it failed (its rows go
 * with its (sub)transaction): drop every level and the slots.
 */
void
audit_event_buffer_forget(void)
{
	while (top != NULL)
		level_pop();
	for (int i = 0; i < nslots; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	nslots = 0;
	if (slots_desc != NULL)
		FreeTupleDesc(slots_desc);
	slots_desc = NULL;
	held_rel = NULL;
	held_indstate = NULL;
}
