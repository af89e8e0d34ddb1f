/*-------------------------------------------------------------------------
 *
 * row_end.h
 *	  audit.row_end: where row keys stopped naming rows (row_end.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ROW_END_H
#define AUDIT_ROW_END_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

extern void audit_row_end_note(int64 event_id, const char *table_name,
							   const char *partition_name, Jsonb *old_key,
							   TimestampTz occurred_at);

#endif							/* AUDIT_ROW_END_H */
