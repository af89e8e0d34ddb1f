/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory: per-process commit-position slots; the sealer
 *	  registry; the launcher's wake-up flag, the databases known to have no
 *	  audit_ext and those paused for DROP DATABASE and the like.
 *
 * The sealer may only seal positions that are settled: taken by a
 * transaction that has since committed (and is visible) or aborted.  A
 * transaction announces, in its slot, that it is taking a position before
 * it calls nextval, publishes the position it got, and clears the slot only
 * once its commit is visible to other snapshots (XACT_EVENT_COMMIT) or it
 * has aborted.  The sealer first reads the last position handed out (L),
 * then the slots: every position up to min(L, smallest pending - 1) is
 * settled.  A slot caught in the middle of taking a position makes the
 * sealer try again a moment later.  No lock is held across commit.
 *
 * The launcher and the sealers share a little more, under one LWLock: the
 * registry (which process seals which database: at most one per
 * database), databases without audit_ext (so the launcher does not keep
 * starting sealers that leave at once), and databases whose sealer must
 * stay away for a few seconds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "shmem.h"

typedef struct AuditSlot
{
	Oid			dbid;			/* database of the pending position */
	pg_atomic_uint64 pending;	/* 0, a position, or AUDIT_POSITION_TAKING */
	pg_atomic_uint32 sealer_db; /* database this process seals, or 0 */
	int			pid;			/* of the sealer */
} AuditSlot;

/*
 * Databases known to have no audit_ext.  A sealer records its database
 * here before it leaves for that reason, so the launcher does not start
 * one there again and again (each would take a worker slot that a
 * database with audit_ext may need).  Fixed size: a database that does
 * not fit is probed again now and then by the launcher, as before.
 */
#define AUDIT_MAX_ABSENT	256

/* Databases whose sealer must stay away for a while (DROP DATABASE, ...). */
#define AUDIT_MAX_PAUSED	8
#define AUDIT_PAUSE_MS		10000

/*
 * Databases whose startup event is in the trail since the server (or its
 * shared memory, after a crash) started.  Beyond this many databases the
 * others get none.
 */
#define AUDIT_MAX_STARTED	256

typedef struct AuditPause
{
	Oid			dbid;
	TimestampTz until;
} AuditPause;

typedef struct AuditShared
{
	slock_t		mutex;			/* protects the launcher fields */
	int			launcher_pid;
	Latch	   *launcher_latch;
	pg_atomic_uint32 rescan;	/* databases may have changed */
	pg_atomic_uint32 sealer_exited; /* a registered sealer has exited */

	/* lock protects what follows, and sealer_db of the slots on change */
	LWLock	   *lock;
	uint64		wake_generation;	/* bumped by each launcher wake */
	int			nabsent;
	Oid			absent[AUDIT_MAX_ABSENT];
	AuditPause	paused[AUDIT_MAX_PAUSED];
	int			nstarted;
	Oid			started[AUDIT_MAX_STARTED];

	int			nslots;
	AuditSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} AuditShared;

static AuditShared *audit_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Every PGPROC may hold a slot: backends, auxiliary processes, 2PC. */
static int
shmem_slot_count(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static Size
shmem_size(void)
{
	return add_size(offsetof(AuditShared, slots),
					mul_size(shmem_slot_count(), sizeof(AuditSlot)));
}

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche("audit_ext", 1);
}

