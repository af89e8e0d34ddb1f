/*-------------------------------------------------------------------------
 *
 * row_image.c
 *	  Building the jsonb images of a captured row, in C, from the tuple
 *	  slot the trigger gets: no SPI, no text round trip, and only the
 *	  columns the table's options let through (row_meta.c).
 *
 * A masked column shows "sha256:" and the hex SHA-256 of 0x05, the table's
 * secret mask salt and the value's canonical jsonb text: equal values mask
 * equally within a table, so a change shows, and the value does not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/datum.h"

#include "event_format.h"
#include "hash.h"
#include "row_image.h"

#define MASK_HASH_PREFIX	0x05

/* The masked form of value: "sha256:<hex>". */
static void
mask_value(const RowMeta *meta, JsonbValue *value)
{
	StringInfoData buf;
	uint8		digest[AUDIT_HASH_LEN];
	char	   *s;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) meta->mask_salt, AUDIT_HASH_LEN);
	audit_jsonb_value_text(&buf, value);
	audit_hash_prefixed(MASK_HASH_PREFIX, buf.data, buf.len, digest);
	pfree(buf.data);

	s = palloc(7 + 2 * AUDIT_HASH_LEN + 1);
	memcpy(s, "sha256:", 7);
	hex_encode((const char *) digest, AUDIT_HASH_LEN, s + 7);
	s[7 + 2 * AUDIT_HASH_LEN] = '\0';
	value->type = jbvString;
	value->val.string.val = s;
	value->val.string.len = 7 + 2 * AUDIT_HASH_LEN;
}

/* The jsonb value of column ra of the slot's row, masked if need be. */
static void
column_value(const RowMeta *meta, const RowAttr *ra, TupleTableSlot *slot,
			 JsonbValue *out)
{
	int			i = ra->attnum - 1;

	if (slot->tts_isnull[i])
	{
		out->type = jbvNull;
		return;
	}
	audit_row_value_convert(&ra->conv, slot->tts_values[i], out);
	if (ra->masked)
		mask_value(meta, out);
}

static bool
part_shows(const RowAttr *ra, int i, RowImagePart part, const bool *changed)
{
	switch (part)
	{
		case ROW_IMAGE_KEY:
			return ra->in_key;
		case ROW_IMAGE_CHANGED:
			return changed[i];
		default:
			return true;
	}
}

/*
 * The jsonb object of the slot's row: the columns "part" selects (for
 * ROW_IMAGE_CHANGED, those flagged in changed[], indexed like
 * meta->attrs).  NULL for a row key of a table that has none.  Columns
 * converted through to_jsonb() need the settings pinned by the caller
 * (meta->needs_pinning).
 */
Jsonb *
audit_row_image(const RowMeta *meta, TupleTableSlot *slot, RowImagePart part,
				const bool *changed)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	if (part == ROW_IMAGE_KEY && !meta->has_key)
		return NULL;
	slot_getallattrs(slot);
	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < meta->nattrs; i++)
	{
		const RowAttr *ra = &meta->attrs[i];
		JsonbValue	key;
		JsonbValue	value;

		if (!part_shows(ra, i, part, changed))
			continue;
		key.type = jbvString;
		key.val.string.val = ra->name;
		key.val.string.len = strlen(ra->name);
		column_value(meta, ra, slot, &value);
		(void) pushJsonbValue(&state, WJB_KEY, &key);
		(void) pushJsonbValue(&state, WJB_VALUE, &value);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * Are two stored values the same?  An UPDATE that leaves a TOASTed value
 * alone keeps its TOAST pointer: equal pointers, equal values, without
 * reading megabytes twice.
 */
static bool
values_equal(const RowAttr *ra, Datum a, Datum b)
{
	if (ra->typlen == -1 &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(a)) &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(b)) &&
		memcmp(DatumGetPointer(a), DatumGetPointer(b),
			   VARSIZE_EXTERNAL(DatumGetPointer(a))) == 0)
		return true;
	return datum_image_eq(a, b, ra->byval, ra->typlen);
}

/*
 * Which shown columns an UPDATE changed: flags in changed[] (indexed like
 * meta->attrs), and their names as a jsonb array.  Values are compared as
 * stored (after detoasting), so an UPDATE that sets a column to the value
 * it had changes nothing.
 */
Jsonb *
audit_row_changes(const RowMeta *meta, TupleTableSlot *old_slot,
				  TupleTableSlot *new_slot, bool *changed)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	slot_getallattrs(old_slot);
	slot_getallattrs(new_slot);
	(void) pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < meta->nattrs; i++)
	{
		const RowAttr *ra = &meta->attrs[i];
		int			a = ra->attnum - 1;
		bool		old_null = old_slot->tts_isnull[a];
		bool		new_null = new_slot->tts_isnull[a];
		JsonbValue	name;

		if (old_null && new_null)
			changed[i] = false;
		else if (old_null != new_null)
			changed[i] = true;
		else
			changed[i] = !values_equal(ra, old_slot->tts_values[a],
									   new_slot->tts_values[a]);
		if (!changed[i])
			continue;
		name.type = jbvString;
		name.val.string.val = ra->name;
		name.val.string.len = strlen(ra->name);
		(void) pushJsonbValue(&state, WJB_ELEM, &name);
	}
	result = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(result);
}
