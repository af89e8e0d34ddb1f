/*-------------------------------------------------------------------------
 *
 * event_batch.c
 *	  audit.event opened once per statement rather than once per event.
 *
 * A bulk INSERT into a tracked table fires its row triggers one after the
 * other at the end of the statement (AfterTriggerEndQuery), each writing
 * one event.  Opening and closing audit.event and its three indexes for
 * each of them cost a tenth of the time; so the executor and utility hooks
 * open a batch around a statement's end, the first event written in it
 * opens the relation and its indexes, the next ones reuse them, and the
 * batch's end closes them.
 *
 * The rows themselves are held and written many at a time
 * (event_buffer.c).
 *
 * The relation is opened under the top transaction's resource owner: a
 * subtransaction that aborts inside the batch (a PL/pgSQL exception block
 * in a trigger) must not release it under our feet.  The hook that opened
 * the batch closes it, on error too (the end itself may fail: then it is
 * ended again as failed), before the transaction can end.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "event_batch.h"
#include "event_buffer.h"
#include "store.h"

static int	batch_depth = 0;
static Relation batch_rel = NULL;
static CatalogIndexState batch_indstate = NULL;
static MemoryContext batch_cxt = NULL;	/* the index state's memory */

/*
 * Nothing survives its transaction: the resource owner releases the
 * relation, the memory goes with TopTransactionContext.
 */
static void
batch_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		batch_depth = 0;
		batch_rel = NULL;
		batch_indstate = NULL;
		batch_cxt = NULL;
	}
}

/*
 * Enter a batch; returns what audit_event_batch_end() needs.  Callers must
 * not let a batch span a commit (CALL with COMMIT inside), and must call
 * audit_event_batch_end(token, false) if anything fails, including
 * audit_event_batch_end(token, true) itself.
 */
int
audit_event_batch_begin(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(batch_xact_callback, NULL);
		registered = true;
	}
	return batch_depth++;
}

/*
 * Leave the batch entered when audit_event_batch_begin() returned token;
 * the outermost one writes the rows it holds (clean) or drops them (they
 * go with the failing (sub)transaction), and closes what was opened.  On
 * an error path, locks stay until the transaction ends, as any lock does.
 */
void
audit_event_batch_end(int token, bool clean)
{
	ResourceOwner saved = CurrentResourceOwner;
	Relation	rel = batch_rel;
	CatalogIndexState indstate = batch_indstate;
	MemoryContext cxt = batch_cxt;

	batch_depth = token;
	if (batch_depth > 0 || rel == NULL)
		return;
	if (clean && indstate != NULL)
		audit_event_buffer_flush_all(rel, indstate);	/* may fail: see above */
	batch_rel = NULL;
	batch_indstate = NULL;
	batch_cxt = NULL;
	audit_event_buffer_forget();
	CurrentResourceOwner = TopTransactionResourceOwner;
	if (indstate != NULL)
		CatalogCloseIndexes(indstate);
	table_close(rel, clean ? RowExclusiveLock : NoLock);
	CurrentResourceOwner = saved;
	if (cxt != NULL)
		MemoryContextDelete(cxt);
}

/* audit.event, open for inserting: the batch's, or one of its own. */
Relation
audit_event_rel_open(void)
{
	ResourceOwner saved = CurrentResourceOwner;
	MemoryContext oldcxt;

	if (batch_depth == 0)
		return audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
	if (batch_rel != NULL)
		return batch_rel;

	/* The index state outlives the caller's per-event memory. */
	batch_cxt = AllocSetContextCreate(TopTransactionContext,
									  "audit_ext event batch",
									  ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(batch_cxt);
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		batch_rel = audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
		batch_indstate = CatalogOpenIndexes(batch_rel);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = saved;
		MemoryContextSwitchTo(oldcxt);
	}
	PG_END_TRY();
	return batch_rel;
}

/* Is rel the batch's (its rows held and written by event_buffer.c)? */
static inline bool
rel_is_batched(Relation rel)
{
	return batch_depth > 0 && rel == batch_rel && batch_indstate != NULL;
}

void
audit_event_rel_insert(Relation rel, const Datum *values, const bool *isnull)
{
	HeapTuple	tuple;

	if (!rel_is_batched(rel))
	{
		audit_store_insert(rel, values, isnull);
		return;
	}
	tuple = heap_form_tuple(RelationGetDescr(rel), (Datum *) values,
							(bool *) isnull);
	audit_event_buffer_add(rel, batch_indstate, tuple);
	heap_freetuple(tuple);
}

void
audit_event_rel_close(Relation rel)
{
	if (!(batch_depth > 0 && rel == batch_rel))
		table_close(rel, RowExclusiveLock);
}
