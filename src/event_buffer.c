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
 * subtransaction's list; when it commits its rows join its parent's list,
 * when it aborts they are dropped, and a list is only ever written while
 * its own subtransaction is the current one.  Nothing is held past the
 * end of the batch, which always comes before the transaction can commit.
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

#define BUFFER_MAX_ROWS		1000
#define BUFFER_MAX_BYTES	(4 * 1024 * 1024)

/* The rows held for one subtransaction. */
typedef struct BufferLevel
{
	SubTransactionId subid;
	MemoryContext cxt;			/* the tuples */
	HeapTuple	tuples[BUFFER_MAX_ROWS];
	int			ntuples;
	Size		bytes;
	struct BufferLevel *parent;
} BufferLevel;

static BufferLevel *top = NULL;
static TupleTableSlot *slots[BUFFER_MAX_ROWS];
static int	nslots = 0;
static TupleDesc slots_desc = NULL; /* a copy: no reference to release */
static bool registered = false;

static void
level_pop(void)
{
	BufferLevel *level = top;

	top = level->parent;
	MemoryContextDelete(level->cxt);
	pfree(level);
}

/* A committed subtransaction's rows are its parent's now. */
static void
level_merge_up(SubTransactionId parent_subid)
{
	BufferLevel *child = top;

	if (child->parent == NULL || child->parent->subid != parent_subid)
	{
		child->subid = parent_subid;
		return;
	}
	top = child->parent;
	for (int i = 0; i < child->ntuples; i++)
	{
		if (top->ntuples == BUFFER_MAX_ROWS)
		{
			/* Cannot write the parent's rows now: keep the rest as a level. */
			memmove(child->tuples, child->tuples + i,
					(child->ntuples - i) * sizeof(HeapTuple));
			child->ntuples -= i;
			child->subid = parent_subid;
			child->parent = top;
			top = child;
			return;
		}
		top->tuples[top->ntuples++] = child->tuples[i];
	}
	top->bytes += child->bytes;
	MemoryContextSetParent(child->cxt, top->cxt);
	pfree(child);
}

static void
buffer_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid,
						void *arg pg_attribute_unused())
{
	if (top == NULL || top->subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		level_pop();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		level_merge_up(parentSubid);
}

/* Whatever is held is gone with the transaction's memory. */
static void
buffer_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		top = NULL;
		nslots = 0;
		slots_desc = NULL;
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
	level->parent = top;
	top = level;
	return level;
}

/*
 * Write the current subtransaction's rows, and their index entries.
 */
void
audit_event_buffer_flush(Relation rel, CatalogIndexState indstate)
{
	MemoryContext old;

	if (top == NULL || top->subid != GetCurrentSubTransactionId() ||
		top->ntuples == 0)
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	if (slots_desc == NULL)
		slots_desc = CreateTupleDescCopy(RelationGetDescr(rel));
	while (nslots < top->ntuples)
		slots[nslots++] = MakeSingleTupleTableSlot(slots_desc, &TTSOpsHeapTuple);
	MemoryContextSwitchTo(old);
	for (int i = 0; i < top->ntuples; i++)
		ExecStoreHeapTuple(top->tuples[i], slots[i], false);
	CatalogTuplesMultiInsertWithInfo(rel, slots, top->ntuples, indstate);
	for (int i = 0; i < top->ntuples; i++)
		ExecClearTuple(slots[i]);
	top->ntuples = 0;
	top->bytes = 0;
	MemoryContextReset(top->cxt);
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
	if (level == NULL || level->subid != subid)
		level = level_push(subid);
	if (level->ntuples == BUFFER_MAX_ROWS ||
		level->bytes + tuple->t_len > BUFFER_MAX_BYTES)
		audit_event_buffer_flush(rel, indstate);
	old = MemoryContextSwitchTo(level->cxt);
	level->tuples[level->ntuples++] = heap_copytuple(tuple);
	MemoryContextSwitchTo(old);
	level->bytes += tuple->t_len;
}

/*
 * Write every row held for the current subtransaction (the end of a
 * batch: the subtransactions started inside it are over).
 */
void
audit_event_buffer_flush_all(Relation rel, CatalogIndexState indstate)
{
	while (top != NULL && top->subid == GetCurrentSubTransactionId())
	{
		audit_event_buffer_flush(rel, indstate);
		if (top->parent == NULL || top->parent->subid != top->subid)
			break;
		level_pop();
	}
}

/*
 * The batch is over (its rows were flushed) or failed: drop the levels
 * and the slots (a failed batch's rows go with its (sub)transaction).
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
}
