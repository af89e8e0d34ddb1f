/*-------------------------------------------------------------------------
 *
 * event.c
 *	  Turning what a capture hook saw into a hashed audit.event row.
 *
 * Events are written in the audited transaction itself: they commit with
 * the change they describe, or vanish with it (and with a rolled-back
 * subtransaction).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "event.h"
#include "event_context.h"
#include "event_format.h"
#include "schema.h"
#include "store.h"
#include "txn_digest.h"

/* Scratch memory for building one event; reset before each. */
static MemoryContext event_cxt = NULL;

/*
 * Can an event be written now?  Not outside a transaction, not on a standby
 * (nothing can be written there), not in a parallel worker (the leader
 * records the statement), not from inside an extension script (the CREATE
 * or ALTER EXTENSION itself is recorded), not in a read-only transaction,
 * and not where audit_ext is not installed.
 */
bool
audit_can_record(void)
{
	/*
	 * A read-only transaction can only write temporary tables (session
	 * private, gone at disconnect), and nextval() of our sequences is
	 * refused there: such writes are not recorded.
	 */
	if (!IsTransactionState() || IsParallelWorker() || creating_extension ||
		XactReadOnly)
		return false;
	if (RecoveryInProgress())
		return false;
	return audit_store_available();
}

/*
 * The text of one statement out of a source string that may hold several,
 * as located by the parser; the whole string when the location is unknown.
 */
char *
audit_statement_text(const char *source, int location, int len)
{
	int			srclen;

	if (source == NULL)
		return NULL;
	srclen = strlen(source);
	if (location < 0 || location > srclen)
	{
		location = 0;
		len = srclen;
	}
	else if (len <= 0 || len > srclen - location)
		len = srclen - location;

	/* Surrounding white space and a final semicolon are not part of it. */
	while (len > 0 && scanner_isspace(source[location]))
	{
		location++;
		len--;
	}
	while (len > 0 && (scanner_isspace(source[location + len - 1]) ||
					   source[location + len - 1] == ';'))
		len--;
	return pnstrdup(source + location, len);
}

/*
 * Build the row for an event, hash it, and insert it.
 */
void
audit_event_record(const AuditEvent *event)
{
	Datum		values[Natts_event];
	bool		isnull[Natts_event];
	uint8		leaf[AUDIT_HASH_LEN];
	bytea	   *leaf_bytea;
	Relation	rel;
	MemoryContext oldcxt;

	if (event_cxt == NULL)
		event_cxt = AllocSetContextCreate(TopMemoryContext,
										  "audit_ext event",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(event_cxt);
	oldcxt = MemoryContextSwitchTo(event_cxt);

	memset(isnull, true, sizeof(isnull));
	audit_context_fill(values, isnull);

	audit_set(values, isnull, Anum_event_event_id,
					Int64GetDatum(audit_store_next_event_id()));
	audit_set(values, isnull, Anum_event_format_version,
					Int16GetDatum(AUDIT_FORMAT_VERSION));
	audit_set(values, isnull, Anum_event_txid,
					FullTransactionIdGetDatum(GetTopFullTransactionId()));
	audit_set(values, isnull, Anum_event_occurred_at,
					TimestampTzGetDatum(GetCurrentTimestamp()));

	audit_set_text(values, isnull, Anum_event_kind, event->kind);
	audit_set_text(values, isnull, Anum_event_command, event->command);
	audit_set_text(values, isnull, Anum_event_object_name, event->object_name);
	audit_set_text(values, isnull, Anum_event_statement, event->statement);
	if (event->has_rows)
		audit_set(values, isnull, Anum_event_rows_affected,
						Int64GetDatum(event->rows_affected));

	audit_event_leaf_hash(values, isnull, leaf);
	leaf_bytea = palloc(VARHDRSZ + AUDIT_HASH_LEN);
	SET_VARSIZE(leaf_bytea, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(leaf_bytea), leaf, AUDIT_HASH_LEN);
	audit_set(values, isnull, Anum_event_leaf_hash,
					PointerGetDatum(leaf_bytea));

	rel = audit_store_open(AUDIT_REL_EVENT, RowExclusiveLock);
	audit_store_insert(rel, values, isnull);
	audit_txn_add_event(RelationGetRelid(rel), leaf);
	table_close(rel, RowExclusiveLock);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(event_cxt);
}
