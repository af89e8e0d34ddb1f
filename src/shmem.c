/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory: per-process commit-position slots, and the launcher's
 *	  wake-up flag.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
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

typedef struct AuditShared
{
	slock_t		mutex;			/* protects the launcher fields */
	int			launcher_pid;
	Latch	   *launcher_latch;
	Oid			paused_db;		/* no sealer for it until paused_until */
	TimestampTz paused_until;
	pg_atomic_uint32 rescan;	/* databases may have changed */
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
		SpinLockInit(&audit_shared->mutex);
		audit_shared->launcher_pid = 0;
		audit_shared->launcher_latch = NULL;
		audit_shared->paused_db = InvalidOid;
		audit_shared->paused_until = 0;
		pg_atomic_init_u32(&audit_shared->rescan, 1);
		audit_shared->nslots = shmem_slot_count();
		for (int i = 0; i < audit_shared->nslots; i++)
		{
			audit_shared->slots[i].dbid = InvalidOid;
			pg_atomic_init_u64(&audit_shared->slots[i].pending, 0);
			pg_atomic_init_u32(&audit_shared->slots[i].sealer_db, 0);
			audit_shared->slots[i].pid = 0;
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

/* Ask the launcher to look for databases that need a sealer. */
void
audit_launcher_wake(void)
{
	Latch	   *latch;

	if (audit_shared == NULL)
		return;
	pg_atomic_write_u32(&audit_shared->rescan, 1);
	SpinLockAcquire(&audit_shared->mutex);
	latch = audit_shared->launcher_latch;
	SpinLockRelease(&audit_shared->mutex);
	if (latch)
		SetLatch(latch);
}

bool
audit_launcher_take_rescan(void)
{
	return pg_atomic_exchange_u32(&audit_shared->rescan, 0) != 0;
}

static void
sealer_deregister(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	pg_atomic_write_u32(&my_slot()->sealer_db, 0);
}

/* This process is the sealer of MyDatabaseId, until it exits. */
void
audit_sealer_register(void)
{
	AuditSlot  *slot = my_slot();

	slot->pid = MyProcPid;
	pg_write_barrier();
	pg_atomic_write_u32(&slot->sealer_db, MyDatabaseId);
	before_shmem_exit(sealer_deregister, (Datum) 0);
}

/*
 * Make the sealer of dbid leave its database, and keep the launcher from
 * starting another for a few seconds: DROP DATABASE, and CREATE DATABASE
 * from it as a template, need it to have no connections.  Waits up to
 * five seconds for the sealer to exit.
 */
void
audit_sealer_release_database(Oid dbid)
{
	SpinLockAcquire(&audit_shared->mutex);
	audit_shared->paused_db = dbid;
	audit_shared->paused_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
	SpinLockRelease(&audit_shared->mutex);

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
			if (waited == 0 && slot->pid > 0)
				kill(slot->pid, SIGTERM);
		}
		if (!found)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}

/* May the launcher start a sealer for dbid now? */
bool
audit_sealer_allowed(Oid dbid)
{
	bool		allowed;

	SpinLockAcquire(&audit_shared->mutex);
	allowed = audit_shared->paused_db != dbid ||
		GetCurrentTimestamp() >= audit_shared->paused_until;
	SpinLockRelease(&audit_shared->mutex);
	return allowed;
}
