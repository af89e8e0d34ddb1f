/*-------------------------------------------------------------------------
 *
 * queue_drain.c
 *	  What the sealers and the launcher do with queued events
 *	  (event_queue.c): a sealer writes its database's into the trail, in a
 *	  durably committed transaction of its own, each round before sealing;
 *	  the launcher routes those no sealer is taking (a database known only
 *	  by name, one without a running sealer) and writes to the server log
 *	  those no sealer ever can.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "event.h"
#include "event_queue.h"
#include "queue_drain.h"
#include "scope.h"
#include "seal_worker.h"
#include "shmem.h"
#include "store.h"

/* The tickets of one batch, and the memory of one entry being written. */
static AuditQueueTicket *queue_tickets = NULL;
static MemoryContext queue_entry_cxt = NULL;

/* Launcher and sealer: ready to take queued events (event_queue.c). */
void
audit_queue_drain_init(void)
{
	queue_tickets = MemoryContextAlloc(TopMemoryContext,
									   Max(audit_queue_capacity(), 1) *
									   sizeof(AuditQueueTicket));
	queue_entry_cxt = AllocSetContextCreate(TopMemoryContext,
											"audit_ext queued event",
											ALLOCSET_DEFAULT_SIZES);
	audit_queue_consumer_init();
}

/*
 * The database a queued event goes to: the one it names by id, else by
 * name, among those that accept connections; InvalidOid if none.
 */
static Oid
launcher_entry_database(const AuditQueueTicket *ticket, const Oid *dbids,
						const NameData *names, int ndbids)
{
	for (int i = 0; i < ndbids; i++)
	{
		if (OidIsValid(ticket->dbid) ? dbids[i] == ticket->dbid :
			strcmp(NameStr(names[i]), ticket->dbname) == 0)
			return dbids[i];
	}
	return InvalidOid;
}

/*
 * A queued event that no sealer can take goes to the server log (reason
 * given), or, when its database has no audit_ext (reason NULL), where
 * audit_queue_unaudited says.
 */
static void
launcher_log_entry(const AuditQueueTicket *ticket, const char *reason)
{
	AuditQueueEntry entry;

	if (!audit_queue_claim_one(ticket))
		return;
	audit_queue_read(ticket, &entry);
	if (reason != NULL)
		audit_queue_log_entry(&entry, reason, true);
	else
		audit_queue_unaudited(&entry, true);
	audit_queue_release(ticket, 1);
}

/*
 * Send one queued event no sealer is taking on its way.  Returns true
 * when it waits for a sealer to start.
 */
static bool
launcher_route_entry(const AuditQueueTicket *ticket, const Oid *dbids,
					 const NameData *names, int ndbids, TimestampTz now)
{
	Oid			dbid = launcher_entry_database(ticket, dbids, names, ndbids);
	AuditSealerNeed need;
	Latch	   *latch;

	if (!OidIsValid(dbid))
	{
		launcher_log_entry(ticket, "the database does not exist or does not accept connections");
		return false;
	}
	need = audit_sealer_need(dbid, now);
	if (need == AUDIT_SEALER_ABSENT)
	{
		launcher_log_entry(ticket, NULL);
		return false;
	}
	if (dbid != ticket->dbid && !audit_queue_route(ticket, dbid))
		return false;
	if (need == AUDIT_SEALER_RUNNING && (latch = audit_sealer_latch(dbid)) != NULL)
		SetLatch(latch);
	return need != AUDIT_SEALER_RUNNING;
}

/*
 * Queued events that no sealer is taking (event_queue.c): those whose
 * database is only known by name, and those of databases without a
 * running sealer.  Events of a database that does not exist, does not
 * accept connections or has no audit_ext are written to the server log;
 * the others wait for their sealer.  Returns true when a sealer should
 * be started for some of them.  pg_database is read only when needed.
 */
bool
audit_queue_route_pending(MemoryContext cxt, TimestampTz now)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			n = audit_queue_pending(queue_tickets, audit_queue_capacity());
	Oid		   *dbids = NULL;
	NameData   *names = NULL;
	int			ndbids = 0;
	bool		start = false;

	for (int i = 0; i < n; i++)
	{
		AuditQueueTicket *ticket = &queue_tickets[i];
		Latch	   *latch = audit_sealer_latch(ticket->dbid);

		if (latch != NULL)
		{
			SetLatch(latch);
			continue;
		}
		if (dbids == NULL)
			dbids = audit_launcher_read_databases(&ndbids, &names);
		start |= launcher_route_entry(ticket, dbids, names, ndbids, now);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
	return start;
}

