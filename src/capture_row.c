/*-------------------------------------------------------------------------
 *
 * capture_row.c
 *	  Row capture: the triggers audit.track() puts on a table, and the SQL
 *	  helpers of the tracking API.
 *
 * audit_ext_row is an AFTER ... FOR EACH ROW trigger: it sees each row as
 * it was written (after BEFORE triggers, generated columns, and the choice
 * ON CONFLICT made), and only rows that were written.  A partitioned
 * table's row trigger is cloned to each partition, present and future, and
 * fires there, so the partition is known.  audit_ext_truncate is a BEFORE
 * TRUNCATE trigger on each table holding rows, so it can count them.  Both
 * are ENABLE ALWAYS.  Each row is converted and recorded in a memory
 * context reset after it: a statement of any size holds no more than one
 * row's images at a time, plus the finished event rows event_buffer.c
 * holds to write together (bounded), and the server's own after-trigger
 * queue keeps a few bytes per row until the statement's end.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "event.h"
#include "row_end.h"
#include "row_image.h"
#include "row_meta.h"

PG_FUNCTION_INFO_V1(audit_capture_row);
PG_FUNCTION_INFO_V1(audit_capture_truncate);

static MemoryContext row_cxt = NULL;
static int	capture_depth = 0;		/* row captures in progress */

static MemoryContext
row_memory(void)
{
	if (row_cxt == NULL)
		row_cxt = AllocSetContextCreate(TopMemoryContext, "audit_ext row capture",
										ALLOCSET_DEFAULT_SIZES);
	return row_cxt;
}

static TriggerData *
trigger_data(FunctionCallInfo fcinfo, const char *fname)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function %s must be fired as a trigger", fname)));
	return (TriggerData *) fcinfo->context;
}

