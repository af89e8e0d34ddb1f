/*-------------------------------------------------------------------------
 *
 * event_queue.c
 *	  A shared-memory queue of audit events that cannot be written in the
 *	  transaction they describe.
 *
 * A failed login has no transaction to write in; a refused statement's
 * transaction rolls back, and its event with it; a read-only transaction
 * cannot take the sequence values an event needs.  Such events are copied
 * into a slot of this queue; the sealer of the event's database writes
 * them into the trail in a transaction of its own (seal_worker.c), where
 * they are hashed, digested and sealed like every other event.
 *
 * A slot goes FREE -> FILLING -> READY -> CLAIMED -> FREE.  A producer
 * takes a free slot under the lock, fills it without the lock (it alone
 * owns a FILLING slot), and publishes it as READY.  A consumer claims
 * READY slots, writes them, commits, and only then frees them: entries of
 * a transaction that failed, or of a sealer that was killed, are given
 * back (audit_queue_unclaim_all) and written by the next attempt.  Each
 * taking of a slot bumps its generation, so that a consumer or a waiter
 * holding an old ticket never frees or waits for someone else's entry.
 *
 * A producer may wait (audit.queue_wait_timeout) until its entry is
 * committed, at once (a failed login: before the client hears of it) or
 * later (a failed statement: once its abort has released its locks, before
 * the session runs anything else).
 * When the queue is full it waits for a free slot, within the same limit,
 * and then writes the event to the server log as one JSON line instead:
 * an event may miss the trail, but it is never dropped silently.
 *
 * Producers run where errors must not be raised (emit_log_hook, commit
 * callbacks, process exit): the way into the queue reads no catalog,
 * allocates no memory and throws nothing.  Strings are copied into the
 * slot as they are, capped so that one slot holds the whole entry; an
 * overlong string is cut on a character boundary and marked.  Writing an
 * event to the server log instead (a full queue, a standby, a database
 * known to have no audit_ext) allocates in the current memory context,
 * as error reporting itself does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "event_queue.h"
#include "redact.h"
#include "shmem.h"

/* audit.queue_wait_timeout (ms) and audit.queue_size (slots). */
int			audit_queue_wait_timeout = 2000;
int			audit_queue_size = 128;

#define QUEUE_SLOT_BYTES		(16 * 1024)
#define QUEUE_FULL_POLL_MS		10	/* re-check for a free slot */
#define QUEUE_DONE_POLL_MS		100 /* re-check, should a wake-up be missed */
#define QUEUE_TRUNCATED			"... [audit_ext: truncated in the event queue]"
#define QUEUE_TRUNCATED_OBJECT	"{\"audit_ext\": \"truncated in the event queue\"}"
#define QUEUE_TRUNCATED_ARRAY	"[\"[audit_ext: truncated in the event queue]\"]"
#define QUEUE_MIN_ROOM			64	/* longer than each marker */

typedef enum QueueSlotState
{
	SLOT_FREE = 0,
	SLOT_FILLING,
	SLOT_READY,
	SLOT_CLAIMED
} QueueSlotState;

/* The strings of an entry, in the order they are packed into a slot. */
typedef enum QueueField
{
	QF_KIND,
	QF_CLASS,
	QF_COMMAND,
	QF_SQLSTATE,
	QF_SESSION_ROLE,
	QF_EFFECTIVE_ROLE,
	QF_CLIENT_ADDR,
	QF_APPLICATION_NAME,
	QF_DATABASE,
	QF_DBNAME,
	QF_OBJECT_NAME,
	QF_APP_USER,
	QF_CONTEXT,
	QF_MESSAGE,
	QF_DETAIL,
	QF_OBJECTS,
	QF_PARAMETERS,
	QF_STATEMENT,
	QF_COUNT
} QueueField;

/*
 * Where each string lives in an AuditQueueEntry, the most it may take of
 * a slot, whether it is JSON (an object or an array: cut, it would not
 * parse, so it is replaced by a marker of the same type), and its name in
 * the server log.  The caps add up to about 10 kB, so the statement,
 * packed last, always keeps at least 5 kB.
 */
