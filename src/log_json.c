/*-------------------------------------------------------------------------
 *
 * log_json.c
 *	  audit.log_to_server: each committed audit event is also written to
 *	  the server log, one line "AUDIT_EXT_JSON {...}" per event, the same
 *	  document as audit.export() (event_json.c) without audit.block_id.
 *
 * An event is only worth logging once its transaction has committed: a
 * rolled-back statement's events never existed.  So each event's document
 * is built when the event is written (from the row itself, no SPI) and
 * kept in a list in TopTransactionContext, tagged with the subtransaction
 * that wrote it; a subtransaction's abort drops its own and its children's
 * (they are the tail of the list), and XACT_EVENT_COMMIT -- after the
 * commit record, when the transaction can no longer abort -- writes them
 * out.  Events the sealer writes from the event queue (failed statements,
 * logins, read-only transactions' statements) take the same path in the
 * sealer's transaction.
 *
 * A transaction keeps at most LOG_JSON_MAX_EVENTS documents and
 * LOG_JSON_MAX_BYTES bytes of them; beyond that, one line says how many
 * events were not logged (the trail has them all).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "event_json.h"
#include "log_json.h"

#define LOG_JSON_MAX_EVENTS	10000
#define LOG_JSON_MAX_BYTES	(64 * 1024 * 1024)

/* One event's line, waiting for its transaction's commit. */
typedef struct PendingLine
{
	SubTransactionId subid;
	char	   *json;
} PendingLine;

/* audit.log_to_server */
bool		audit_log_to_server = false;

static PendingLine *pending = NULL;	/* TopTransactionContext */
static int	pending_count = 0;
static int	pending_cap = 0;
static Size pending_bytes = 0;
static int64 pending_dropped = 0;

void
audit_log_json_define_settings(void)
{
	DefineCustomBoolVariable("audit.log_to_server",
							 "Also writes each committed audit event to the server log as JSON.",
							 "One LOG line per event, \"AUDIT_EXT_JSON \" followed by the document "
							 "audit.export() returns, for log shippers.",
							 &audit_log_to_server,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

static void
pending_reset(void)
{
	pending = NULL;				/* memory goes with TopTransactionContext */
	pending_count = 0;
	pending_cap = 0;
	pending_bytes = 0;
	pending_dropped = 0;
}

/* Write out the committed transaction's lines. */
static void
pending_emit(void)
{
	for (int i = 0; i < pending_count; i++)
		ereport(LOG,
				(errmsg_internal("%s%s", AUDIT_LOG_JSON_PREFIX, pending[i].json),
				 errhidestmt(true),
				 errhidecontext(true)));
	if (pending_dropped > 0)
		ereport(LOG,
				(errmsg("audit_ext: " INT64_FORMAT " audit events of a transaction were not written to the server log",
						pending_dropped),
				 errdetail("audit.log_to_server keeps at most %d events (%d MB) per transaction; the audit trail has them all.",
						   LOG_JSON_MAX_EVENTS, LOG_JSON_MAX_BYTES / (1024 * 1024)),
				 errhidestmt(true),
				 errhidecontext(true)));
}

static void
log_json_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			pending_emit();
			pending_reset();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			pending_reset();
			break;
		default:
			break;
	}
}

/*
 * A subtransaction's abort drops the lines it and its children noted:
 * subtransaction ids grow, so they are the tail of the list.
 */
static void
log_json_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid pg_attribute_unused(),
						  void *arg pg_attribute_unused())
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (pending_count > 0 && pending[pending_count - 1].subid >= mySubid)
	{
		pending_count--;
		pending_bytes -= strlen(pending[pending_count].json);
		pfree(pending[pending_count].json);
	}
}

/* Room for one more line, or false when the transaction has its fill. */
static bool
pending_make_room(Size len)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(log_json_xact_callback, NULL);
		RegisterSubXactCallback(log_json_subxact_callback, NULL);
		registered = true;
	}
	if (pending_count >= LOG_JSON_MAX_EVENTS ||
		pending_bytes + len > LOG_JSON_MAX_BYTES)
		return false;
	if (pending_count == pending_cap)
	{
		pending_cap = Max(16, pending_cap * 2);
		pending = pending == NULL ?
			MemoryContextAlloc(TopTransactionContext,
							   pending_cap * sizeof(PendingLine)) :
			repalloc(pending, pending_cap * sizeof(PendingLine));
	}
	return true;
}

/*
 * Keep the document of the event just written (audit.event columns
 * 1..natts in values/isnull) for the server log, should its transaction
 * commit.  Called only while audit.log_to_server is on.
 */
void
audit_log_json_note(const Datum *values, const bool *isnull, int natts)
{
	StringInfoData buf;

	/* Built in the caller's (per-event) memory, kept in the transaction's. */
	initStringInfo(&buf);
	audit_event_json(&buf, values, isnull, natts, 0);
	if (!pending_make_room(buf.len))
	{
		pending_dropped++;
		return;
	}
	pending[pending_count].subid = GetCurrentSubTransactionId();
	pending[pending_count].json = MemoryContextStrdup(TopTransactionContext,
													  buf.data);
	pending_count++;
	pending_bytes += buf.len;
}
