/*-------------------------------------------------------------------------
 *
 * row_value.c
 *	  Column values of captured rows as jsonb values.
 *
 * The result is what to_jsonb() gives, with two differences that make it
 * independent of the session: a timestamptz is written in UTC (to_jsonb()
 * uses the session's TimeZone), and floats and bytea do not depend on
 * extra_float_digits or bytea_output (shortest exact float text; bytea in
 * hex).  NaN and infinities, which JSON numbers cannot hold, are strings,
 * as to_jsonb() makes them.  The common types are converted here directly
 * (no catalog lookups per value); types whose text form depends on no
 * setting (uuid, inet, enums, ...) are their output function's string, as
 * to_jsonb() makes them; arrays, composites, ranges, intervals and the rest
 * go through to_jsonb() itself, with the settings their text forms depend
 * on pinned for the row (audit_row_value_pin_settings).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "row_value.h"

static RowValueKind
kind_of(Oid type)
{
	switch (type)
	{
		case INT2OID:
			return ROW_VALUE_INT2;
		case INT4OID:
			return ROW_VALUE_INT4;
		case INT8OID:
			return ROW_VALUE_INT8;
		case FLOAT4OID:
			return ROW_VALUE_FLOAT4;
		case FLOAT8OID:
			return ROW_VALUE_FLOAT8;
		case NUMERICOID:
			return ROW_VALUE_NUMERIC;
		case BOOLOID:
			return ROW_VALUE_BOOL;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return ROW_VALUE_TEXT;
		case NAMEOID:
			return ROW_VALUE_NAME;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return ROW_VALUE_DATETIME;
		case JSONBOID:
			return ROW_VALUE_JSONB;
		case JSONOID:
			return ROW_VALUE_JSON;
		case BYTEAOID:
			return ROW_VALUE_BYTEA;
		case UUIDOID:
		case INETOID:
		case CIDROID:
		case MACADDROID:
		case MACADDR8OID:
		case BITOID:
		case VARBITOID:
		case OIDOID:
		case CHAROID:
			return ROW_VALUE_OUTPUT;
		default:
			return type_is_enum(type) ? ROW_VALUE_OUTPUT : ROW_VALUE_OTHER;
	}
}

/*
 * The settings text forms depend on, at fixed values, until
 * audit_row_value_unpin_settings(): what to_jsonb() makes of an array of
 * timestamptz, float8 or bytea, of an interval or a range, is then the
 * same whichever session wrote the row.  An error in between is undone
 * with its (sub)transaction, as for a function's SET clause.
 */
int
audit_row_value_pin_settings(void)
{
	static const char *const pinned[][2] = {
		{"TimeZone", "UTC"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"extra_float_digits", "1"},
		{"bytea_output", "hex"},
		{"lc_monetary", "C"},
		{"search_path", "pg_catalog"},	/* regclass & co. print qualified */
	};
	int			level = NewGUCNestLevel();

	for (int i = 0; i < (int) lengthof(pinned); i++)
		(void) set_config_option(pinned[i][0], pinned[i][1], PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
audit_row_value_unpin_settings(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}

/*
 * Set up the conversion of a column of this type; the to_jsonb() call
 * (arrays, composites, ...) is prepared in cxt, with an expression that
 * tells it the argument's type.
 */
void
audit_row_value_prepare(RowValueConv *conv, Oid type, int32 typmod,
						MemoryContext cxt)
{
	MemoryContext old;

	conv->base_type = getBaseType(type);
	conv->kind = kind_of(conv->base_type);
	if (conv->kind == ROW_VALUE_OUTPUT)
	{
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(conv->base_type, &output, &varlena);
		fmgr_info_cxt(output, &conv->fn, cxt);
	}
	if (conv->kind != ROW_VALUE_OTHER)
		return;

	old = MemoryContextSwitchTo(cxt);
	fmgr_info_cxt(F_TO_JSONB, &conv->fn, cxt);
	conv->fn.fn_expr = (Node *)
		makeFuncExpr(F_TO_JSONB, JSONBOID,
					 list_make1(makeNullConst(type, typmod, InvalidOid)),
					 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	MemoryContextSwitchTo(old);
}

static void
set_string(JsonbValue *out, char *s, int len)
{
	out->type = jbvString;
	out->val.string.val = s;
	out->val.string.len = len;
}

static void
set_numeric(JsonbValue *out, Numeric n)
{
	out->type = jbvNumeric;
	out->val.numeric = n;
}

/* A float: its shortest exact decimal text as a number; NaN, infinities as strings. */
static void
set_float(JsonbValue *out, double d, bool is_float4)
{
	char		buf[32];

	if (isnan(d))
		set_string(out, pstrdup("NaN"), 3);
	else if (isinf(d))
		set_string(out, pstrdup(d > 0 ? "Infinity" : "-Infinity"), d > 0 ? 8 : 9);
	else
	{
		if (is_float4)
			float_to_shortest_decimal_buf((float) d, buf);
		else
			double_to_shortest_decimal_buf(d, buf);
		set_numeric(out, DatumGetNumeric(DirectFunctionCall3(numeric_in,
															 CStringGetDatum(buf),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1))));
	}
}

/* A jsonb value embedded as it is (a scalar as the scalar itself). */
static void
set_jsonb(JsonbValue *out, Jsonb *jb)
{
	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, out))
			elog(ERROR, "audit_ext: invalid scalar jsonb");
		return;
	}
	out->type = jbvBinary;
	out->val.binary.data = &jb->root;
	out->val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

