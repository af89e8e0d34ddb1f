/*-------------------------------------------------------------------------
 *
 * row_value.h
 *	  One column value of a captured row as a jsonb value, the way
 *	  to_jsonb() renders it, without depending on session settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ROW_VALUE_H
#define AUDIT_ROW_VALUE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

typedef enum RowValueKind
{
	ROW_VALUE_INT2,
	ROW_VALUE_INT4,
	ROW_VALUE_INT8,
	ROW_VALUE_FLOAT4,
	ROW_VALUE_FLOAT8,
	ROW_VALUE_NUMERIC,
	ROW_VALUE_BOOL,
	ROW_VALUE_TEXT,				/* text, varchar, bpchar */
	ROW_VALUE_NAME,
	ROW_VALUE_DATETIME,			/* date, timestamp, timestamptz */
	ROW_VALUE_JSONB,
	ROW_VALUE_JSON,
	ROW_VALUE_BYTEA,
	ROW_VALUE_OUTPUT,			/* a string: output function, setting-free */
	ROW_VALUE_OTHER				/* through to_jsonb(), settings pinned */
} RowValueKind;

/* How to convert the values of one column; set up once per column. */
typedef struct RowValueConv
{
	RowValueKind kind;
	Oid			base_type;		/* the type, or a domain's base type */
	FmgrInfo	fn;				/* OUTPUT: output function; OTHER: to_jsonb() */
} RowValueConv;

extern void audit_row_value_prepare(RowValueConv *conv, Oid type,
									int32 typmod, MemoryContext cxt);
extern int	audit_row_value_pin_settings(void);
extern void audit_row_value_unpin_settings(int nest_level);
extern void audit_row_value_convert(const RowValueConv *conv, Datum value,
									JsonbValue *out);

#endif							/* AUDIT_ROW_VALUE_H */
