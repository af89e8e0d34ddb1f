/*-------------------------------------------------------------------------
 *
 * event_format.c
 *	  Canonical binary encoding of an audit event, and its leaf hash.
 *
 * The encoding never goes through a text form that depends on settings
 * (TimeZone, DateStyle, extra_float_digits, bytea_output): integers and
 * timestamps are big-endian binary, text is the bytes as stored, inet is its
 * canonical output form, which depends on no setting.  docs/FORMAT.md is the
 * specification; keep the two in step.
 *
 *	entry	:= version:u8  field_count:u8  field*
 *	field	:= 0x00								(NULL)
 *			 | tag:u8  length:u32  bytes[length]
 *
 * The same function encodes a row being written and a row being verified,
 * from the same Datum array, so the two can never disagree on layout.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "event_format.h"
#include "hash.h"
#include "schema.h"

/* Field tags of the encoding. */
#define FIELD_NULL			0x00
#define FIELD_INTEGER		0x01	/* 8 bytes, big-endian two's complement */
#define FIELD_TEXT			0x02	/* the bytes, in the database encoding */
#define FIELD_TIMESTAMP		0x03	/* 8 bytes, microseconds since 2000-01-01 UTC */
#define FIELD_INET			0x04	/* canonical text form, as inet_out */
#define FIELD_JSON			0x05	/* canonical text form, as jsonb_out */
#define FIELD_ROW_IMAGE		0x06	/* jsonb object, as per-key commitments */

/* Domain separation of a value's commitment and of its salt. */
#define COMMIT_PREFIX_VALUE	0x03
#define COMMIT_PREFIX_SALT	0x04
#define COMMIT_SALT_LEN		16

/* Does format version "version" hash column i (0-based)? */
static inline bool
event_column_hashed(int i, int version)
{
	int			since = audit_event_columns[i].hashed_since;

	return since > 0 && since <= version;
}

static void
put_field(StringInfo buf, uint8 tag, const void *data, uint32 len)
{
	uint32		be_len = pg_hton32(len);

	appendStringInfoChar(buf, (char) tag);
	appendBinaryStringInfo(buf, (const char *) &be_len, sizeof(be_len));
	appendBinaryStringInfo(buf, (const char *) data, len);
}

static void
put_int64(StringInfo buf, uint8 tag, uint64 value)
{
	uint64		be = pg_hton64(value);

	put_field(buf, tag, &be, sizeof(be));
}

/*
 * Append one column value, by its type.  Only the types that appear in
 * audit_event_columns[] are handled; anything else is a programming error.
 */