static void
set_numeric_value(JsonbValue *out, Numeric n)
{
	char	   *s;

	if (!numeric_is_nan(n) && !numeric_is_inf(n))
	{
		set_numeric(out, n);
		return;
	}
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	set_string(out, s, strlen(s));
}

static void
set_bytea(JsonbValue *out, bytea *b)
{
	size_t		len = VARSIZE_ANY_EXHDR(b);
	char	   *s = palloc(2 * len + 3);

	s[0] = '\\';
	s[1] = 'x';
	hex_encode(VARDATA_ANY(b), len, s + 2);
	s[2 * len + 2] = '\0';
	set_string(out, s, 2 * len + 2);
}

/*
 * The jsonb value of a non-NULL column value, into out (palloc'd in the
 * current memory context where it needs memory).
 */
void
audit_row_value_convert(const RowValueConv *conv, Datum value, JsonbValue *out)
{
	switch (conv->kind)
	{
		case ROW_VALUE_INT2:
			set_numeric(out, int64_to_numeric(DatumGetInt16(value)));
			break;
		case ROW_VALUE_INT4:
			set_numeric(out, int64_to_numeric(DatumGetInt32(value)));
			break;
		case ROW_VALUE_INT8:
			set_numeric(out, int64_to_numeric(DatumGetInt64(value)));
			break;
		case ROW_VALUE_FLOAT4:
			set_float(out, DatumGetFloat4(value), true);
			break;
		case ROW_VALUE_FLOAT8:
			set_float(out, DatumGetFloat8(value), false);
			break;
		case ROW_VALUE_NUMERIC:
			set_numeric_value(out, DatumGetNumeric(value));
			break;
		case ROW_VALUE_BOOL:
			out->type = jbvBool;
			out->val.boolean = DatumGetBool(value);
			break;
		case ROW_VALUE_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				set_string(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case ROW_VALUE_NAME:
			{
				char	   *s = NameStr(*DatumGetName(value));

				set_string(out, s, strlen(s));
				break;
			}
		case ROW_VALUE_DATETIME:
			{
				int			utc = 0;
				char	   *s = JsonEncodeDateTime(NULL, value, conv->base_type, &utc);

				set_string(out, s, strlen(s));
				break;
			}
		case ROW_VALUE_JSONB:
			set_jsonb(out, DatumGetJsonbP(value));
			break;
		case ROW_VALUE_JSON:
			set_jsonb(out, DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															  CStringGetDatum(TextDatumGetCString(value)))));
			break;
		case ROW_VALUE_BYTEA:
			set_bytea(out, DatumGetByteaPP(value));
			break;
		case ROW_VALUE_OUTPUT:
			{
				char	   *s = OutputFunctionCall((FmgrInfo *) &conv->fn, value);

				set_string(out, s, strlen(s));
				break;
			}
		case ROW_VALUE_OTHER:
			set_jsonb(out, DatumGetJsonbP(FunctionCall1((FmgrInfo *) &conv->fn,
														value)));
			break;
	}
}