static const struct
{
	size_t		offset;
	int			cap;
	char		json;
	const char *name;
}			queue_fields[QF_COUNT] = {
	[QF_KIND] = {offsetof(AuditQueueEntry, event.kind), 128, 0, "kind"},
	[QF_CLASS] = {offsetof(AuditQueueEntry, event.class_name), 128, 0, "class"},
	[QF_COMMAND] = {offsetof(AuditQueueEntry, event.command), 128, 0, "command"},
	[QF_SQLSTATE] = {offsetof(AuditQueueEntry, event.sqlstate), 128, 0, "sqlstate"},
	[QF_SESSION_ROLE] = {offsetof(AuditQueueEntry, ctx.session_role), 128, 0, "session_role"},
	[QF_EFFECTIVE_ROLE] = {offsetof(AuditQueueEntry, ctx.effective_role), 128, 0, "effective_role"},
	[QF_CLIENT_ADDR] = {offsetof(AuditQueueEntry, ctx.client_addr), 128, 0, "client_addr"},
	[QF_APPLICATION_NAME] = {offsetof(AuditQueueEntry, ctx.application_name), 128, 0, "application_name"},
	[QF_DATABASE] = {offsetof(AuditQueueEntry, ctx.database), 128, 0, "database"},
	[QF_DBNAME] = {offsetof(AuditQueueEntry, dbname), NAMEDATALEN, 0, "target_database"},
	[QF_OBJECT_NAME] = {offsetof(AuditQueueEntry, event.object_name), 512, 0, "object_name"},
	[QF_APP_USER] = {offsetof(AuditQueueEntry, ctx.app_user), 512, 0, "app_user"},
	[QF_CONTEXT] = {offsetof(AuditQueueEntry, ctx.context), 1024, '{', "context"},
	[QF_MESSAGE] = {offsetof(AuditQueueEntry, event.message), 2048, 0, "message"},
	[QF_DETAIL] = {offsetof(AuditQueueEntry, event.detail), 2048, '{', "detail"},
	[QF_OBJECTS] = {offsetof(AuditQueueEntry, event.objects), 1536, '[', "objects"},
	[QF_PARAMETERS] = {offsetof(AuditQueueEntry, event.parameters), 1536, '[', "parameters"},
	[QF_STATEMENT] = {offsetof(AuditQueueEntry, event.statement), QUEUE_SLOT_BYTES, 0, "statement"},
};

typedef struct QueueSlotHead
{
	pg_atomic_uint32 state;		/* QueueSlotState; changed under the lock */
	pg_atomic_uint64 generation;	/* set, under the lock, when taken */
	int			waiter;			/* pgprocno of a waiting producer, or -1 */
	int			claimer;		/* pgprocno of the consumer holding it, or -1 */
	Oid			dbid;			/* where it goes; the launcher may set it */
	AuditQueueEntry entry;		/* the scalars; its strings are NULL here */
	uint16		offset[QF_COUNT];	/* 1 + start of each string; 0: NULL */
} QueueSlotHead;

#define QUEUE_DATA_BYTES	(QUEUE_SLOT_BYTES - MAXALIGN(sizeof(QueueSlotHead)))

typedef struct QueueSlot
{
	QueueSlotHead h;
	char		data[QUEUE_DATA_BYTES];
} QueueSlot;

typedef struct QueueShared
{
	LWLock	   *lock;			/* taking, publishing, claiming, freeing */
	uint64		last_generation;
	int			next_free;		/* where to look for a free slot first */
	int			nslots;
	pg_atomic_uint64 not_recorded;	/* events written to the log instead */
	QueueSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} QueueShared;

static QueueShared *queue = NULL;

