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
 * in a trigger) must not release it under our feet.  The batch is always
 * closed by its opener, on error too, before the transaction can end.
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

/*
 * An error that escaped every batch's end (none should) leaves nothing
 * behind: the transaction's resource owner releases the relation.
 */
static void
batch_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		batch_depth = 0;
		batch_rel = NULL;
		batch_indstate = NULL;
	}
}

/*
 * Enter a batch; returns what audit_event_batch_end() needs.  Callers must
 * not let a batch span a commit (CALL with COMMIT inside).
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
 * the outermost one closes what was opened.  clean is false on an error
 * path: locks stay until the transaction ends, as any lock does.
 */
void
audit_event_batch_end(int token, bool clean)
{
	ResourceOwner saved = CurrentResourceOwner;

	batch_depth = token;
	if (batch_depth > 0 || batch_rel == NULL)
		return;
	if (clean)
		audit_event_buffer_flush_all(batch_rel, batch_indstate);
	audit_event_buffer_forget();
	CurrentResourceOwner = TopTransactionResourceOwner;
	CatalogCloseIndexes(batch_indstate);
	table_close(batch_rel, clean ? RowExclusiveLock : NoLock);
	CurrentResourceOwner = saved;
	batch_rel = NULL;
	batch_indstate = NULL;
}

/* audit.event, open for inserting: the batch's, or one of its own. */
Relation
audit_event_rel_open(void)
{
	ResourceOwner saved = CurrentResourceOwner;

	if (batch_depth == 0)
		return audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
	if (batch_rel == NULL)
	{
		/* The index state outlives the caller's per-event memory. */
		MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);

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
	}
	return batch_rel;
}

void
audit_event_rel_insert(Relation rel, const Datum *values, const bool *isnull)
{
	HeapTuple	tuple;

	if (rel != batch_rel)
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
	if (rel != batch_rel)
		table_close(rel, RowExclusiveLock);
}
