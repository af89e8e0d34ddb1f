/*-------------------------------------------------------------------------
 *
 * event.c
 *	  Turning what a capture hook saw into a hashed audit.event row.
 *
 * Statement events are written in the audited transaction itself: they
 * commit with the change they describe, or vanish with it (and with a
 * rolled-back subtransaction).  In a read-only transaction, which cannot
 * write the trail, they are queued instead (event_queue.c) and outlive a
 * rollback: what was read was read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "common/jsonapi.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "alert.h"
#include "event.h"
#include "event_batch.h"
#include "event_context.h"
#include "event_format.h"
#include "event_queue.h"
#include "log_json.h"
#include "redact.h"
#include "scope.h"
#include "schema.h"
#include "store.h"
#include "txn_digest.h"

/* audit.statement_max_bytes: longest statement text recorded as is. */
int			audit_statement_max_bytes = 1024 * 1024;

/* Scratch memory for building one event; reset after each. */
static MemoryContext event_cxt = NULL;

/*
 * Can an event be recorded now?  Not outside a transaction, not on a standby
 * (nothing can be written there), not in a parallel worker (the leader
 * records the statement), not from inside an extension script (the CREATE
 * or ALTER EXTENSION itself is recorded), and not where audit_ext is not
 * installed.  (In a read-only transaction it is queued: see
 * audit_event_record.)
 */
bool
audit_can_record(void)
{
	if (!IsTransactionState() || IsParallelWorker() || creating_extension)
		return false;
	if (RecoveryInProgress())
		return false;
	return audit_store_available();
}

/*
 * A palloc'd copy of the len bytes at start, capped at max_bytes (0: no
 * cap) on a character boundary, with a marker saying how long it was;
 * "what" names it in the marker.  Only what is kept is copied, so a 100 MB
 * statement costs no 100 MB copy.
 */
static char *
cap_span(const char *start, size_t len, int max_bytes, const char *what)
{
	int			keep;

	if (max_bytes <= 0 || len <= (size_t) max_bytes)
		return pnstrdup(start, len);
	keep = pg_mbcliplen(start, max_bytes, max_bytes);
	return psprintf("%.*s... [audit_ext: %s truncated, %zu bytes in all]",
					keep, start, what, len);
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
	return cap_span(source + location, len, audit_statement_max_bytes,
					"statement");
}

/* text capped as cap_span() does; text itself when short enough. */
char *
audit_cap_text(const char *text, int max_bytes, const char *what)
{
	size_t		len;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	if (max_bytes <= 0 || len <= (size_t) max_bytes)
		return (char *) text;
	return cap_span(text, len, max_bytes, what);
}