/* The entry this process queued and will wait for later (deferred). */
static int	deferred_slot = -1;
static uint64 deferred_generation = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void
audit_queue_define_settings(void)
{
	DefineCustomIntVariable("audit.queue_wait_timeout",
							"Longest wait for an event queued for the trail to be committed.",
							"A failed login waits up to this long for its event to reach the trail "
							"before the client is told; a failed session statement, before the "
							"session goes on; "
							"also the longest wait for room in a full queue.  0 does not wait.",
							&audit_queue_wait_timeout,
							2000, 0, 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("audit.queue_size",
							"Number of events the event queue holds.",
							"Each slot takes 16 kB of shared memory.  Events that find the queue "
							"full are written to the server log.",
							&audit_queue_size,
							128, 2, 8192,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

static Size
queue_shmem_size(void)
{
	return add_size(offsetof(QueueShared, slots),
					mul_size(audit_queue_size, sizeof(QueueSlot)));
}

static void
queue_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(queue_shmem_size());
	RequestNamedLWLockTranche("audit_ext event queue", 1);
}

static void
queue_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue = ShmemInitStruct("audit_ext event queue", queue_shmem_size(), &found);
	if (!found)
	{
		memset(queue, 0, offsetof(QueueShared, slots));
		queue->lock = &(GetNamedLWLockTranche("audit_ext event queue"))->lock;
		queue->nslots = audit_queue_size;
		pg_atomic_init_u64(&queue->not_recorded, 0);
		for (int i = 0; i < queue->nslots; i++)
		{
			pg_atomic_init_u32(&queue->slots[i].h.state, SLOT_FREE);
			pg_atomic_init_u64(&queue->slots[i].h.generation, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init: ask for the space and set it up at startup. */
void
audit_queue_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = queue_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = queue_shmem_startup;
}

int
audit_queue_capacity(void)
{
	return queue != NULL ? queue->nslots : 0;
}

/* ------------------------------------------------------------------------
 * Producers
 * ------------------------------------------------------------------------
 */

/* Where string f of an entry is kept, and what it is. */
static const char **
entry_string(AuditQueueEntry *entry, QueueField f)
{
	return (const char **) ((char *) entry + queue_fields[f].offset);
}

static const char *
entry_get_string(const AuditQueueEntry *entry, QueueField f)
{
	return *(const char *const *) ((const char *) entry + queue_fields[f].offset);
}

/*
 * Copy string f into the slot's data at *used: as it is if it fits within
 * its cap, else cut on a character boundary and marked (or, for JSON,
 * replaced by a marker).
 */
static void
slot_put_string(QueueSlot *slot, QueueField f, const char *s, size_t *used)
{
	size_t		room = Min((size_t) queue_fields[f].cap, QUEUE_DATA_BYTES - *used);
	char	   *dst = slot->data + *used;
	size_t		len;

	slot->h.offset[f] = 0;
	if (s == NULL || room < QUEUE_MIN_ROOM)
		return;
	len = strnlen(s, room);
	if (len < room)
		memcpy(dst, s, len + 1);
	else if (queue_fields[f].json == '[')
		strlcpy(dst, QUEUE_TRUNCATED_ARRAY, room);
	else if (queue_fields[f].json == '{')
		strlcpy(dst, QUEUE_TRUNCATED_OBJECT, room);
	else
	{
		int			keep = room - sizeof(QUEUE_TRUNCATED);

		keep = pg_mbcliplen(s, keep, keep);
		memcpy(dst, s, keep);
		memcpy(dst + keep, QUEUE_TRUNCATED, sizeof(QUEUE_TRUNCATED));
	}
	slot->h.offset[f] = (uint16) (*used + 1);
	*used += strlen(dst) + 1;
}

/* Copy an entry into a slot this process has taken. */
static void
slot_fill(QueueSlot *slot, const AuditQueueEntry *entry)
{
	size_t		used = 0;

	slot->h.entry = *entry;
	for (int f = 0; f < QF_COUNT; f++)
	{
		slot_put_string(slot, f, entry_get_string(entry, f), &used);
		*entry_string(&slot->h.entry, f) = NULL;
	}
}

/* Take a free slot for database dbid: its index, or -1 when none is free. */
static int
queue_take_free(Oid dbid, uint64 *generation)
{
	int			found = -1;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int n = 0; n < queue->nslots && found < 0; n++)
	{
		int			i = (queue->next_free + n) % queue->nslots;

		if (pg_atomic_read_u32(&queue->slots[i].h.state) == SLOT_FREE)
			found = i;
	}
	if (found >= 0)
	{
		QueueSlot  *slot = &queue->slots[found];

		*generation = ++queue->last_generation;
		pg_atomic_write_u64(&slot->h.generation, *generation);
		pg_atomic_write_u32(&slot->h.state, SLOT_FILLING);
		slot->h.waiter = -1;
		slot->h.claimer = -1;
		slot->h.dbid = dbid;
		queue->next_free = (found + 1) % queue->nslots;
	}
	LWLockRelease(queue->lock);
	return found;
}

/*
 * Sleep on our latch for at most max_ms, and not past deadline.  False,
 * without sleeping, once the deadline has passed or the process is asked
 * to stop or to cancel.  At process exit the postmaster's death ends the
 * wait instead of exiting from inside exit processing.
 */
static bool
queue_sleep(TimestampTz deadline, long max_ms)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	int			events = WL_LATCH_SET | WL_TIMEOUT;
	int			rc;

	if (ms <= 0 || ProcDiePending || QueryCancelPending)
		return false;
	events |= proc_exit_inprogress ? WL_POSTMASTER_DEATH : WL_EXIT_ON_PM_DEATH;
	rc = WaitLatch(MyLatch, events, Min(ms, max_ms), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return (rc & WL_POSTMASTER_DEATH) == 0;
}

/* A free slot, waiting for one until deadline; -1 if none came free. */
static int
queue_reserve(Oid dbid, TimestampTz deadline, uint64 *generation, bool *slept)
{
	for (;;)
	{
		int			i = queue_take_free(dbid, generation);

		if (i >= 0 || !queue_sleep(deadline, QUEUE_FULL_POLL_MS))
			return i;
		*slept = true;
	}
}

/* The entry in slot i is complete: consumers may take it. */
static void
queue_publish(int i, int waiter)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->slots[i].h.waiter = waiter;
	pg_atomic_write_u32(&queue->slots[i].h.state, SLOT_READY);
	LWLockRelease(queue->lock);
}

/*
 * Wake whoever takes entries of database dbid: its sealer, else the
 * launcher (the database is unknown, or has no sealer running).
 */
static void
queue_wake_consumer(Oid dbid)
{
	Latch	   *latch = OidIsValid(dbid) ? audit_sealer_latch(dbid) : NULL;

	if (latch != NULL)
		SetLatch(latch);
	else
		audit_launcher_poke();
}

/* Wait until the entry in slot i (generation) is committed, or deadline. */
static void
queue_wait_done(int i, uint64 generation, TimestampTz deadline)
{
	QueueSlot  *slot = &queue->slots[i];

	for (;;)
	{
		if (pg_atomic_read_u64(&slot->h.generation) != generation ||
			pg_atomic_read_u32(&slot->h.state) == SLOT_FREE)
			return;
		if (!queue_sleep(deadline, QUEUE_DONE_POLL_MS))
			return;
	}
}

/*
 * Queue an event for the trail; with wait, also wait (up to
 * audit.queue_wait_timeout) until it is committed.  True when queued;
 * false when it was written to the server log instead: the process cannot
 * use the queue, nothing can be written (a standby: no sealer runs), the
 * database is known to have no audit_ext, or the queue stayed full.
 * Never raises an error.
 */
static bool
queue_entry(const AuditQueueEntry *entry, bool wait, bool defer)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   audit_queue_wait_timeout);
	uint64		generation = 0;
	bool		slept = false;
	int			i;

	if (queue == NULL || MyProc == NULL)
	{
		audit_queue_log_entry(entry, "the process could not use the event queue", false);
		return false;
	}
	if (!IsUnderPostmaster)
	{
		/* Single-user mode: no sealer will ever take it. */
		audit_queue_log_entry(entry, "single-user mode", false);
		return false;
	}
	if (RecoveryInProgress())
	{
		audit_queue_log_entry(entry, "the server is a standby or in recovery", false);
		return false;
	}
	if (OidIsValid(entry->dbid) &&
		audit_sealer_need(entry->dbid, GetCurrentTimestamp()) == AUDIT_SEALER_ABSENT)
	{
		audit_queue_unaudited(entry, false);
		return false;
	}

	i = queue_reserve(entry->dbid, deadline, &generation, &slept);
	if (i >= 0)
	{
		slot_fill(&queue->slots[i], entry);
		queue_publish(i, wait ? MyProc->pgprocno : -1);
		queue_wake_consumer(entry->dbid);
		if (wait && defer)
		{
			deferred_slot = i;
			deferred_generation = generation;
		}
		else if (wait)
		{
			queue_wait_done(i, generation, deadline);
			slept = true;
		}
	}
	else
		audit_queue_log_entry(entry, "the event queue is full", false);

	/* Our sleeps may have eaten a wake-up meant for the code we run in. */
	if (slept)
		SetLatch(MyLatch);
	return i >= 0;
}

