/*-------------------------------------------------------------------------
 *
 * row_end.c
 *	  audit.row_end: the row events after which a row key no longer names
 *	  the row it named, with no later event under that key to say so.
 *
 * A row's events are found by row_key (event_row_key_idx).  Two events end
 * a key without carrying it: a TRUNCATE (row_key NULL: every key of the
 * table, or of the partition, ends) and an UPDATE that changes the key (it
 * is recorded under the new key; the old one ends).  audit.row_as_of()
 * must know whether either happened between a row's last event and the
 * moment asked about; without this table, that meant reading every event
 * of the table in between.  Both are rare, so every one of them gets a
 * row here, in the transaction of its event, and ordinary row events pay
 * nothing.
 *
 * The table is derived from the events and not hashed: the 0.6 update
 * script fills it from the trail, a trigger keeps it in step when
 * archiving or erasure removes the key it holds (sql/0.6/10_row_end.sql).
 * Before that update (the library newer than the schema) it is absent and
 * nothing is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "row_end.h"
#include "schema.h"
#include "store.h"

/*
 * Note that event event_id ended old_key of table_name (partition_name,
 * if the row was in a partition of it), or, with old_key NULL, every key
 * of the table (partition) it truncated.
 */
void
audit_row_end_note(int64 event_id, const char *table_name,
				   const char *partition_name, Jsonb *old_key,
				   TimestampTz occurred_at)
{
	Datum		values[Natts_row_end];
	bool		isnull[Natts_row_end];
	Relation	rel;

	if (!audit_store_has(AUDIT_REL_ROW_END))
		return;
	memset(isnull, true, sizeof(isnull));
	audit_set(values, isnull, Anum_row_end_event_id, Int64GetDatum(event_id));
	audit_set(values, isnull, Anum_row_end_object_name,
			  CStringGetTextDatum(table_name));
	if (partition_name != NULL)
		audit_set(values, isnull, Anum_row_end_partition,
				  CStringGetTextDatum(partition_name));
	if (old_key != NULL)
		audit_set(values, isnull, Anum_row_end_row_key, JsonbPGetDatum(old_key));
	audit_set(values, isnull, Anum_row_end_occurred_at,
			  TimestampTzGetDatum(occurred_at));

	rel = audit_store_open(AUDIT_REL_ROW_END, RowExclusiveLock);
	audit_store_insert(rel, values, isnull);
	table_close(rel, NoLock);	/* held to the end of the transaction */
}