static Datum
json_datum(const char *json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* The who-and-where columns of a row, from ctx (all NULL on entry). */
static void
event_fill_context(Datum *values, bool *isnull, const AuditContext *ctx)
{
	audit_set(values, isnull, Anum_event_occurred_at,
			  TimestampTzGetDatum(ctx->occurred_at));
	audit_set_text(values, isnull, Anum_event_session_role, ctx->session_role);
	audit_set_text(values, isnull, Anum_event_effective_role, ctx->effective_role);
	if (ctx->client_addr != NULL)
		audit_set(values, isnull, Anum_event_client_addr,
				  DirectFunctionCall1(inet_in, CStringGetDatum(ctx->client_addr)));
	if (ctx->client_port >= 0)
		audit_set(values, isnull, Anum_event_client_port,
				  Int32GetDatum(ctx->client_port));
	audit_set_text(values, isnull, Anum_event_application_name,
				   ctx->application_name);
	if (ctx->backend_pid != 0)
		audit_set(values, isnull, Anum_event_backend_pid,
				  Int32GetDatum(ctx->backend_pid));
	audit_set_text(values, isnull, Anum_event_database, ctx->database);
	audit_set_text(values, isnull, Anum_event_app_user, ctx->app_user);
	if (ctx->context != NULL)
		audit_set(values, isnull, Anum_event_context, json_datum(ctx->context));
	if (ctx->nesting_level >= 0)
		audit_set(values, isnull, Anum_event_nesting_level,
				  Int32GetDatum(ctx->nesting_level));
}

/*
 * An error's DETAIL, HINT and CONTEXT (a JSON object) may quote a statement
 * with a password (dynamic SQL run by a function): redacted like the
 * statement.  Should redaction have left the text unreadable as JSON, the
 * whole detail is replaced rather than let the password through or make
 * the event fail.
 */
static const char *
redact_detail(const char *json, bool failed)
{
	const char *redacted = failed ? audit_redact_failed(json) : audit_redact(json);
	JsonLexContext *lex;

	if (redacted == json)
		return json;
	lex = makeJsonLexContextCstringLen((char *) redacted, strlen(redacted),
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS)
		return redacted;
	return "{\"redacted\": \"it quoted a password\"}";
}

static void
set_jsonb(Datum *values, bool *isnull, int attnum, Jsonb *value)
{
	if (value != NULL)
		audit_set(values, isnull, attnum, JsonbPGetDatum(value));
}

/* len bytes from the strong random source, as a bytea. */
bytea *
audit_random_bytea(int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	if (!pg_strong_random(VARDATA(b), len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a salt")));
	return b;
}

/*
 * A row event's images, and the fresh secret salt their commitments are
 * made with (docs/FORMAT.md, "Row images"; src/row_salt.c).
 */
static void
event_fill_row(Datum *values, bool *isnull, const AuditRowImages *row)
{
	set_jsonb(values, isnull, Anum_event_row_key, row->row_key);
	set_jsonb(values, isnull, Anum_event_old_row, row->old_row);
	set_jsonb(values, isnull, Anum_event_new_row, row->new_row);
	set_jsonb(values, isnull, Anum_event_changed_columns, row->changed_columns);
	audit_set(values, isnull, Anum_event_row_salt,
			  PointerGetDatum(audit_row_salt()));
}

/* What the capture hook saw (all NULL on entry). */
static void
event_fill_what(Datum *values, bool *isnull, const AuditEvent *event)
{
	bool		failed = event->kind != NULL && strcmp(event->kind, "error") == 0;

	audit_set_text(values, isnull, Anum_event_kind, event->kind);
	audit_set_text(values, isnull, Anum_event_class, event->class_name);
	audit_set_text(values, isnull, Anum_event_command, event->command);
	audit_set_text(values, isnull, Anum_event_object_name, event->object_name);

	/* Capped by whoever took it (audit_statement_text, the event queue). */
	audit_set_text(values, isnull, Anum_event_statement,
				   failed ? audit_redact_failed(event->statement) :
				   audit_redact(event->statement));
	if (event->has_rows)
		audit_set(values, isnull, Anum_event_rows_affected,
				  Int64GetDatum(event->rows_affected));
	if (event->parameters != NULL)
		audit_set(values, isnull, Anum_event_parameters,
				  json_datum(event->parameters));
	if (event->objects != NULL)
		audit_set(values, isnull, Anum_event_objects, json_datum(event->objects));
	audit_set_text(values, isnull, Anum_event_sqlstate, event->sqlstate);
	audit_set_text(values, isnull, Anum_event_message,
				   audit_redact(event->message));
	if (event->row != NULL)
		event_fill_row(values, isnull, event->row);
	if (event->detail != NULL)
		audit_set(values, isnull, Anum_event_detail,
				  json_datum(redact_detail(event->detail, failed)));
}

/* The scratch context events are built in (reset after each). */
static MemoryContext
event_memory(void)
{
	if (event_cxt == NULL)
		event_cxt = AllocSetContextCreate(TopMemoryContext,
										  "audit_ext event",
										  ALLOCSET_DEFAULT_SIZES);
	return event_cxt;
}

/* A leaf hash as a bytea Datum. */
static Datum
leaf_datum(const uint8 leaf[AUDIT_HASH_LEN])
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), leaf, AUDIT_HASH_LEN);
	return PointerGetDatum(b);
}