bool
audit_queue_entry(const AuditQueueEntry *entry, bool wait)
{
	return queue_entry(entry, wait, false);
}

/*
 * Queue an event whose producer will wait for its commit later, with
 * audit_queue_wait_deferred(): a failed statement's error report runs
 * before its transaction is aborted, with its locks still held, and must
 * not sit on them while the sealer works.
 */
bool
audit_queue_entry_deferred(const AuditQueueEntry *entry)
{
	return queue_entry(entry, true, true);
}

/* Wait (up to audit.queue_wait_timeout) for the deferred entry, if any. */
void
audit_queue_wait_deferred(void)
{
	int			i = deferred_slot;

	if (i < 0 || queue == NULL)
		return;
	deferred_slot = -1;
	queue_wait_done(i, deferred_generation,
					TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												audit_queue_wait_timeout));
	/* Our sleeps may have eaten a wake-up meant for the code we run in. */
	SetLatch(MyLatch);
}

/* audit_queue_entry() for an event whose role names are known. */
bool
audit_queue_event(const AuditEvent *event, const AuditContext *ctx,
				  Oid dbid, const char *dbname, bool wait)
{
	AuditQueueEntry entry;

	memset(&entry, 0, sizeof(entry));
	entry.event = *event;
	entry.ctx = *ctx;
	entry.dbid = dbid;
	entry.dbname = dbname;
	return audit_queue_entry(&entry, wait);
}

