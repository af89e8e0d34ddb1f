/*-------------------------------------------------------------------------
 *
 * seal_worker.c
 *	  Background workers: a launcher, and one sealer per database that has
 *	  the extension.
 *
 * The launcher connects to no database; it reads pg_database and starts a
 * sealer for each database that accepts connections and needs one.  A
 * sealer whose database turns out not to have audit_ext records that in
 * shared memory and exits; the launcher then leaves that database alone
 * until CREATE EXTENSION audit_ext (or CREATE DATABASE) says otherwise.
 * So databases without audit_ext cost one short-lived worker once, not a
 * worker slot every minute, and slots stay free for the databases that
 * need a sealer.  The launcher starts a few sealers per scan, and scans
 * again soon while some database still waits; otherwise when asked, when
 * a sealer exits, and once a minute.  A sealer that exits is
 * started again at once, unless it keeps exiting right after its start
 * (then the launcher waits longer each time, up to a minute).  Nothing is
 * configured per database.
 *
 * A sealer seals one block per transaction, then sleeps audit.seal_interval
 * unless more is waiting.  An error in a round (a cancel, lock_timeout, an
 * unreadable signing key, ...) is logged, and the sealer tries again after
 * a pause; it does not exit.  Its commits reach disk before they are
 * visible, even with synchronous_commit off.  At most one sealer serves a
 * database (the shared registry, src/shmem.c).  Both workers start only
 * once recovery has finished: a standby replays the primary's blocks and
 * seals nothing itself.
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
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "event.h"
#include "event_queue.h"
#include "queue_drain.h"
#include "scope.h"
#include "seal.h"
#include "seal_worker.h"
#include "shmem.h"
#include "startup_event.h"
#include "store.h"

/* Launcher */
#define LAUNCHER_RESCAN_MS		60000	/* when nothing is waiting */
#define LAUNCHER_RETRY_MS		1000	/* while a database waits for a sealer */
#define LAUNCHER_NO_SLOT_MS		10000	/* after no worker slot was free */
#define LAUNCHER_STARTS_PER_SCAN 4
#define LAUNCHER_QUEUE_SCAN_MS	100 /* queued events: scan at most this often */
#define SEALER_QUICK_EXIT_MS	10000	/* an exit this soon after start... */
#define SEALER_BACKOFF_MIN_MS	1000	/* ...delays the next start this long, */
#define SEALER_BACKOFF_MAX_MS	60000	/* doubling up to this */

/* Sealer */
#define SEALER_BUSY_RETRY_MS	10	/* a backend is taking a position */
#define SEALER_ERROR_DELAY_MAX_MS 30000 /* after repeated errors */
#define SEALER_ABSENT			(-1)

PGDLLEXPORT void audit_launcher_main(Datum arg);
PGDLLEXPORT void audit_sealer_main(Datum arg);

/*
 * What the launcher knows of one database's sealer.  The entry outlives
 * the sealer, to remember when the next may start.
 */
typedef struct SealerEntry
{
	Oid			dbid;
	BackgroundWorkerHandle *handle; /* NULL when none is running */
	TimestampTz started_at;
	TimestampTz not_before;		/* start no new sealer before this */
	int			backoff_ms;		/* after the last quick exit */
} SealerEntry;

static List *sealers = NIL;		/* of SealerEntry, in TopMemoryContext */
static TimestampTz no_slot_logged_at = 0;

static bool wake_at_commit = false;
static Oid	wake_dbid = InvalidOid;

/* Consecutive failed rounds of this sealer; read after a longjmp. */
static volatile int sealer_failures = 0;

/*
 * Once this transaction commits, the launcher should look for databases
 * that need a sealer: dbid may now have audit_ext (CREATE EXTENSION,
 * CREATE DATABASE); InvalidOid if not known which.  Two different
 * databases in one transaction make it InvalidOid (any database).
 */
void
audit_launcher_wake_at_commit(Oid dbid)
{
	if (wake_at_commit && wake_dbid != dbid)
		dbid = InvalidOid;
	wake_at_commit = true;
	wake_dbid = dbid;
}

static void
launcher_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
		audit_launcher_wake(wake_dbid);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
	{
		wake_at_commit = false;
		wake_dbid = InvalidOid;
	}
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

static SealerEntry *
sealer_entry(Oid dbid)
{
	ListCell   *lc;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);

		if (e->dbid == dbid)
			return e;
	}
	return NULL;
}

/*
 * Once in a while (no more than once a minute) say that a database waits
 * for a worker slot; the launcher retries every few seconds.
 */