/*
 * Build the row for an event with the given context, hash it, and insert
 * it in the current transaction.  Its statement id: ctx's if set, else
 * that of the session's current statement (in_scope), else its own id.
 */
static int64
event_write(const AuditEvent *event, const AuditContext *ctx, bool in_scope)
{
	Datum		values[Natts_event];
	bool		isnull[Natts_event];
	uint8		leaf[AUDIT_HASH_LEN];
	Relation	rel;
	int64		event_id;
	int			version;
	int			natts;
	MemoryContext oldcxt;

	oldcxt = MemoryContextSwitchTo(event_memory());

	memset(isnull, true, sizeof(isnull));
	event_fill_context(values, isnull, ctx);
	event_fill_what(values, isnull, event);

	rel = audit_event_rel_open();
	version = audit_store_event_format(rel);
	event_id = audit_store_next_event_id();
	audit_set(values, isnull, Anum_event_event_id, Int64GetDatum(event_id));
	audit_set(values, isnull, Anum_event_statement_id,
			  Int64GetDatum(ctx->statement_id != 0 ? ctx->statement_id :
							in_scope ? audit_scope_statement_id(event_id) :
							event_id));
	audit_set(values, isnull, Anum_event_format_version, Int16GetDatum(version));
	audit_set(values, isnull, Anum_event_txid,
			  FullTransactionIdGetDatum(GetTopFullTransactionId()));

	natts = RelationGetDescr(rel)->natts;
	audit_event_leaf_hash(values, isnull, natts, leaf);
	audit_set(values, isnull, Anum_event_leaf_hash, leaf_datum(leaf));

	/* In 0.1's layout, only its columns are stored (and hashed). */
	audit_event_rel_insert(rel, values, isnull);
	audit_txn_add_event(RelationGetRelid(rel), leaf);
	audit_event_rel_close(rel);
	if (audit_log_to_server)
		audit_log_json_note(values, isnull, natts);
	audit_alert_note(event->kind, values, isnull);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(event_cxt);
	return event_id;
}

/*
 * Record an event of the current session, at the current nesting level.
 */
void
audit_event_record(const AuditEvent *event)
{
	AuditContext ctx;
	MemoryContext oldcxt;

	oldcxt = MemoryContextSwitchTo(event_memory());
	audit_context_capture(&ctx);
	ctx.nesting_level = audit_scope_level();

	/*
	 * A read-only transaction cannot write the trail (nextval() of our
	 * sequences is refused there): its events (reads, SET, function calls,
	 * writes to temporary tables) travel the event queue, and the sealer
	 * writes them in a transaction of its own.  Each is then a statement of
	 * its own (no statement id can be taken here).
	 */
	if (XactReadOnly)
	{
		(void) audit_queue_event(event, &ctx, MyDatabaseId, NULL, false);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(event_memory());
		return;
	}
	MemoryContextSwitchTo(oldcxt);
	(void) event_write(event, &ctx, true);
}

/*
 * Record a row event (capture_row.c) that occurred at occurred_at; returns
 * its id.  Who ran the statement and from where is its statement event's
 * (same statement_id, same transaction): not repeated on every row.
 */
int64
audit_event_record_row(const AuditEvent *event, TimestampTz occurred_at)
{
	AuditContext ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.occurred_at = occurred_at;
	ctx.client_port = -1;
	ctx.nesting_level = audit_scope_level();
	audit_scope_note_rows();
	return event_write(event, &ctx, true);
}

/*
 * Record an event that happened elsewhere (another session: the event
 * queue), with its own context; with no statement id in ctx, the event's
 * own id is its statement id.
 */
void
audit_event_record_as(const AuditEvent *event, const AuditContext *ctx)
{
	(void) event_write(event, ctx, false);
}