/* ------------------------------------------------------------------------
 * Consumers
 * ------------------------------------------------------------------------
 */

static void
ticket_set(AuditQueueTicket *ticket, int i)
{
	QueueSlot  *slot = &queue->slots[i];

	ticket->slot = i;
	ticket->generation = pg_atomic_read_u64(&slot->h.generation);
	ticket->dbid = slot->h.dbid;
	ticket->dbname[0] = '\0';
	if (slot->h.offset[QF_DBNAME] != 0)
		strlcpy(ticket->dbname, slot->data + slot->h.offset[QF_DBNAME] - 1,
				NAMEDATALEN);
}

static int
ticket_cmp(const void *a, const void *b)
{
	uint64		ga = ((const AuditQueueTicket *) a)->generation;
	uint64		gb = ((const AuditQueueTicket *) b)->generation;

	return ga < gb ? -1 : (ga > gb ? 1 : 0);
}

/* Does ticket still name the entry in its slot, in the given state? */
static bool
ticket_current(const AuditQueueTicket *ticket, QueueSlotState state)
{
	QueueSlot  *slot = &queue->slots[ticket->slot];

	return pg_atomic_read_u64(&slot->h.generation) == ticket->generation &&
		pg_atomic_read_u32(&slot->h.state) == state;
}

/* Give back at exit whatever this process had claimed. */
static void
queue_consumer_exit(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	audit_queue_unclaim_all();
}

/* A consumer (sealer, launcher) starts: it gives its claims back at exit. */
void
audit_queue_consumer_init(void)
{
	before_shmem_exit(queue_consumer_exit, (Datum) 0);
}

/*
 * Claim the entries ready for database dbid, at most max, oldest first.
 */
int
audit_queue_claim(Oid dbid, AuditQueueTicket *tickets, int max)
{
	int			n = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < queue->nslots && n < max; i++)
	{
		QueueSlot  *slot = &queue->slots[i];

		if (pg_atomic_read_u32(&slot->h.state) != SLOT_READY || slot->h.dbid != dbid)
			continue;
		pg_atomic_write_u32(&slot->h.state, SLOT_CLAIMED);
		slot->h.claimer = MyProc->pgprocno;
		ticket_set(&tickets[n++], i);
	}
	LWLockRelease(queue->lock);
	qsort(tickets, n, sizeof(AuditQueueTicket), ticket_cmp);
	return n;
}