static void
sealer_log_no_slot(Oid dbid, TimestampTz now)
{
	if (!TimestampDifferenceExceeds(no_slot_logged_at, now, LAUNCHER_RESCAN_MS))
		return;
	no_slot_logged_at = now;
	ereport(LOG,
			(errmsg("audit_ext: could not start a sealer for database %u", dbid),
			 errdetail("No background worker slot is free."),
			 errhint("Raise max_worker_processes.")));
}

/*
 * Start a sealer for dbid; false when no worker slot is free.
 */
static bool
sealer_start(Oid dbid, TimestampTz now)
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
	bgw.bgw_notify_pid = MyProcPid;	/* its exit sets our latch */

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		MemoryContextSwitchTo(old);
		sealer_log_no_slot(dbid, now);
		return false;
	}
	e = sealer_entry(dbid);
	if (e == NULL)
	{
		e = palloc0(sizeof(SealerEntry));
		e->dbid = dbid;
		sealers = lappend(sealers, e);
	}
	e->handle = handle;
	e->started_at = now;
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * A sealer has exited.  If its database still needs one, the next may
 * start at once, unless this one exited soon after its start: then wait,
 * longer each time, so that a sealer that cannot run does not make the
 * launcher start one after another.
 */
static void
sealer_exited(SealerEntry *e, TimestampTz now)
{
	pfree(e->handle);
	e->handle = NULL;
	if (!TimestampDifferenceExceeds(e->started_at, now, SEALER_QUICK_EXIT_MS) &&
		audit_sealer_need(e->dbid, now) == AUDIT_SEALER_START)
		e->backoff_ms = Min(Max(e->backoff_ms * 2, SEALER_BACKOFF_MIN_MS),
							SEALER_BACKOFF_MAX_MS);
	else
		e->backoff_ms = 0;
	e->not_before = TimestampTzPlusMilliseconds(now, e->backoff_ms);
}

/* Notice sealers that have exited; true if any did. */
static bool
sealers_prune(TimestampTz now)
{
	ListCell   *lc;
	pid_t		pid;
	bool		any = false;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);

		if (e->handle != NULL &&
			GetBackgroundWorkerPid(e->handle, &pid) == BGWH_STOPPED)
		{
			sealer_exited(e, now);
			any = true;
		}
	}
	return any;
}

/*
 * Asked to look again (CREATE EXTENSION, CREATE DATABASE): whatever made
 * sealers exit quickly may be gone, start them without delay.
 */
static void
sealers_reset_backoff(void)
{
	ListCell   *lc;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);

		e->backoff_ms = 0;
		e->not_before = 0;
	}
}

/*
 * Forget the databases that are gone: in our list (unless a sealer still
 * runs there) and in the shared set of databases without audit_ext.
 */
static void
sealers_forget_dropped(Oid *dbids, int ndbids)
{
	ListCell   *lc;

	foreach(lc, sealers)
	{
		SealerEntry *e = lfirst(lc);
		bool		exists = false;

		for (int i = 0; i < ndbids && !exists; i++)
			exists = dbids[i] == e->dbid;
		if (!exists && e->handle == NULL)
		{
			sealers = foreach_delete_current(sealers, lc);
			pfree(e);
		}
	}
	audit_absent_retain(dbids, ndbids);
}

/*
 * The databases that may need a sealer: all that accept connections,
 * templates included.  A template with audit_ext is audited like any
 * database (it can be connected to and changed), so it is sealed too;
 * CREATE DATABASE copying it makes its sealer leave first
 * (capture_utility.c), as DROP DATABASE does.  template0 does not accept
 * connections.  The array, and the array of their names if names is not
 * NULL, are palloc'd in the caller's context.
 */
Oid *
audit_launcher_read_databases(int *ndbids, NameData **names)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext caller = CurrentMemoryContext;
	int			max = 64;
	Oid		   *dbids = palloc(max * sizeof(Oid));
	NameData   *dbnames = palloc(max * sizeof(NameData));

	*ndbids = 0;
	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn)
			continue;
		if (*ndbids == max)
		{
			max *= 2;
			dbids = repalloc(dbids, max * sizeof(Oid));
			dbnames = repalloc(dbnames, max * sizeof(NameData));
		}
		dbnames[*ndbids] = db->datname;
		dbids[(*ndbids)++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	if (names != NULL)
		*names = dbnames;
	return dbids;
}

/*
 * Start sealers where needed, at most LAUNCHER_STARTS_PER_SCAN.  Returns
 * how soon (ms) to scan again: soon while some database still waits for
 * its sealer, else after LAUNCHER_RESCAN_MS.
 */