static void
put_datum(StringInfo buf, Oid type, Datum value, bool isnull)
{
	if (isnull)
	{
		appendStringInfoChar(buf, FIELD_NULL);
		return;
	}

	switch (type)
	{
		case INT8OID:
			put_int64(buf, FIELD_INTEGER, (uint64) DatumGetInt64(value));
			break;
		case INT4OID:
			put_int64(buf, FIELD_INTEGER, (uint64) (int64) DatumGetInt32(value));
			break;
		case XID8OID:
			put_int64(buf, FIELD_INTEGER,
					  U64FromFullTransactionId(DatumGetFullTransactionId(value)));
			break;
		case TIMESTAMPTZOID:
			put_int64(buf, FIELD_TIMESTAMP, (uint64) DatumGetTimestampTz(value));
			break;
		case TEXTOID:
			{
				text	   *t = DatumGetTextPP(value);

				put_field(buf, FIELD_TEXT, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case INETOID:
			{
				char	   *s = DatumGetCString(DirectFunctionCall1(inet_out, value));

				put_field(buf, FIELD_INET, s, strlen(s));
				break;
			}
		case JSONBOID:
			{
				char	   *s = DatumGetCString(DirectFunctionCall1(jsonb_out, value));

				put_field(buf, FIELD_JSON, s, strlen(s));
				break;
			}
		default:
			elog(ERROR, "audit_ext: no encoding for type %u", type);
	}
}

/*
 * The canonical text of one jsonb value: what follows "key": in the
 * canonical text of the object holding it.  (Row images hash it; masking
 * hashes it too, row_image.c.)
 */
void
audit_jsonb_value_text(StringInfo out, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(out, "null");
			break;
		case jbvBool:
			appendStringInfoString(out, v->val.boolean ? "true" : "false");
			break;
		case jbvNumeric:
			appendStringInfoString(out,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvString:
			escape_json(out, pnstrdup(v->val.string.val, v->val.string.len));
			break;
		case jbvBinary:
			(void) JsonbToCString(out, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "audit_ext: unexpected jsonb value type %d", (int) v->type);
	}
}

/*
 * The commitment to one member of a row image (docs/FORMAT.md, "Row
 * images"): SHA-256(0x03 || salt || value text), the salt being the first
 * 16 bytes of SHA-256(0x04 || row_salt || side || key).
 */
static void
member_commitment(const uint8 *row_salt, char side, const char *key,
				  int keylen, JsonbValue *value, StringInfo scratch,
				  uint8 out[AUDIT_HASH_LEN])
{
	uint8		salt[AUDIT_HASH_LEN];

	resetStringInfo(scratch);
	appendBinaryStringInfo(scratch, (const char *) row_salt, AUDIT_ROW_SALT_LEN);
	appendStringInfoChar(scratch, side);
	appendBinaryStringInfo(scratch, key, keylen);
	audit_hash_prefixed(COMMIT_PREFIX_SALT, scratch->data, scratch->len, salt);

	resetStringInfo(scratch);
	appendBinaryStringInfo(scratch, (const char *) salt, COMMIT_SALT_LEN);
	audit_jsonb_value_text(scratch, value);
	audit_hash_prefixed(COMMIT_PREFIX_VALUE, scratch->data, scratch->len, out);
}

/*
 * Append a row image (tag 0x06): its member count, then each key and the
 * commitment to its value, in the object's key order.  side is 'k', 'o' or
 * 'n'.  Anything but an object, or a missing salt, cannot be encoded.
 */
static void
put_row_image(StringInfo buf, Datum image, const uint8 *row_salt, char side)
{
	Jsonb	   *jb = DatumGetJsonbP(image);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData body;
	StringInfoData scratch;
	uint32		count = 0;
	uint32		be;

	if (!JB_ROOT_IS_OBJECT(jb) || row_salt == NULL)
		elog(ERROR, "audit_ext: cannot encode a row image that is not an object or has no salt");

	initStringInfo(&body);
	initStringInfo(&scratch);
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			keylen;
		uint8		commitment[AUDIT_HASH_LEN];

		if (tok != WJB_KEY)
			continue;
		key = v.val.string.val;
		keylen = v.val.string.len;
		be = pg_hton32((uint32) keylen);
		appendBinaryStringInfo(&body, (const char *) &be, sizeof(be));
		appendBinaryStringInfo(&body, key, keylen);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		member_commitment(row_salt, side, key, keylen, &v, &scratch, commitment);
		appendBinaryStringInfo(&body, (const char *) commitment, AUDIT_HASH_LEN);
		count++;
	}

	appendStringInfoChar(buf, (char) FIELD_ROW_IMAGE);
	be = pg_hton32((uint32) (body.len + sizeof(uint32)));
	appendBinaryStringInfo(buf, (const char *) &be, sizeof(be));
	be = pg_hton32(count);
	appendBinaryStringInfo(buf, (const char *) &be, sizeof(be));
	appendBinaryStringInfo(buf, body.data, body.len);
	pfree(body.data);
	pfree(scratch.data);
}

/* The event's row salt, or NULL if it has none of the right length. */
static const uint8 *
event_row_salt(const Datum *values, const bool *isnull, int natts)
{
	bytea	   *salt;

	if (natts < Anum_event_row_salt || isnull[Anum_event_row_salt - 1])
		return NULL;
	salt = DatumGetByteaPP(values[Anum_event_row_salt - 1]);
	if (VARSIZE_ANY_EXHDR(salt) != AUDIT_ROW_SALT_LEN)
		return NULL;
	return (const uint8 *) VARDATA_ANY(salt);
}

/*
 * The format version of an event row of natts columns, or 0 if it is
 * missing, not one this library can encode, or one whose columns the row
 * does not have (a table still in the layout of an older version).
 */
int
audit_event_format(const Datum *values, const bool *isnull, int natts)
{
	int			version;

	if (isnull[Anum_event_format_version - 1])
		return 0;
	version = DatumGetInt16(values[Anum_event_format_version - 1]);
	if (version < 1 || version > AUDIT_FORMAT_VERSION)
		return 0;
	for (int i = natts; i < Natts_event; i++)
		if (event_column_hashed(i, version))
			return 0;
	return version;
}

/*
 * Do the columns that the row's format version does not hash (the later
 * versions' columns, in a row written by an earlier one) hold values?  No
 * hash covers them, so content there is content nobody recorded.
 */
bool
audit_event_has_unhashed(const Datum *values, const bool *isnull, int natts)
{
	int			version = audit_event_format(values, isnull, natts);

	for (int i = 0; i < natts && i < Natts_event; i++)
		if (audit_event_columns[i].hashed_since > version && !isnull[i])
			return true;
	return false;
}

/*
 * Append the canonical encoding of an event row (values/isnull indexed by
 * attribute number - 1; natts of them) to buf, in the row's own format version: the
 * columns that version hashes, in column order.
 */
void
audit_event_encode(StringInfo buf, const Datum *values, const bool *isnull,
				   int natts)
{
	int			version = audit_event_format(values, isnull, natts);
	int			nfields = 0;
	const uint8 *row_salt = event_row_salt(values, isnull, natts);

	if (version == 0)
		elog(ERROR, "audit_ext: cannot encode an event of unknown format version");
	for (int i = 0; i < Natts_event; i++)
		if (event_column_hashed(i, version))
			nfields++;

	appendStringInfoChar(buf, (char) version);
	appendStringInfoChar(buf, (char) nfields);
	for (int i = 0; i < Natts_event; i++)
	{
		if (!event_column_hashed(i, version))
			continue;
		if (AUDIT_EVENT_IS_ROW_IMAGE(i + 1) && !isnull[i])
			put_row_image(buf, values[i], row_salt,
						  i + 1 == Anum_event_row_key ? 'k' :
						  i + 1 == Anum_event_old_row ? 'o' : 'n');
		else
			put_datum(buf, audit_event_columns[i].type, values[i], isnull[i]);
	}
}

/*
 * The leaf hash of an event row: SHA-256(0x00 || encoding).
 */
void
audit_event_leaf_hash(const Datum *values, const bool *isnull, int natts,
					  uint8 out[AUDIT_HASH_LEN])
{
	StringInfoData buf;

	initStringInfo(&buf);
	audit_event_encode(&buf, values, isnull, natts);
	audit_hash_leaf(buf.data, buf.len, out);
	pfree(buf.data);
}