/* The entries ready for any database, without claiming them. */
int
audit_queue_pending(AuditQueueTicket *tickets, int max)
{
	int			n = 0;

	LWLockAcquire(queue->lock, LW_SHARED);
	for (int i = 0; i < queue->nslots && n < max; i++)
		if (pg_atomic_read_u32(&queue->slots[i].h.state) == SLOT_READY)
			ticket_set(&tickets[n++], i);
	LWLockRelease(queue->lock);
	qsort(tickets, n, sizeof(AuditQueueTicket), ticket_cmp);
	return n;
}

/* Claim one entry seen by audit_queue_pending; false if it is gone. */
bool
audit_queue_claim_one(const AuditQueueTicket *ticket)
{
	bool		ok;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	ok = ticket_current(ticket, SLOT_READY);
	if (ok)
	{
		pg_atomic_write_u32(&queue->slots[ticket->slot].h.state, SLOT_CLAIMED);
		queue->slots[ticket->slot].h.claimer = MyProc->pgprocno;
	}
	LWLockRelease(queue->lock);
	return ok;
}

/* Send a ready entry to database dbid (resolved from its name). */
bool
audit_queue_route(const AuditQueueTicket *ticket, Oid dbid)
{
	bool		ok;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	ok = ticket_current(ticket, SLOT_READY);
	if (ok)
		queue->slots[ticket->slot].h.dbid = dbid;
	LWLockRelease(queue->lock);
	return ok;
}

/*
 * Free claimed entries (committed to the trail, or logged) and wake the
 * producers waiting for them.
 */
void
audit_queue_release(const AuditQueueTicket *tickets, int n)
{
	int			waiters[64];
	int			nwaiters = 0;

	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int k = 0; k < n; k++)
	{
		QueueSlot  *slot = &queue->slots[tickets[k].slot];

		if (!ticket_current(&tickets[k], SLOT_CLAIMED) ||
			slot->h.claimer != MyProc->pgprocno)
			continue;
		if (slot->h.waiter >= 0 && nwaiters < (int) lengthof(waiters))
			waiters[nwaiters++] = slot->h.waiter;
		slot->h.claimer = -1;
		pg_atomic_write_u32(&slot->h.state, SLOT_FREE);
	}
	LWLockRelease(queue->lock);

	/* Waiters beyond the array find out at their next poll. */
	for (int k = 0; k < nwaiters; k++)
		SetLatch(&GetPGProcByNumber(waiters[k])->procLatch);
}

/* Give back every entry this process claimed and did not release. */
void
audit_queue_unclaim_all(void)
{
	if (queue == NULL || MyProc == NULL)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	for (int i = 0; i < queue->nslots; i++)
	{
		QueueSlot  *slot = &queue->slots[i];

		if (pg_atomic_read_u32(&slot->h.state) == SLOT_CLAIMED &&
			slot->h.claimer == MyProc->pgprocno)
		{
			slot->h.claimer = -1;
			pg_atomic_write_u32(&slot->h.state, SLOT_READY);
		}
	}
	LWLockRelease(queue->lock);
}

/*
 * A palloc'd copy of s, valid in the database encoding: bytes that are
 * not (a failed login's role name, typed in another encoding, a string
 * cut in the middle of a character) become '?'.
 */
static char *
queue_text(const char *s)
{
	int			encoding = GetDatabaseEncoding();
	int			len = strlen(s);
	StringInfoData buf;

	if (pg_encoding_verifymbstr(encoding, s, len) == len)
		return pstrdup(s);
	initStringInfo(&buf);
	while (len > 0)
	{
		int			l = pg_encoding_verifymbchar(encoding, s, len);

		if (l <= 0)
		{
			appendStringInfoChar(&buf, '?');
			l = 1;
		}
		else
			appendBinaryStringInfo(&buf, s, l);
		s += l;
		len -= l;
	}
	return buf.data;
}

