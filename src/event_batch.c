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
 * feet; a resource owner of our own, child of the top transaction's,
 * holds them, so that a failure while opening leaves nothing behind), and
 * the next events reuse them.  They are closed before the commit
 * (XACT_EVENT_PRE_COMMIT), when the subtransaction that opened them aborts
 * (it may have created or dropped an index of audit.event: an extension
 * update in an exception block), and before any utility statement runs,
 * which may drop or rebuild an index of audit.event (an extension update)
 * and must find no reference of ours to it; inside a batch, where they
 * stay open for the rows held, a utility statement finds them open, so
 * DDL on audit.event is refused there.  While a utility statement runs
 * (its event triggers, a procedure's statements) nothing is kept open past
 * one event or batch, as after PRE_COMMIT (another module's commit-time
 * DML).  The RowExclusiveLock on audit.event is kept until the
 * transaction ends, as a table's lock is, however it was opened.
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
static int	utility_depth = 0;	/* utility statements running */
static bool committing = false; /* past PRE_COMMIT */
static Relation open_rel = NULL;	/* audit.event, open for this transaction */
static CatalogIndexState open_indstate = NULL;
static MemoryContext open_cxt = NULL;	/* the index state's memory */
static ResourceOwner open_owner = NULL; /* holds open_rel and its indexes */
static SubTransactionId open_subid = InvalidSubTransactionId;	/* opened in */
static bool open_failed = false;	/* open_owner holds a failed open's leftovers */

static void rel_open_for_transaction(void);

/* May what is opened now stay open after this event or batch? */
static inline bool
may_keep_open(void)
{
	return !committing && utility_depth == 0;
}

/* Close what the transaction opened (never while a batch holds rows). */
static void
rel_release(void)
{
	ResourceOwner saved = CurrentResourceOwner;

	if (open_rel == NULL)
		return;
	Assert(batch_depth == 0);
	CurrentResourceOwner = open_owner;
	CatalogCloseIndexes(open_indstate);
	table_close(open_rel, NoLock);	/* the lock stays to the end */
	CurrentResourceOwner = saved;
	MemoryContextDelete(open_cxt);
	open_rel = NULL;
	open_indstate = NULL;
	open_cxt = NULL;
}

static void
forget_all(void)
{
	batch_depth = 0;
	utility_depth = 0;
	committing = false;
	open_rel = NULL;
	open_indstate = NULL;
	open_cxt = NULL;
	open_owner = NULL;			/* deleted with the top transaction's */
	open_failed = false;
}

/*
 * Before the commit, close what is open (a relation still open at the
 * commit is a leak).  At the end, forget it: an abort's resource owners
 * release it, TopTransactionContext takes the memory.
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
			forget_all();
			break;
	}
}

/*
 * A subtransaction that aborts may take an index of audit.event with it,
 * or give back one it dropped — only by a utility statement, which closed
 * audit.event first (or found it open in a batch, and so could not change
 * it): what was opened inside the aborting subtransaction is closed before
 * the relation cache forgets what it did.  What a failed open left in
 * open_owner is released here, once the abort has released buffer locks.
 */
static void
batch_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid pg_attribute_unused(),
					   void *arg pg_attribute_unused())
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	if (open_failed)
	{
		ResourceOwnerRelease(open_owner, RESOURCE_RELEASE_BEFORE_LOCKS,
							 false, false);
		ResourceOwnerRelease(open_owner, RESOURCE_RELEASE_AFTER_LOCKS,
							 false, false);
		open_failed = false;
	}
	if (batch_depth == 0 && open_rel != NULL && open_subid >= mySubid)
		rel_release();
}

static void
register_callbacks(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(batch_xact_callback, NULL);
		RegisterSubXactCallback(batch_subxact_callback, NULL);
		registered = true;
	}
}

/*
 * A utility statement is about to run (the ProcessUtility hook): close
 * audit.event, unless a batch holds rows for it (a trigger of the batch's
 * statement running a utility statement, which cannot be one that changes
 * audit.event's indexes: only extension scripts do), and keep nothing open
 * until it is over.  Returns what audit_event_utility_end() needs.
 */
int
audit_event_utility_begin(void)
{
	register_callbacks();
	if (batch_depth == 0)
		rel_release();
	else if (open_rel == NULL && !open_failed && audit_store_available())
		rel_open_for_transaction();	/* so that DDL on it is refused */
	return utility_depth++;
}

/* The utility statement begun when token was returned is over, or failed. */
void
audit_event_utility_end(int token)
{
	utility_depth = token;
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
	register_callbacks();
	return batch_depth++;
}

/*
 * Leave the batch entered when audit_event_batch_begin() returned token;
 * the outermost one writes the rows it holds (clean) or drops them (they
 * go with the failing (sub)transaction).  audit.event stays open for the
 * transaction's next events, if it may.
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
	if (!may_keep_open())
		rel_release();
}

/* Open audit.event and its indexes under open_owner, or leave nothing. */
static void
rel_open_for_transaction(void)
{
	ResourceOwner saved = CurrentResourceOwner;
	MemoryContext oldcxt;

	if (open_owner == NULL)
		open_owner = ResourceOwnerCreate(TopTransactionResourceOwner,
										 "audit_ext audit.event");
	open_cxt = AllocSetContextCreate(TopTransactionContext,
									 "audit_ext open audit.event",
									 ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(open_cxt);
	CurrentResourceOwner = open_owner;
	PG_TRY();
	{
		open_rel = audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
		open_indstate = CatalogOpenIndexes(open_rel);
		open_subid = GetCurrentSubTransactionId();
	}
	PG_CATCH();
	{
		/*
		 * What was taken so far is released when the (sub)transaction
		 * aborts (after its buffer locks), by the subtransaction callback or
		 * with the top transaction's resource owner; the locks stay to the
		 * end.
		 */
		open_failed = true;
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
}

/*
 * audit.event, open for inserting: the transaction's; of this event alone
 * while nothing may stay open and no batch is under way.
 */
Relation
audit_event_rel_open(void)
{
	register_callbacks();
	if (open_rel != NULL)
		return open_rel;
	if (!may_keep_open() && batch_depth == 0)
		return audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
	rel_open_for_transaction();
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

/* Its lock is kept to the end, as for the transaction's open audit.event. */
void
audit_event_rel_close(Relation rel)
{
	if (rel != open_rel)
		table_close(rel, NoLock);
}