static void
shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	audit_shared = ShmemInitStruct("audit_ext", shmem_size(), &found);
	if (!found)
	{
		memset(audit_shared, 0, shmem_size());
		SpinLockInit(&audit_shared->mutex);
		pg_atomic_init_u32(&audit_shared->rescan, 1);
		pg_atomic_init_u32(&audit_shared->sealer_exited, 0);
		audit_shared->lock = &(GetNamedLWLockTranche("audit_ext"))->lock;
		audit_shared->nslots = shmem_slot_count();
		for (int i = 0; i < audit_shared->nslots; i++)
		{
			pg_atomic_init_u64(&audit_shared->slots[i].pending, 0);
			pg_atomic_init_u32(&audit_shared->slots[i].sealer_db, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Called from _PG_init: ask for the space and set it up at startup.
 */
void
audit_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

static AuditSlot *
my_slot(void)
{
	if (audit_shared == NULL || MyProc == NULL ||
		MyProc->pgprocno < 0 || MyProc->pgprocno >= audit_shared->nslots)
		elog(ERROR, "audit_ext: no commit-position slot for this process");
	return &audit_shared->slots[MyProc->pgprocno];
}

/* Before nextval: the sealer must not assume anything about our position. */
void
audit_slot_begin_taking(void)
{
	AuditSlot  *slot = my_slot();

	slot->dbid = MyDatabaseId;
	pg_write_barrier();
	pg_atomic_write_u64(&slot->pending, AUDIT_POSITION_TAKING);
	pg_memory_barrier();
}

void
audit_slot_publish(uint64 position)
{
	pg_atomic_write_u64(&my_slot()->pending, position);
}

/* After commit (visible) or abort. Safe to call when nothing is pending. */
void
audit_slot_clear(void)
{
	if (audit_shared == NULL || MyProc == NULL ||
		MyProc->pgprocno < 0 || MyProc->pgprocno >= audit_shared->nslots)
		return;
	pg_atomic_write_u64(&audit_shared->slots[MyProc->pgprocno].pending, 0);
}

/*
 * The highest position of database dbid below which every position is
 * settled, given handed_out, the last position handed out as read just
 * before.  False when a backend is in the middle of taking a position.
 */
bool
audit_slot_horizon(Oid dbid, uint64 handed_out, uint64 *horizon)
{
	uint64		h = handed_out;

	pg_memory_barrier();
	for (int i = 0; i < audit_shared->nslots; i++)
	{
		AuditSlot  *slot = &audit_shared->slots[i];
		uint64		p = pg_atomic_read_u64(&slot->pending);

		if (p == 0)
			continue;
		pg_read_barrier();
		if (slot->dbid != dbid)
			continue;
		if (p == AUDIT_POSITION_TAKING)
			return false;
		if (p - 1 < h)
			h = p - 1;
	}
	*horizon = h;
	return true;
}

void
audit_launcher_register(int pid, Latch *latch)
{
	SpinLockAcquire(&audit_shared->mutex);
	audit_shared->launcher_pid = pid;
	audit_shared->launcher_latch = latch;
	SpinLockRelease(&audit_shared->mutex);
}

static void
launcher_set_latch(void)
{
	Latch	   *latch;

	SpinLockAcquire(&audit_shared->mutex);
	latch = audit_shared->launcher_latch;
	SpinLockRelease(&audit_shared->mutex);
	if (latch)
		SetLatch(latch);
}

/*
 * Wake the launcher, without asking it to rescan the databases: it has
 * queued events to route (event_queue.c).  Safe in any process, at any
 * time (a spinlock, no LWLock).
 */
void
audit_launcher_poke(void)
{
	if (audit_shared != NULL)
		launcher_set_latch();
}

/* Forget that dbid has no audit_ext; InvalidOid forgets every database. */
static void
absent_forget(Oid dbid)
{
	int			kept = 0;

	for (int i = 0; i < audit_shared->nabsent; i++)
		if (OidIsValid(dbid) && audit_shared->absent[i] != dbid)
			audit_shared->absent[kept++] = audit_shared->absent[i];
	audit_shared->nabsent = kept;
}

/*
 * Ask the launcher to look for databases that need a sealer: dbid may now
 * have audit_ext (CREATE EXTENSION, CREATE DATABASE); InvalidOid when not
 * known which.  Bumping the generation tells a sealer that is about to
 * record its database as absent that the answer it based this on may be
 * out of date (see audit_absent_mark).
 */
void
audit_launcher_wake(Oid dbid)
{
	if (audit_shared == NULL)
		return;
	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	audit_shared->wake_generation++;
	absent_forget(dbid);
	LWLockRelease(audit_shared->lock);

	pg_atomic_write_u32(&audit_shared->rescan, 1);
	launcher_set_latch();
}

bool
audit_launcher_take_rescan(void)
{
	return pg_atomic_exchange_u32(&audit_shared->rescan, 0) != 0;
}

/*
 * Has a sealer exited since the last call?  The launcher hears of the
 * sealers it started through bgw_notify_pid; this covers those started by
 * a launcher before it was restarted.
 */
bool
audit_launcher_take_sealer_exit(void)
{
	return pg_atomic_exchange_u32(&audit_shared->sealer_exited, 0) != 0;
}

/*
 * The wake generation, read by a sealer before it looks whether its
 * database has audit_ext.
 */
uint64
audit_absent_generation(void)
{
	uint64		generation;

	LWLockAcquire(audit_shared->lock, LW_SHARED);
	generation = audit_shared->wake_generation;
	LWLockRelease(audit_shared->lock);
	return generation;
}

/*
 * Record that dbid has no audit_ext, as seen by a transaction that began
 * after the wake generation was read.  False when the launcher was woken
 * since (CREATE EXTENSION may have committed after that transaction's
 * snapshot): the caller must look again instead of leaving.  A full set
 * records nothing; the launcher then backs off by itself.
 */
bool
audit_absent_mark(Oid dbid, uint64 generation)
{
	bool		current;

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	current = audit_shared->wake_generation == generation;
	if (current)
	{
		bool		known = false;

		for (int i = 0; i < audit_shared->nabsent && !known; i++)
			known = audit_shared->absent[i] == dbid;
		if (!known && audit_shared->nabsent < AUDIT_MAX_ABSENT)
			audit_shared->absent[audit_shared->nabsent++] = dbid;
	}
	LWLockRelease(audit_shared->lock);
	return current;
}

/*
 * Keep only the absent databases that still exist (the launcher passes
 * pg_database): a dropped database's OID may be reused by a new one.
 */
void
audit_absent_retain(const Oid *dbids, int ndbids)
{
	int			kept = 0;

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < audit_shared->nabsent; i++)
	{
		for (int j = 0; j < ndbids; j++)
		{
			if (dbids[j] == audit_shared->absent[i])
			{
				audit_shared->absent[kept++] = audit_shared->absent[i];
				break;
			}
		}
	}
	audit_shared->nabsent = kept;
	LWLockRelease(audit_shared->lock);
}

/* Is a live sealer registered for dbid?  Caller holds the lock. */
static bool
sealer_serving(Oid dbid)
{
	for (int i = 0; i < audit_shared->nslots; i++)
		if (pg_atomic_read_u32(&audit_shared->slots[i].sealer_db) == dbid)
			return true;
	return false;
}

/*
 * The latch of the sealer serving dbid, or NULL when none is registered.
 * Read without the lock: a sealer that has just left is woken for nothing,
 * one that has just come finds the queue at its first round anyway.  The
 * registry is indexed like the PGPROC array.
 */
Latch *
audit_sealer_latch(Oid dbid)
{
	if (audit_shared == NULL || !OidIsValid(dbid))
		return NULL;
	for (int i = 0; i < audit_shared->nslots; i++)
		if (pg_atomic_read_u32(&audit_shared->slots[i].sealer_db) == dbid)
			return &GetPGProcByNumber(i)->procLatch;
	return NULL;
}

/* Is dbid paused at time now?  Caller holds the lock. */
static bool
sealer_paused(Oid dbid, TimestampTz now)
{
	for (int i = 0; i < AUDIT_MAX_PAUSED; i++)
		if (audit_shared->paused[i].dbid == dbid &&
			now < audit_shared->paused[i].until)
			return true;
	return false;
}

/* At exit: leave the registry, and let the launcher know. */
static void
sealer_deregister(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	pg_atomic_write_u32(&my_slot()->sealer_db, 0);
	LWLockRelease(audit_shared->lock);
	pg_atomic_write_u32(&audit_shared->sealer_exited, 1);
	launcher_set_latch();
}

/*
 * Become the sealer of MyDatabaseId, until this process exits.  False when
 * another live sealer already serves it (a launcher that restarted has
 * lost its list of the sealers it started), or the database is paused
 * (a DROP DATABASE may be waiting for it): the caller then leaves.  The
 * check and the registration are one step under the lock, so two sealers
 * starting together cannot both stay.
 */
bool
audit_sealer_register(void)
{
	AuditSlot  *slot = my_slot();
	bool		ok;

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	ok = !sealer_serving(MyDatabaseId) &&
		!sealer_paused(MyDatabaseId, GetCurrentTimestamp());
	if (ok)
	{
		slot->pid = MyProcPid;
		pg_write_barrier();
		pg_atomic_write_u32(&slot->sealer_db, MyDatabaseId);
	}
	LWLockRelease(audit_shared->lock);
	if (ok)
		before_shmem_exit(sealer_deregister, (Datum) 0);
	return ok;
}

/*
 * Is dbid's startup event yet to be recorded since shared memory was set
 * up?  Only dbid's sealer asks, and marks it once recorded.
 */
bool
audit_startup_pending(Oid dbid)
{
	bool		pending;

	LWLockAcquire(audit_shared->lock, LW_SHARED);
	pending = audit_shared->nstarted < AUDIT_MAX_STARTED;
	for (int i = 0; pending && i < audit_shared->nstarted; i++)
		pending = (audit_shared->started[i] != dbid);
	LWLockRelease(audit_shared->lock);
	return pending;
}

void
audit_startup_mark(Oid dbid)
{
	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	if (audit_shared->nstarted < AUDIT_MAX_STARTED)
		audit_shared->started[audit_shared->nstarted++] = dbid;
	LWLockRelease(audit_shared->lock);
}

/*
 * Should the launcher start a sealer for dbid now?  It also keeps its own
 * list of the sealers it started; the registry covers those it lost.
 */
AuditSealerNeed
audit_sealer_need(Oid dbid, TimestampTz now)
{
	AuditSealerNeed need = AUDIT_SEALER_START;

	LWLockAcquire(audit_shared->lock, LW_SHARED);
	for (int i = 0; i < audit_shared->nabsent; i++)
		if (audit_shared->absent[i] == dbid)
			need = AUDIT_SEALER_ABSENT;
	if (need == AUDIT_SEALER_START && sealer_paused(dbid, now))
		need = AUDIT_SEALER_PAUSED;
	if (need == AUDIT_SEALER_START && sealer_serving(dbid))
		need = AUDIT_SEALER_RUNNING;
	LWLockRelease(audit_shared->lock);
	return need;
}

/*
 * Pause dbid until now + AUDIT_PAUSE_MS: its entry, else a free or expired
 * one, else the one that expires first.
 */
static void
sealer_pause(Oid dbid, TimestampTz now)
{
	AuditPause *use = &audit_shared->paused[0];

	LWLockAcquire(audit_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < AUDIT_MAX_PAUSED; i++)
	{
		AuditPause *p = &audit_shared->paused[i];

		if (p->dbid == dbid)
		{
			use = p;
			break;
		}
		if (p->until < use->until)
			use = p;
	}
	use->dbid = dbid;
	use->until = TimestampTzPlusMilliseconds(now, AUDIT_PAUSE_MS);
	LWLockRelease(audit_shared->lock);
}

/*
 * Make the sealer of dbid leave its database, and keep the launcher from
 * starting another for a few seconds: DROP DATABASE, and CREATE DATABASE
 * from it as a template, need it to have no connections.  The pause is
 * set first, so a sealer that registers after the registry was read below
 * sees it and leaves by itself.  Waits up to five seconds for the sealer
 * to exit.  The caller has checked that the statement may succeed.
 */
void
audit_sealer_release_database(Oid dbid)
{
	sealer_pause(dbid, GetCurrentTimestamp());

	for (int waited = 0; waited < 500; waited++)
	{
		bool		found = false;

		for (int i = 0; i < audit_shared->nslots; i++)
		{
			AuditSlot  *slot = &audit_shared->slots[i];

			if (pg_atomic_read_u32(&slot->sealer_db) != dbid)
				continue;
			found = true;
			pg_read_barrier();
			if (waited % 100 == 0 && slot->pid > 0)
				kill(slot->pid, SIGTERM);
		}
		if (!found)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}