/*
 * Queued events are written even where transactions are read-only by
 * default (ALTER DATABASE SET default_transaction_read_only): they are
 * the trail's own, and have nowhere else to go.  Set before the first
 * snapshot of the transaction, as SET TRANSACTION would be.
 */
static void
sealer_require_read_write(void)
{
	if (XactReadOnly)
		(void) set_config_option("transaction_read_only", "off", PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * Errors that say nothing about the queued event being written (a cancel
 * or shutdown, a deadlock, a lock timeout, a lack of memory or disk, an
 * I/O failure): the whole batch is tried again later.  Any other error
 * is the event's own.
 */
static bool
sealer_error_is_transient(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
			return true;
		default:
			return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
	}
}

/*
 * The role names an event could not look up when it was queued (an error
 * report reads no catalog): looked up now, by id.
 */
static void
sealer_name_roles(AuditQueueEntry *entry)
{
	if (entry->ctx.session_role == NULL && OidIsValid(entry->session_roleid))
		entry->ctx.session_role = GetUserNameFromId(entry->session_roleid, true);
	if (entry->ctx.effective_role == NULL && OidIsValid(entry->effective_roleid))
		entry->ctx.effective_role = GetUserNameFromId(entry->effective_roleid, true);
}

/*
 * Write one claimed queued event into the trail, in a subtransaction, in
 * CurrentMemoryContext.  Each is its own top-level statement (its
 * statement id is its event id, unless its producer gave one); the
 * transaction id is ours.  An event that cannot be written, for a reason
 * of its own, is written to the server log with the error and dropped, so
 * that it cannot block the queue; a transient error aborts the batch.
 */
static void
sealer_record_entry(const AuditQueueTicket *ticket)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	AuditQueueEntry entry;

	audit_queue_read(ticket, &entry);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		sealer_name_roles(&entry);
		/* A failed statement's text as a recorded one's: trimmed, capped. */
		entry.event.statement = audit_statement_text(entry.event.statement, -1, 0);
		audit_scope_top_start();
		audit_event_record_as(&entry.event, &entry.ctx);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (sealer_error_is_transient(edata->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		audit_queue_log_entry(&entry,
							  psprintf("the sealer could not write it: %s",
									   edata->message), true);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/*
 * Write this database's queued events (logins, failed logins, errors,
 * ...) into the trail, in a transaction of their own, committed durably
 * like a block: whoever queued them may be waiting to hear that they are
 * safe.  They are freed, and their producers woken, only once the commit
 * is done; should it fail, sealer_recover gives them back for the next
 * round.  So are they if audit_ext has gone from the database: the
 * launcher writes them to the server log once this sealer has left.
 */
void
audit_queue_drain(bool reset_caches)
{
	int			n = audit_queue_claim(MyDatabaseId, queue_tickets,
									  audit_queue_capacity());
	bool		available;
	MemoryContext old;

	if (n == 0)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (reset_caches)
		InvalidateSystemCaches();
	audit_sealer_require_durable_commit();
	sealer_require_read_write();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording queued events");
	available = audit_store_available();
	for (int i = 0; available && i < n; i++)
	{
		old = MemoryContextSwitchTo(queue_entry_cxt);
		sealer_record_entry(&queue_tickets[i]);
		MemoryContextSwitchTo(old);
		MemoryContextReset(queue_entry_cxt);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (available)
		audit_queue_release(queue_tickets, n);
	else
		audit_queue_unclaim_all();
}

/*
 * Told to stop (a shutdown, pg_terminate_backend): write what is queued
 * now before leaving, once (should it fail, the error handler brings us
 * back here), with interrupts held so that the stop does not cut the
 * batch short.  After a pg_terminate_backend, the next sealer takes what
 * comes later; at a shutdown, what comes later is lost with shared memory.
 */
void
audit_queue_last_drain(void)
{
	static bool done = false;

	if (done)
		return;
	done = true;
	HOLD_INTERRUPTS();
	audit_queue_drain(false);
	RESUME_INTERRUPTS();
}
