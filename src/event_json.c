/*-------------------------------------------------------------------------
 *
 * event_json.c
 *	  One audit event as a JSON document for log platforms: the field
 *	  layout of audit.export() and of audit.log_to_server's log lines
 *	  (README, "Export for log platforms").
 *
 * Fields follow the Elastic Common Schema and OpenTelemetry's attribute
 * names where one fits (event.*, user.*, source.*, process.*, db.*,
 * error.*); everything else of the event is under "audit".  Objects are
 * nested, and a field whose column is NULL is left out (an object left
 * empty too).  The document is built from the event's column values, so
 * the row being written (event.c) and the row read back (audit.export())
 * give the same document; only audit.block_id, known once the event is
 * sealed, differs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"

#include "event_json.h"
#include "schema.h"

#define JW_MAX_DEPTH 4

/*
 * A JSON object writer that leaves out empty objects: an object begun is
 * written out only when its first member is.
 */
typedef struct JsonWriter
{
	StringInfo	buf;
	int			depth;			/* objects begun, the document's included */
	int			opened;			/* of those, how many are written out */
	const char *key[JW_MAX_DEPTH];
	bool		has_member[JW_MAX_DEPTH];
	const Datum *values;		/* the event's columns */
	const bool *isnull;
	int			natts;
} JsonWriter;

static void
jw_begin(JsonWriter *w, const char *key)
{
	Assert(w->depth < JW_MAX_DEPTH);
	w->key[w->depth] = key;
	w->has_member[w->depth] = false;
	w->depth++;
}

static void
jw_end(JsonWriter *w)
{
	w->depth--;
	if (w->opened > w->depth)
	{
		appendStringInfoChar(w->buf, '}');
		w->opened = w->depth;
	}
}

static void
jw_put_key(JsonWriter *w, int level, const char *key)
{
	if (w->has_member[level])
		appendStringInfoString(w->buf, ", ");
	w->has_member[level] = true;
	escape_json(w->buf, key);
	appendStringInfoString(w->buf, ": ");
}

/* Start member key of the innermost object, writing out its parents. */
static void
jw_key(JsonWriter *w, const char *key)
{
	for (; w->opened < w->depth; w->opened++)
	{
		if (w->opened > 0)
			jw_put_key(w, w->opened - 1, w->key[w->opened]);
		appendStringInfoChar(w->buf, '{');
	}
	jw_put_key(w, w->depth - 1, key);
}

static void
jw_string(JsonWriter *w, const char *key, const char *s)
{
	jw_key(w, key);
	escape_json(w->buf, s);
}

static void
jw_int(JsonWriter *w, const char *key, int64 n)
{
	jw_key(w, key);
	appendStringInfo(w->buf, INT64_FORMAT, n);
}

/* Is column attnum of the event stored and not NULL? */
static bool
jw_has(JsonWriter *w, int attnum)
{
	return attnum <= w->natts && !w->isnull[attnum - 1];
}

static Datum
jw_value(JsonWriter *w, int attnum)
{
	return w->values[attnum - 1];
}

static void
jw_text(JsonWriter *w, const char *key, int attnum)
{
	if (jw_has(w, attnum))
		jw_string(w, key, TextDatumGetCString(jw_value(w, attnum)));
}

/* An int2, int4 or int8 column as a JSON number. */
static void
jw_number(JsonWriter *w, const char *key, int attnum, Oid type)
{
	Datum		d;

	if (!jw_has(w, attnum))
		return;
	d = jw_value(w, attnum);
	jw_int(w, key, type == INT2OID ? DatumGetInt16(d) :
		   type == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d));
}

static void
jw_jsonb(JsonWriter *w, const char *key, int attnum)
{
	Jsonb	   *jb;

	if (!jw_has(w, attnum))
		return;
	jb = DatumGetJsonbP(jw_value(w, attnum));
	jw_key(w, key);
	(void) JsonbToCString(w->buf, &jb->root, VARSIZE(jb));
}

/* A bytea column as lower-case hex. */
static void
jw_hex(JsonWriter *w, const char *key, int attnum)
{
	bytea	   *b;
	const uint8 *p;

	if (!jw_has(w, attnum))
		return;
	b = DatumGetByteaPP(jw_value(w, attnum));
	p = (const uint8 *) VARDATA_ANY(b);
	jw_key(w, key);
	appendStringInfoChar(w->buf, '"');
	for (int i = 0; i < (int) VARSIZE_ANY_EXHDR(b); i++)
		appendStringInfo(w->buf, "%02x", p[i]);
	appendStringInfoChar(w->buf, '"');
}

/* ECS event.category of an event, from its kind and class. */
static const char *
event_category(const char *kind, const char *class_name)
{
	if (strcmp(kind, "login") == 0 || strcmp(kind, "login_failed") == 0)
		return "authentication";
	if (strcmp(kind, "logout") == 0)
		return "session";
	if (strcmp(kind, "config") == 0)
		return "configuration";
	if (strcmp(kind, "server") == 0)
		return "process";
	if (class_name != NULL && strcmp(class_name, "role") == 0)
		return "iam";
	return "database";
}

/* @timestamp, in UTC (ISO 8601, microseconds). */
static void
put_timestamp(JsonWriter *w)
{
	int			utc = 0;

	if (!jw_has(w, Anum_event_occurred_at))
		return;
	jw_string(w, "@timestamp",
			  JsonEncodeDateTime(NULL, jw_value(w, Anum_event_occurred_at),
								 TIMESTAMPTZOID, &utc));
}