/* {"partition": "<name>"} when the row is in a partition of the tracked table. */
static const char *
partition_detail(const RowMeta *meta)
{
	StringInfoData buf;

	if (meta->partition_name == NULL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"partition\": ");
	escape_json(&buf, meta->partition_name);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * row_key with the previous values old_row holds of its members: the key
 * before an UPDATE, as audit._old_row_key() defines it.
 */
static Jsonb *
old_row_key(Jsonb *row_key, Jsonb *old_row)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it = JsonbIteratorInit(&row_key->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue *old;

		if (tok != WJB_KEY)
			res = pushJsonbValue(&state, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
		else
		{
			/* the member's value: old_row's, if the UPDATE changed it */
			old = getKeyJsonValueFromContainer(&old_row->root, v.val.string.val,
											   v.val.string.len, NULL);
			(void) pushJsonbValue(&state, WJB_KEY, &v);
			(void) JsonbIteratorNext(&it, &v, true);
			res = pushJsonbValue(&state, WJB_VALUE, old != NULL ? old : &v);
		}
	}
	return JsonbValueToJsonb(res);
}

/*
 * The key the row had before an UPDATE, if the UPDATE changed it (as
 * jsonb compares: 1.0 and 1.00 are one key); else NULL.  Built from the
 * images recorded, so it is what the trail says, value for value.
 */
static Jsonb *
ended_key(const RowMeta *meta, const bool *changed, const AuditRowImages *row)
{
	Jsonb	   *old_key;

	for (int i = 0; i < meta->nattrs; i++)
	{
		if (!meta->attrs[i].in_key || !changed[i])
			continue;
		old_key = old_row_key(row->row_key, row->old_row);
		if (compareJsonbContainers(&old_key->root, &row->row_key->root) != 0)
			return old_key;
		break;
	}
	return NULL;
}

static void
record_row(const RowMeta *meta, TriggerData *td)
{
	AuditEvent	event = {0};
	AuditRowImages row = {0};
	TriggerEvent ev = td->tg_event;
	TimestampTz now = GetCurrentTimestamp();
	Jsonb	   *old_key = NULL;
	int64		event_id;

	event.kind = "row";
	event.class_name = "write";
	event.object_name = meta->table_name;
	event.detail = partition_detail(meta);
	event.row = &row;
	if (TRIGGER_FIRED_BY_INSERT(ev))
	{
		event.command = "INSERT";
		row.new_row = audit_row_image(meta, td->tg_trigslot, ROW_IMAGE_ALL, NULL);
		row.row_key = audit_row_image(meta, td->tg_trigslot, ROW_IMAGE_KEY, NULL);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(ev))
	{
		bool	   *changed = palloc(sizeof(bool) * Max(meta->nattrs, 1));

		event.command = "UPDATE";
		row.changed_columns = audit_row_changes(meta, td->tg_trigslot,
												td->tg_newslot, changed);
		row.old_row = audit_row_image(meta, td->tg_trigslot, ROW_IMAGE_CHANGED, changed);
		row.new_row = audit_row_image(meta, td->tg_newslot, ROW_IMAGE_ALL, NULL);
		row.row_key = audit_row_image(meta, td->tg_newslot, ROW_IMAGE_KEY, NULL);
		if (row.row_key != NULL && row.old_row != NULL)
			old_key = ended_key(meta, changed, &row);
	}
	else
	{
		event.command = "DELETE";
		row.old_row = audit_row_image(meta, td->tg_trigslot, ROW_IMAGE_ALL, NULL);
		row.row_key = audit_row_image(meta, td->tg_trigslot, ROW_IMAGE_KEY, NULL);
	}
	event_id = audit_event_record_row(&event, now);
	if (old_key != NULL)
		audit_row_end_note(event_id, meta->table_name, meta->partition_name,
						   old_key, now);
}

/*
 * AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW: one row event.
 */
Datum
audit_capture_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "audit._capture_row()");
	RowMeta    *meta;
	MemoryContext old;

	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("audit._capture_row() must be fired AFTER ... FOR EACH ROW")));
	if (!audit_can_record())
		return PointerGetDatum(NULL);
	meta = audit_row_meta_get(td->tg_relation);
	if (!meta->tracked)
		return PointerGetDatum(NULL);

	/*
	 * Converting a value may run user code (a cast to json) that writes a
	 * tracked table: the capture re-entered must not free this one's
	 * memory, nor its table's metadata.
	 */
	old = MemoryContextSwitchTo(row_memory());
	capture_depth++;
	meta->in_use++;
	PG_TRY();
	{
		/*
		 * A copy: a re-entered capture may rebuild the cache entry (its
		 * old memory stays while in_use, see row_meta.c).
		 */
		RowMeta		snapshot = *meta;

		/* Settings pinned once per row, and only if a column needs it. */
		int			pinned = snapshot.needs_pinning ?
			audit_row_value_pin_settings() : -1;

		record_row(&snapshot, td);
		if (pinned >= 0)
			audit_row_value_unpin_settings(pinned);
	}
	PG_FINALLY();
	{
		meta->in_use--;
		MemoryContextSwitchTo(old);
		if (--capture_depth == 0)
			MemoryContextReset(row_cxt);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}

/* The rows of rel visible to the statement. */
static int64
count_rows(Relation rel)
{
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		n = 0;

	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		n++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return n;
}

/*
 * BEFORE TRUNCATE ... FOR EACH STATEMENT: one event per truncated table
 * holding rows (a partitioned table holds none: each of its partitions
 * is recorded), with the number of rows it had.
 */
Datum
audit_capture_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_data(fcinfo, "audit._capture_truncate()");
	Relation	rel = td->tg_relation;
	RowMeta    *meta;
	AuditEvent	event = {0};
	TimestampTz now = GetCurrentTimestamp();
	int64		event_id;

	if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("audit._capture_truncate() must be fired by TRUNCATE")));
	if (!audit_can_record() || !RELKIND_HAS_STORAGE(rel->rd_rel->relkind))
		return PointerGetDatum(NULL);
	meta = audit_row_meta_get(rel);
	if (!meta->tracked)
		return PointerGetDatum(NULL);

	event.kind = "row";
	event.class_name = "write";
	event.command = "TRUNCATE";
	event.object_name = meta->table_name;
	event.detail = partition_detail(meta);
	event.has_rows = true;
	event.rows_affected = count_rows(rel);
	event_id = audit_event_record_row(&event, now);
	audit_row_end_note(event_id, meta->table_name, meta->partition_name, NULL, now);
	return PointerGetDatum(NULL);
}
