/*-------------------------------------------------------------------------
 *
 * track_sql.c
 *	  C helpers of the tracking API (audit.track() and friends, written in
 *	  SQL): what only C can do, or must do as row capture does it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "event.h"
#include "row_meta.h"
#include "scope.h"

PG_FUNCTION_INFO_V1(audit_tracking_changed);
PG_FUNCTION_INFO_V1(audit_record_config);
PG_FUNCTION_INFO_V1(audit_row_key_columns);
PG_FUNCTION_INFO_V1(audit_random_salt);
PG_FUNCTION_INFO_V1(audit_internal_span);

#define MASK_SALT_LEN	32

/*
 * audit._tracking_changed(rel): every session rereads how rel and its
 * partitions are tracked, from the commit of this transaction on.
 */
Datum
audit_tracking_changed(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	audit_row_meta_invalidate_tree(relid);
	PG_RETURN_VOID();
}

/*
 * audit._record_config(command, object_name, detail): an event of kind
 * "config" for a change of what is captured, with the calling statement.
 */
Datum
audit_record_config(PG_FUNCTION_ARGS)
{
	AuditEvent	event = {0};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("command must not be NULL")));
	event.kind = "config";
	event.class_name = "ddl";
	event.command = text_to_cstring(PG_GETARG_TEXT_PP(0));
	event.object_name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	event.detail = PG_ARGISNULL(2) ? NULL :
		JsonbToCString(NULL, &PG_GETARG_JSONB_P(2)->root, -1);
	event.statement = audit_statement_text(debug_query_string, -1, 0);
	if (audit_can_record())
		audit_event_record(&event);
	PG_RETURN_VOID();
}

/*
 * audit._row_key_columns(rel): the columns of rel's row key as row
 * capture picks them (primary key, else replica identity index), in
 * column order; NULL if it has neither.
 */
Datum
audit_row_key_columns(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = try_relation_open(relid, AccessShareLock);
	List	   *attnums;
	Datum	   *names;
	int			n = 0;
	ListCell   *lc;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	attnums = audit_row_key_attnums(rel);
	relation_close(rel, AccessShareLock);
	if (attnums == NIL)
		PG_RETURN_NULL();

	names = palloc(sizeof(Datum) * list_length(attnums));
	foreach(lc, attnums)
		names[n++] = CStringGetTextDatum(get_attname(relid, lfirst_int(lc), false));
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* audit._random_salt(): a table's secret mask salt. */
Datum
audit_random_salt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(audit_random_bytea(MASK_SALT_LEN));
}

/*
 * audit._internal(enter boolean): the tracking API's own statements
 * (writing audit.tracked_table, creating the triggers) are not events: the
 * config event says what it did.  An error inside the span ends it with
 * its (sub)transaction (scope.c).
 */
Datum
audit_internal_span(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument must not be NULL")));
	if (PG_GETARG_BOOL(0))
		audit_internal_begin();
	else
		audit_internal_end();
	PG_RETURN_BOOL(true);
}