/* event.*: what happened, and whether it failed. */
static void
put_event(JsonWriter *w)
{
	char	   *kind = jw_has(w, Anum_event_kind) ?
		TextDatumGetCString(jw_value(w, Anum_event_kind)) : "";
	char	   *class_name = jw_has(w, Anum_event_class) ?
		TextDatumGetCString(jw_value(w, Anum_event_class)) : NULL;
	bool		failed = strcmp(kind, "error") == 0 ||
		strcmp(kind, "login_failed") == 0;

	jw_begin(w, "event");
	jw_string(w, "id", psprintf(INT64_FORMAT,
								DatumGetInt64(jw_value(w, Anum_event_event_id))));
	jw_string(w, "kind", "event");
	jw_text(w, "action", Anum_event_command);
	if (*kind != '\0')			/* not archived */
	{
		jw_key(w, "category");
		appendStringInfoChar(w->buf, '[');
		escape_json(w->buf, event_category(kind, class_name));
		appendStringInfoChar(w->buf, ']');
		jw_string(w, "outcome", failed ? "failure" : "success");
	}
	jw_end(w);
}

/* user.*, source.*, process.*: who and from where. */
static void
put_who(JsonWriter *w)
{
	jw_begin(w, "user");
	jw_text(w, "name", Anum_event_session_role);
	jw_begin(w, "effective");
	jw_text(w, "name", Anum_event_effective_role);
	jw_end(w);
	jw_end(w);

	jw_begin(w, "source");
	if (jw_has(w, Anum_event_client_addr))
		jw_string(w, "ip",
				  DatumGetCString(DirectFunctionCall1(inet_out,
													  jw_value(w, Anum_event_client_addr))));
	jw_number(w, "port", Anum_event_client_port, INT4OID);
	jw_end(w);

	jw_begin(w, "process");
	jw_number(w, "pid", Anum_event_backend_pid, INT4OID);
	jw_end(w);
}

/* db.* (OpenTelemetry) and error.*. */
static void
put_db(JsonWriter *w)
{
	jw_begin(w, "db");
	jw_string(w, "system", "postgresql");
	jw_text(w, "name", Anum_event_database);
	jw_text(w, "operation", Anum_event_command);
	jw_text(w, "statement", Anum_event_statement);
	jw_begin(w, "sql");
	jw_text(w, "table", Anum_event_object_name);
	jw_end(w);
	jw_end(w);

	jw_begin(w, "error");
	jw_text(w, "code", Anum_event_sqlstate);
	jw_text(w, "message", Anum_event_message);
	jw_end(w);
}

/* audit.*: the rest of the event, and what ties it to the trail. */
static void
put_audit(JsonWriter *w, int64 block_id)
{
	jw_begin(w, "audit");
	jw_number(w, "event_id", Anum_event_event_id, INT8OID);
	jw_text(w, "kind", Anum_event_kind);
	jw_text(w, "class", Anum_event_class);
	jw_number(w, "statement_id", Anum_event_statement_id, INT8OID);
	jw_number(w, "nesting_level", Anum_event_nesting_level, INT4OID);
	jw_number(w, "txid", Anum_event_txid, INT8OID);
	jw_number(w, "format_version", Anum_event_format_version, INT2OID);
	jw_hex(w, "leaf_hash", Anum_event_leaf_hash);
	if (block_id > 0)
		jw_int(w, "block_id", block_id);
	jw_text(w, "app_user", Anum_event_app_user);
	jw_text(w, "application_name", Anum_event_application_name);
	jw_number(w, "rows_affected", Anum_event_rows_affected, INT8OID);
	jw_jsonb(w, "parameters", Anum_event_parameters);
	jw_jsonb(w, "objects", Anum_event_objects);
	jw_jsonb(w, "row_key", Anum_event_row_key);
	jw_jsonb(w, "old_row", Anum_event_old_row);
	jw_jsonb(w, "new_row", Anum_event_new_row);
	jw_jsonb(w, "changed_columns", Anum_event_changed_columns);
	jw_jsonb(w, "context", Anum_event_context);
	jw_jsonb(w, "detail", Anum_event_detail);
	jw_number(w, "archive_id", Anum_event_archive_id, INT8OID);
	jw_jsonb(w, "erasure", Anum_event_erasure);
	jw_end(w);
}

/*
 * Append the document of the event whose audit.event columns 1..natts
 * are values/isnull; block_id 0: not sealed (left out).
 */
void
audit_event_json(StringInfo out, const Datum *values, const bool *isnull,
				 int natts, int64 block_id)
{
	JsonWriter	w = {0};

	w.buf = out;
	w.values = values;
	w.isnull = isnull;
	w.natts = natts;
	jw_begin(&w, NULL);
	put_timestamp(&w);
	put_event(&w);
	put_who(&w);
	put_db(&w);
	put_audit(&w, block_id);
	jw_end(&w);
}

/*
 * audit._export_document(e audit.event, block_id bigint) RETURNS jsonb:
 * the document of one stored event (audit.export() calls it).
 */
PG_FUNCTION_INFO_V1(audit_export_document);
Datum
audit_export_document(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	HeapTupleData tuple;
	TupleDesc	desc;
	Datum		values[Natts_event];
	bool		isnull[Natts_event];
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
								  HeapTupleHeaderGetTypMod(row));
	if (desc->natts > Natts_event)
		elog(ERROR, "audit.event has %d columns, expected at most %d",
			 desc->natts, Natts_event);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, desc, values, isnull);

	initStringInfo(&buf);
	audit_event_json(&buf, values, isnull, desc->natts,
					 PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1));
	ReleaseTupleDesc(desc);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
