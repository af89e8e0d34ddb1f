/*-------------------------------------------------------------------------
 *
 * event_batch.c
 *	  audit.event opened once per transaction rather than once per event,
 *	  and a statement's row events written together.
 *
 * Opening audit.event and its indexes for each event, and closing them
 * again, cost a fifth of the time an event takes to store (index opens,
 * their locks and index information, taken and released each time: 2% of
 * the server's time under pgbench, a tenth of a bulk load).  So the first
 * event of a transaction opens them, under the top transaction's resource
 * owner (a subtransaction that aborts must not release them under our
 * feet), and the next events reuse them.  They are closed before the
 * commit (XACT_EVENT_PRE_COMMIT), and before any utility statement runs
 * (audit_event_rel_release(), from the ProcessUtility hook): a statement
 * that drops or rebuilds an index of audit.event — an extension update —
 * finds no reference of ours to it.  The RowExclusiveLock they take is
 * kept until the transaction ends, as a table's lock is.
 *
 * A bulk INSERT into a tracked table fires its row triggers one after the
 * other at the end of the statement (AfterTriggerEndQuery), each writing
 * one event.  The executor and utility hooks enter a batch around a
 * statement's end; inside it the rows are held and written many at a
 * time (event_buffer.c), and the batch's end writes what is held.  The
 * hook that entered the batch ends it, on error too (the end itself may
 * fail: then it is ended again as failed), before the transaction can end.
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
static Relation open_rel = NULL;	/* audit.event, open for this transaction */
static CatalogIndexState open_indstate = NULL;
static MemoryContext open_cxt = NULL;	/* the index state's memory */
static bool committing = false; /* past PRE_COMMIT: open nothing for long */

/* Close what the transaction opened (not inside a batch: see below). */
static void
rel_release(void)
{
	ResourceOwner saved = CurrentResourceOwner;

	if (open_rel == NULL)
		return;
	Assert(batch_depth == 0);
	CurrentResourceOwner = TopTransactionResourceOwner;
	CatalogCloseIndexes(open_indstate);
	table_close(open_rel, NoLock);
	CurrentResourceOwner = saved;
	MemoryContextDelete(open_cxt);
	open_rel = NULL;
	open_indstate = NULL;
	open_cxt = NULL;
}

/*
 * Before the commit, close what is open (a relation still open at the
 * commit is a leak).  At the end, forget it: an abort's resource owner
 * releases it, TopTransactionContext takes the memory.
 */
static void
batch_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (batch_depth == 0)
				rel_release();
			committing = true;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			batch_depth = 0;
			open_rel = NULL;
			open_indstate = NULL;
			open_cxt = NULL;
			committing = false;
			break;
	}
}

static void
register_callback(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(batch_xact_callback, NULL);
		registered = true;
	}
}

/*
 * A utility statement is about to run: close audit.event, unless a batch
 * holds rows for it (a trigger of the batch's statement running a utility
 * statement: it cannot be one that changes audit.event's indexes, which
 * only extension scripts do).
 */
void
audit_event_rel_release(void)
{
	if (batch_depth == 0)
		rel_release();
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
	register_callback();
	return batch_depth++;
}

/*
 * Leave the batch entered when audit_event_batch_begin() returned token;
 * the outermost one writes the rows it holds (clean) or drops them (they
 * go with the failing (sub)transaction).  audit.event stays open for the
 * transaction's next events.
 */
void
audit_event_batch_end(int token, bool clean)
{
	batch_depth = token;
	if (batch_depth > 0 || open_rel == NULL)
		return;
	if (clean)
		audit_event_buffer_flush_all(open_rel, open_indstate);	/* may fail: see above */
	audit_event_buffer_forget();
}

/* audit.event, open for inserting: the transaction's. */
Relation
audit_event_rel_open(void)
{
	ResourceOwner saved = CurrentResourceOwner;
	MemoryContext oldcxt;

	register_callback();
	if (open_rel != NULL)
		return open_rel;
	if (committing && batch_depth == 0)
		return audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);

	open_cxt = AllocSetContextCreate(TopTransactionContext,
									 "audit_ext open audit.event",
									 ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(open_cxt);
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		open_rel = audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
		open_indstate = CatalogOpenIndexes(open_rel);
	}
	PG_CATCH();
	{
		/* What was opened goes with the transaction's resource owner. */
		CurrentResourceOwner = saved;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(open_cxt);
		open_rel = NULL;
		open_indstate = NULL;
		open_cxt = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	CurrentResourceOwner = saved;
	MemoryContextSwitchTo(oldcxt);
	return open_rel;
}

void
audit_event_rel_insert(Relation rel, const Datum *values, const bool *isnull)
{
	HeapTuple	tuple;

	if (rel != open_rel)
	{
		audit_store_insert(rel, values, isnull);
		return;
	}
	tuple = heap_form_tuple(RelationGetDescr(rel), (Datum *) values,
							(bool *) isnull);
	if (batch_depth > 0)
		audit_event_buffer_add(rel, open_indstate, tuple);
	else
		CatalogTupleInsertWithInfo(rel, tuple, open_indstate);
	heap_freetuple(tuple);
}

void
audit_event_rel_close(Relation rel)
{
	if (rel != open_rel)
		table_close(rel, RowExclusiveLock);
}