/*
 * Read a claimed entry back, in palloc'd memory of the caller's context.
 */
void
audit_queue_read(const AuditQueueTicket *ticket, AuditQueueEntry *entry)
{
	QueueSlot  *slot = &queue->slots[ticket->slot];

	*entry = slot->h.entry;
	entry->dbid = slot->h.dbid;
	for (int f = 0; f < QF_COUNT; f++)
		*entry_string(entry, f) = slot->h.offset[f] == 0 ? NULL :
			queue_text(slot->data + slot->h.offset[f] - 1);
}

/* ------------------------------------------------------------------------
 * The server log, for events that cannot reach the trail
 * ------------------------------------------------------------------------
 */

/*
 * Keep passwords out of the log.  With can_scan, as the trail does
 * (redact.c); else (inside error reporting, where the scanner's own error
 * handling may not run) everything from the first "password" on.
 */
static const char *
log_redact(const char *text, bool can_scan)
{
	if (can_scan)
		return audit_redact(text);
	if (text == NULL)
		return NULL;
	for (const char *p = text; *p; p++)
		if (pg_strncasecmp(p, "password", 8) == 0)
			return psprintf("%.*s[audit_ext: redacted]", (int) (p - text), text);
	return text;
}

static void
log_member_int(StringInfo buf, const char *name, int64 value)
{
	appendStringInfo(buf, ", \"%s\": " INT64_FORMAT, name, value);
}

/*
 * An event of a database without audit_ext.  That database is not audited,
 * by its owner's choice: the logins, logouts and errors of its sessions are
 * not lost events, and are neither logged nor counted.  A failed login is
 * (someone trying to get in, perhaps to a database that does not exist).
 */
void
audit_queue_unaudited(const AuditQueueEntry *entry, bool can_scan)
{
	if (entry->event.kind != NULL && strcmp(entry->event.kind, "login_failed") == 0)
		audit_queue_log_entry(entry, "the database has no audit_ext", can_scan);
}

/*
 * Write an event that will not reach the trail to the server log, as one
 * line holding a JSON object, and count it.  JSON fields are written as
 * strings, so that the line stays one line whatever they hold.
 */
void
audit_queue_log_entry(const AuditQueueEntry *entry, const char *reason,
					  bool can_scan)
{
	StringInfoData buf;
	uint64		total = 0;

	if (queue != NULL)
		total = pg_atomic_add_fetch_u64(&queue->not_recorded, 1);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"audit_ext\": \"event not recorded in the audit trail\", \"reason\": ");
	escape_json(&buf, reason);
	log_member_int(&buf, "not_recorded_total", (int64) total);
	appendStringInfoString(&buf, ", \"occurred_at\": ");
	escape_json(&buf, timestamptz_to_str(entry->ctx.occurred_at));
	for (int f = 0; f < QF_COUNT; f++)
	{
		const char *s = entry_get_string(entry, f);

		if (f == QF_STATEMENT || f == QF_MESSAGE)
			s = log_redact(s, can_scan);
		if (s == NULL)
			continue;
		appendStringInfo(&buf, ", \"%s\": ", queue_fields[f].name);
		escape_json(&buf, s);
	}
	log_member_int(&buf, "database_oid", entry->dbid);
	if (entry->ctx.client_port >= 0)
		log_member_int(&buf, "client_port", entry->ctx.client_port);
	log_member_int(&buf, "backend_pid", entry->ctx.backend_pid);
	if (entry->ctx.session_role == NULL && OidIsValid(entry->session_roleid))
		log_member_int(&buf, "session_role_oid", entry->session_roleid);
	if (entry->ctx.effective_role == NULL && OidIsValid(entry->effective_roleid))
		log_member_int(&buf, "effective_role_oid", entry->effective_roleid);
	if (entry->event.has_rows)
		log_member_int(&buf, "rows_affected", entry->event.rows_affected);
	appendStringInfoChar(&buf, '}');

	ereport(LOG_SERVER_ONLY,
			(errmsg_internal("%s", buf.data),
			 errhidestmt(true), errhidecontext(true)));
	pfree(buf.data);
}
