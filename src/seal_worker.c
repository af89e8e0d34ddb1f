/*-------------------------------------------------------------------------
 *
 * seal_worker.c
 *	  Background workers: a launcher, and one sealer per database that has
 *	  the extension.
 *
 * The launcher connects to no database; it reads pg_database and starts a
 * sealer for each database that accepts connections and has none running.
 * A sealer whose database turns out not to have audit_ext exits at once.
 * The launcher looks again when asked (CREATE EXTENSION audit_ext, CREATE
 * DATABASE) and once a minute.  Nothing is configured per database.
 *
 * A sealer seals one block per transaction, then sleeps audit.seal_interval
 * unless more is waiting.  Both start only once recovery has finished: a
 * standby replays the primary's blocks and seals nothing itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "seal.h"
#include "seal_worker.h"
#include "shmem.h"
#include "store.h"

#define LAUNCHER_RESCAN_MS	60000

PGDLLEXPORT void audit_launcher_main(Datum arg);
PGDLLEXPORT void audit_sealer_main(Datum arg);

/* A sealer the launcher started. */
typedef struct SealerEntry
{
	Oid			dbid;
	BackgroundWorkerHandle *handle;
} SealerEntry;

static List *sealers = NIL;		/* in TopMemoryContext */
static bool wake_at_commit = false;

/*
 * Once this transaction commits, the launcher should look for databases
 * that need a sealer (called after CREATE EXTENSION / CREATE DATABASE).
 */
void
audit_launcher_wake_at_commit(void)
{
	wake_at_commit = true;
}

static void
launcher_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
		audit_launcher_wake();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_at_commit = false;
}

/*
 * Register the launcher; called from _PG_init.
 */
void
audit_launcher_register_worker(void)
{
	BackgroundWorker bgw = {0};

	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	strlcpy(bgw.bgw_library_name, "audit_ext", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "audit_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "audit_ext launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "audit_ext launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
	RegisterXactCallback(launcher_xact_callback, NULL);
}

static bool
sealer_running(Oid dbid)
{
	ListCell   *lc;
	pid_t		pid;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);

		if (e->dbid == dbid &&
			GetBackgroundWorkerPid(e->handle, &pid) != BGWH_STOPPED)
			return true;
	}
	return false;
}

static void
sealer_start(Oid dbid)
{
	BackgroundWorker bgw = {0};
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	SealerEntry *e;

	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw.bgw_library_name, "audit_ext", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "audit_sealer_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "audit_ext sealer for database %u", dbid);
	strlcpy(bgw.bgw_type, "audit_ext sealer", BGW_MAXLEN);
	bgw.bgw_main_arg = ObjectIdGetDatum(dbid);
	bgw.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		MemoryContextSwitchTo(old);
		ereport(LOG,
				(errmsg("audit_ext: could not start a sealer for database %u", dbid),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	e = palloc(sizeof(SealerEntry));
	e->dbid = dbid;
	e->handle = handle;
	sealers = lappend(sealers, e);
	MemoryContextSwitchTo(old);
}

/* Forget sealers that have exited. */
static void
sealers_prune(void)
{
	ListCell   *lc;
	pid_t		pid;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);

		if (GetBackgroundWorkerPid(e->handle, &pid) == BGWH_STOPPED)
		{
			sealers = foreach_delete_current(sealers, lc);
			pfree(e->handle);
			pfree(e);
		}
	}
}

/*
 * Start a sealer for every connectable database that has none.
 */
static void
launcher_scan_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *dbids = NIL;
	ListCell   *lc;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
			dbids = lappend_oid(dbids, db->oid);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	sealers_prune();
	foreach(lc, dbids)
		if (!sealer_running(lfirst_oid(lc)) && audit_sealer_allowed(lfirst_oid(lc)))
			sealer_start(lfirst_oid(lc));
}

static void
launcher_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	audit_launcher_register(0, NULL);
}

void
audit_launcher_main(Datum arg pg_attribute_unused())
{
	TimestampTz last_scan = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("audit_ext launcher");

	audit_launcher_register(MyProcPid, MyLatch);
	before_shmem_exit(launcher_detach, (Datum) 0);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (audit_launcher_take_rescan() ||
			TimestampDifferenceExceeds(last_scan, now, LAUNCHER_RESCAN_MS))
		{
			launcher_scan_databases();
			last_scan = now;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_RESCAN_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * One round of sealing in its own transaction.  Returns false when the
 * database has no audit_ext (the sealer then exits); *again when more is
 * waiting right now.
 */
static bool
sealer_round(bool *again)
{
	bool		available;
	bool		more = false;
	bool		busy = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "sealing");
	available = audit_store_available();
	if (available)
		(void) audit_seal_once(&more, &busy);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	*again = more || busy;
	return available;
}

void
audit_sealer_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("audit_ext sealer");
	audit_sealer_register();

	for (;;)
	{
		bool		again;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!sealer_round(&again))
			proc_exit(0);		/* no audit_ext here */
		if (again)
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 audit_seal_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
