/*-------------------------------------------------------------------------
 *
 * startup_event.c
 *	  One event per server start and database: the server started, with
 *	  the settings that take effect only then, and the last block sealed
 *	  before it.
 *
 * A start-time setting (audit.guard = off, shared_preload_libraries
 * without audit_ext) can only change with a restart; this event makes the
 * restart, and the guard's state after it, part of the trail.  The last
 * block before the start shows where the previous run's trail ended: a
 * restart with the library unloaded leaves no events for the time between,
 * and that gap is in plain sight between the two.  The database's sealer
 * records it, in a transaction of its own, before its first round.  A
 * trail begun after the start (no block sealed before it) has no restart
 * to show.  A crash of a backend, after which the postmaster reinitialises
 * shared memory without restarting, keeps the start time: no event then,
 * unless no block was sealed since the start.
 *
 * A standby promoted during this run of the server records, instead, one
 * "PROMOTE" event (its sealer first runs then): the new timeline and the
 * last block replayed before it, which the new blocks follow.  It is
 * written whatever the time of that block: a standby replays blocks sealed
 * after its own start.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "commands/dbcommands.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "checkpoint.h"
#include "event.h"
#include "guard.h"
#include "seal.h"
#include "shmem.h"
#include "startup_event.h"
#include "store.h"

/* The event's detail: JSON object text. */
static char *
startup_detail(const AuditHead *head, bool promoted)
{
	StringInfoData block;
	StringInfoData buf;

	initStringInfo(&block);
	appendStringInfoChar(&block, '{');
	audit_json_put_int(&block, "block_id", head->state.block_id);
	audit_json_put_hex(&block, "block_hash", head->state.block_hash,
					   AUDIT_HASH_LEN);
	audit_json_put_text(&block, "sealed_at", timestamptz_to_str(head->sealed_at));
	appendStringInfoChar(&block, '}');

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_text(&buf, "server_started_at", timestamptz_to_str(PgStartTime));
	audit_json_put_raw(&buf, "guard", audit_guard ? "true" : "false");
	if (promoted)
		audit_json_put_int(&buf, "timeline", GetWALInsertionTimeLine());
	audit_json_put_raw(&buf, "last_block", block.data);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Write the event if there is a trail from before the start (a block
 * sealed earlier: a trail begun since has no restart to show), or from
 * before the promotion.
 */
static void
startup_write(void)
{
	AuditEvent	event = {0};
	AuditContext ctx = {0};
	AuditHead	head;
	bool		promoted = PromoteIsTriggered();

	if (!audit_can_record() || !audit_read_block_row(NULL, 0, &head) ||
		(!promoted && head.sealed_at >= PgStartTime))
		return;
	event.kind = "server";
	event.command = promoted ? "PROMOTE" : "STARTUP";
	event.detail = startup_detail(&head, promoted);
	ctx.occurred_at = GetCurrentTimestamp();
	ctx.backend_pid = MyProcPid;
	ctx.database = get_database_name(MyDatabaseId);
	ctx.client_port = -1;
	ctx.nesting_level = -1;
	audit_event_record_as(&event, &ctx);
}

/*
 * Record this database's startup event, unless it already is (since the
 * server started).  Called by the sealer outside a transaction.
 */
void
audit_startup_event_record(void)
{
	if (!audit_startup_pending(MyDatabaseId))
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	startup_write();
	PopActiveSnapshot();
	CommitTransactionCommand();
	audit_startup_mark(MyDatabaseId);
}