static long
launcher_scan_databases(MemoryContext scan_cxt, TimestampTz now)
{
	MemoryContext old = MemoryContextSwitchTo(scan_cxt);
	int			ndbids;
	Oid		   *dbids = audit_launcher_read_databases(&ndbids, NULL);
	int			started = 0;
	long		next = LAUNCHER_RESCAN_MS;

	sealers_forget_dropped(dbids, ndbids);
	for (int i = 0; i < ndbids; i++)
	{
		SealerEntry *e = sealer_entry(dbids[i]);
		AuditSealerNeed need;

		if (e != NULL && e->handle != NULL)
			continue;			/* running, or starting */
		need = audit_sealer_need(dbids[i], now);
		if (need == AUDIT_SEALER_RUNNING || need == AUDIT_SEALER_ABSENT)
			continue;
		if (need == AUDIT_SEALER_PAUSED || started == LAUNCHER_STARTS_PER_SCAN)
			next = Min(next, LAUNCHER_RETRY_MS);
		else if (e != NULL && now < e->not_before)
			next = Min(next, Max(TimestampDifferenceMilliseconds(now, e->not_before),
								 LAUNCHER_RETRY_MS));
		else if (sealer_start(dbids[i], now))
			started++;
		else
		{
			next = Min(next, LAUNCHER_NO_SLOT_MS);
			break;
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(scan_cxt);
	return next;
}

static void
launcher_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	audit_launcher_register(0, NULL);
}

/*
 * The launcher's loop: scan when asked, when a sealer has exited (its
 * bgw_notify_pid, and its exit callback, set our latch), when the time
 * set by the last scan has come, and when queued events wait for a
 * sealer (every wake-up routes the queue first).
 */
void
audit_launcher_main(Datum arg pg_attribute_unused())
{
	TimestampTz next_scan = 0;
	TimestampTz queue_scan_at = 0;
	MemoryContext scan_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("audit_ext launcher");
	scan_cxt = AllocSetContextCreate(TopMemoryContext, "audit_ext launcher scan",
									 ALLOCSET_DEFAULT_SIZES);

	audit_launcher_register(MyProcPid, MyLatch);
	before_shmem_exit(launcher_detach, (Datum) 0);
	audit_queue_drain_init();

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		bool		woken;
		bool		exited;
		bool		queued;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		woken = audit_launcher_take_rescan();
		if (woken)
			sealers_reset_backoff();
		exited = audit_launcher_take_sealer_exit();
		exited = sealers_prune(now) || exited;
		queued = audit_queue_route_pending(scan_cxt, now);
		if (woken || exited || now >= next_scan ||
			(queued && now >= queue_scan_at))
		{
			next_scan = TimestampTzPlusMilliseconds(now,
													launcher_scan_databases(scan_cxt, now));
			queue_scan_at = TimestampTzPlusMilliseconds(now, LAUNCHER_QUEUE_SCAN_MS);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
															 next_scan), 1),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * The database of a sealer that found the trail unavailable: has it no
 * audit_ext at all (the sealer leaves), or is the extension there with a
 * relation missing or renamed (the sealer stays and tries again)?  Asked
 * of the catalog directly, in case the store's cached answer is stale.
 */
static bool
sealer_database_lacks_extension(void)
{
	return !OidIsValid(get_extension_oid("audit_ext", true));
}

/*
 * A block must be on disk before anyone can see it.  With synchronous_commit
 * off (in the configuration, or ALTER DATABASE/ROLE SET), a crash could
 * lose a block that a checkpoint (audit.digest()) had already exported; the
 * block would then be sealed again with another time and hash, and the
 * exported checkpoint would look like evidence of tampering.  So "off" is
 * raised to "local", for this transaction only (as SET LOCAL would), and
 * re-evaluated each round so that a reload is followed.  Settings that
 * wait for standbys are kept: "on" or stronger, where configured, also
 * protects the block across a failover; and where "local" was chosen, a
 * forced "on" would make the sealer wait, holding audit.block's lock, for
 * a synchronous standby that may not be there (006_commit_window.pl).
 */
void
audit_sealer_require_durable_commit(void)
{
	if (synchronous_commit < SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		(void) set_config_option("synchronous_commit", "local", PGC_SUSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * One round of sealing in its own transaction.  Returns how long to wait
 * before the next round (ms): 0 when more is waiting right now, a moment
 * when a backend is between announcing and publishing its position (not
 * 0: a backend stuck there would make us spin), else audit.seal_interval;
 * SEALER_ABSENT when the database has no audit_ext.
 *
 * The wake generation is read before the transaction starts, so that a
 * CREATE EXTENSION committing after our snapshot has woken the launcher
 * only after we read it: audit_absent_mark then refuses, and we look again.
 */
static long
sealer_round(bool reset_caches)
{
	uint64		generation = audit_absent_generation();
	bool		available;
	bool		absent = false;
	bool		more = false;
	bool		busy = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (reset_caches)
		InvalidateSystemCaches();
	audit_sealer_require_durable_commit();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "sealing");
	available = audit_store_available();
	if (available)
		(void) audit_seal_once(&more, &busy);
	else
		absent = sealer_database_lacks_extension();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (absent)
		return audit_absent_mark(MyDatabaseId, generation) ? SEALER_ABSENT : 0;
	if (more)
		return 0;
	return busy ? SEALER_BUSY_RETRY_MS : audit_seal_interval;
}

/* Sleep ms, or until our latch is set (SIGTERM, SIGINT, SIGHUP). */
static void
sealer_sleep(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * How long to wait after a failed round: audit.seal_interval, doubling
 * with each further failure in a row up to SEALER_ERROR_DELAY_MAX_MS, so
 * that a lasting problem (an unreadable signing key) does not fill the
 * log at the sealing rate.
 */
static long
sealer_error_delay(void)
{
	long		delay = audit_seal_interval;

	for (int i = 1; i < sealer_failures && delay < SEALER_ERROR_DELAY_MAX_MS; i++)
		delay *= 2;
	return Max(Min(delay, SEALER_ERROR_DELAY_MAX_MS), audit_seal_interval);
}

/*
 * Clean up after an ERROR anywhere in the sealer's loop, as the
 * autovacuum launcher does: report it, abort the transaction (releasing
 * its locks, buffers, snapshots and memory), and go back to a clean
 * top-level state.  Called in the sigsetjmp branch of audit_sealer_main.
 */
static void
sealer_recover(void)
{
	/* Since not using PG_TRY, reset the error stack by hand. */
	error_context_stack = NULL;
	HOLD_INTERRUPTS();

	/* Forget any pending cancel or timeout (lock_timeout, ...). */
	disable_all_timeouts(false);
	QueryCancelPending = false;

	EmitErrorReport();
	AbortCurrentTransaction();
	/* For an error outside a transaction (the loop's own interrupt check). */
	LWLockReleaseAll();
	/* Queued events taken by a batch that did not commit go back. */
	audit_queue_unclaim_all();
	pgstat_report_wait_end();
	pgstat_report_activity(STATE_IDLE, NULL);

	MemoryContextSwitchTo(TopMemoryContext);
	FlushErrorState();
	RESUME_INTERRUPTS();
	sealer_failures++;
}

/*
 * Run rounds until told to stop.  After an error, the first round starts
 * by dropping the system caches: the error may have interrupted the
 * store's lookup of our relations and left a wrong cached answer.
 */
static void
sealer_loop(void)
{
	for (;;)
	{
		long		delay;

		if (ProcDiePending)
			audit_queue_last_drain();
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		audit_startup_event_record();
		audit_queue_drain(sealer_failures > 0);
		delay = sealer_round(sealer_failures > 0);
		sealer_failures = 0;
		if (delay == SEALER_ABSENT)
		{
			ereport(DEBUG1,
					(errmsg("audit_ext sealer: database %u has no audit_ext, leaving",
							MyDatabaseId)));
			proc_exit(0);
		}
		if (delay > 0)
			sealer_sleep(delay);
	}
}

/*
 * A sealer: seal its database's settled transactions into blocks until
 * told to stop, or until it finds the database has no audit_ext.
 *
 * Errors are caught with the server's pattern for long-lived processes
 * (autovacuum launcher, checkpointer, walwriter): a sigsetjmp target
 * installed as PG_exception_stack around the whole loop.  Unlike a
 * PG_TRY around one round, it also catches errors raised by the loop's
 * own CHECK_FOR_INTERRUPTS (a pg_cancel_backend arriving while we sleep
 * is thrown there, outside any transaction).  Errors before the target
 * is set (connecting, registering) still end the process, and FATAL
 * (SIGTERM, pg_terminate_backend) always does.
 */
void
audit_sealer_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	sigjmp_buf	local_sigjmp_buf;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("audit_ext sealer");
	if (!audit_sealer_register())
	{
		ereport(DEBUG1,
				(errmsg("audit_ext sealer: database %u is served or paused, leaving",
						dbid)));
		proc_exit(0);
	}
	/* After the registration: at exit, claims go back before the launcher hears. */
	audit_queue_drain_init();

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		sealer_recover();
		sealer_sleep(sealer_error_delay());
	}
	PG_exception_stack = &local_sigjmp_buf;

	sealer_loop();
}
