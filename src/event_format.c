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

/* Does format version "version" hash column i (0-based)? */
static inline bool
event_column_hashed(int i, int version)
{
	int			since = audit_event_columns[i].hashed_since;

	return since > 0 && since <= version;
}

/* tag, length, bytes: room made once, the header written in place. */
static void
put_field(StringInfo buf, uint8 tag, const void *data, uint32 len)
{
	uint32		be_len = pg_hton32(len);
	char	   *p;

	enlargeStringInfo(buf, 1 + sizeof(be_len) + len);
	p = buf->data + buf->len;
	p[0] = (char) tag;
	memcpy(p + 1, &be_len, sizeof(be_len));
	memcpy(p + 1 + sizeof(be_len), data, len);
	buf->len += 1 + sizeof(be_len) + len;
	buf->data[buf->len] = '\0';
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
		appendStringInfoCharMacro(buf, FIELD_NULL);	/* most fields of an event */
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
 * A jsonb string as escape_json() prints it.  Most strings need no escape:
 * they are copied whole; any other goes through escape_json() itself.
 */
static void
json_string_text(StringInfo out, const char *s, int len)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < ' ' || c == '"' || c == '\\')
		{
			escape_json(out, pnstrdup(s, len));
			return;
		}
	}
	enlargeStringInfo(out, len + 2);
	out->data[out->len++] = '"';
	memcpy(out->data + out->len, s, len);
	out->len += len;
	out->data[out->len++] = '"';
	out->data[out->len] = '\0';
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
			json_string_text(out, v->val.string.val, v->val.string.len);
			break;
		case jbvBinary:
			(void) JsonbToCString(out, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "audit_ext: unexpected jsonb value type %d", (int) v->type);
	}
}

/*
 * The salt of one member of a row image (docs/FORMAT.md, "Row images"):
 * the first 16 bytes of SHA-256(0x04 || row_salt || side || key).
 * scratch is any buffer, reset and reused.
 */
void
audit_row_member_salt(const uint8 *row_salt, char side, const char *key,
					  int keylen, StringInfo scratch,
					  uint8 out[AUDIT_MEMBER_SALT_LEN])
{
	uint8		h[AUDIT_HASH_LEN];

	resetStringInfo(scratch);
	appendBinaryStringInfo(scratch, (const char *) row_salt, AUDIT_ROW_SALT_LEN);
	appendStringInfoCharMacro(scratch, side);
	appendBinaryStringInfo(scratch, key, keylen);
	audit_hash_prefixed(COMMIT_PREFIX_SALT, scratch->data, scratch->len, h);
	memcpy(out, h, AUDIT_MEMBER_SALT_LEN);
}

/*
 * The commitment to one member's value: SHA-256(0x03 || salt || value
 * text), the value text being its canonical jsonb text.
 */
void
audit_row_member_commitment(const uint8 salt[AUDIT_MEMBER_SALT_LEN],
							JsonbValue *value, StringInfo scratch,
							uint8 out[AUDIT_HASH_LEN])
{
	resetStringInfo(scratch);
	appendBinaryStringInfo(scratch, (const char *) salt, AUDIT_MEMBER_SALT_LEN);
	audit_jsonb_value_text(scratch, value);
	audit_hash_prefixed(COMMIT_PREFIX_VALUE, scratch->data, scratch->len, out);
}

/*
 * What audit.redact() left of one row image (docs/FORMAT.md, "Erasure"):
 * the members it erased, key -> commitment, and the salts of the members
 * that stay, key -> salt, both in hex; NULL where there are none.
 */
typedef struct ImageErasure
{
	JsonbContainer *erased;		/* erasure.erased.<side> */
	JsonbContainer *salts;		/* erasure.salts.<side> */
} ImageErasure;

/* erasure.<part>.<side> into *out: false unless absent or an object. */
static bool
erasure_part(JsonbContainer *erasure, const char *part, char side,
			 JsonbContainer **out)
{
	JsonbValue *v = getKeyJsonValueFromContainer(erasure, part, strlen(part), NULL);

	*out = NULL;
	if (v == NULL)
		return true;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return false;
	v = getKeyJsonValueFromContainer(v->val.binary.data, &side, 1, NULL);
	if (v == NULL)
		return true;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return false;
	*out = v->val.binary.data;
	return true;
}

static bool
image_erasure(Jsonb *erasure, char side, ImageErasure *out)
{
	memset(out, 0, sizeof(*out));
	if (erasure == NULL)
		return true;
	if (!JB_ROOT_IS_OBJECT(erasure))
		return false;
	return erasure_part(&erasure->root, "erased", side, &out->erased) &&
		erasure_part(&erasure->root, "salts", side, &out->salts);
}

/*
 * A jsonb string of exactly len bytes in hex (2 * len hex digits, either
 * case, nothing else) into out; false if it is not one.
 */
static bool
hex_value(const JsonbValue *v, uint8 *out, int len)
{
	if (v == NULL || v->type != jbvString || v->val.string.len != len * 2)
		return false;
	for (int i = 0; i < len * 2; i++)
		if (!isxdigit((unsigned char) v->val.string.val[i]))
			return false;
	hex_decode(v->val.string.val, len * 2, (char *) out);
	return true;
}

/* One object's members in key order; done when there are no more. */
typedef struct MemberIter
{
	JsonbIterator *it;
	bool		done;
	JsonbValue	key;
	JsonbValue	value;
} MemberIter;

static void
member_next(MemberIter *m)
{
	JsonbIteratorToken tok;

	while (m->it != NULL &&
		   (tok = JsonbIteratorNext(&m->it, &m->key, true)) != WJB_DONE)
		if (tok == WJB_KEY)
		{
			tok = JsonbIteratorNext(&m->it, &m->value, true);
			Assert(tok == WJB_VALUE);
			return;
		}
	m->done = true;
}

static void
member_begin(MemberIter *m, JsonbContainer *obj)
{
	memset(m, 0, sizeof(*m));
	m->it = obj ? JsonbIteratorInit(obj) : NULL;
	member_next(m);
}

/* jsonb's key order: shorter keys first, then bytewise. */
static int
key_cmp(const JsonbValue *a, const JsonbValue *b)
{
	if (a->val.string.len != b->val.string.len)
		return a->val.string.len < b->val.string.len ? -1 : 1;
	return memcmp(a->val.string.val, b->val.string.val, a->val.string.len);
}

/*
 * The commitment of a member still present: salted from row_salt if the
 * event has one, else from the salt erasure kept for it.  out NULL: only
 * check that it has a salt.
 */
static bool
present_commitment(const MemberIter *m, const uint8 *row_salt,
				   const ImageErasure *ie, char side, StringInfo scratch,
				   uint8 *out)
{
	uint8		salt[AUDIT_MEMBER_SALT_LEN];

	if (row_salt != NULL)
	{
		if (out == NULL)
			return true;
		audit_row_member_salt(row_salt, side, m->key.val.string.val,
							  m->key.val.string.len, scratch, salt);
	}
	else if (ie->salts == NULL ||
			 !hex_value(getKeyJsonValueFromContainer(ie->salts, m->key.val.string.val,
													 m->key.val.string.len, NULL),
						salt, AUDIT_MEMBER_SALT_LEN))
		return false;
	if (out != NULL)
		audit_row_member_commitment(salt, (JsonbValue *) &m->value, scratch, out);
	return true;
}

static void
put_member(StringInfo body, const JsonbValue *key, const uint8 *commitment)
{
	uint32		be = pg_hton32((uint32) key->val.string.len);

	appendBinaryStringInfo(body, (const char *) &be, sizeof(be));
	appendBinaryStringInfo(body, key->val.string.val, key->val.string.len);
	appendBinaryStringInfo(body, (const char *) commitment, AUDIT_HASH_LEN);
}

/*
 * The members of a row image into body, in key order: those present,
 * committed to from their values, and those audit.redact() erased, by
 * the commitments it kept; *count gets how many.  False when it cannot
 * be encoded: a present member without a salt, an erased one without a
 * 32-byte commitment, a key both present and erased.  body NULL: only
 * check that it can be, without hashing.
 */
static bool
put_members(StringInfo body, JsonbContainer *image, const uint8 *row_salt,
			const ImageErasure *ie, char side, uint32 *count)
{
	MemberIter	present;
	MemberIter	erased;
	StringInfoData scratch;

	initStringInfo(&scratch);
	member_begin(&present, image);
	member_begin(&erased, ie->erased);
	for (*count = 0; !present.done || !erased.done; (*count)++)
	{
		int			cmp = present.done ? 1 : erased.done ? -1 :
			key_cmp(&present.key, &erased.key);
		MemberIter *m = cmp < 0 ? &present : &erased;
		uint8		commitment[AUDIT_HASH_LEN];

		if (cmp == 0 ||
			(m == &present ?
			 !present_commitment(m, row_salt, ie, side, &scratch,
								 body ? commitment : NULL) :
			 !hex_value(&m->value, commitment, AUDIT_HASH_LEN)))
			break;
		if (body != NULL)
			put_member(body, &m->key, commitment);
		member_next(m);
	}
	pfree(scratch.data);
	return present.done && erased.done;
}

/*
 * Append a row image (tag 0x06) to buf: its member count, then each key
 * and the commitment to its value, in key order (put_members).  side is
 * 'k', 'o' or 'n'; erasure is the event's erasure record, or NULL.  False,
 * with nothing appended, when it cannot be encoded: not an object, no salt
 * for a member, a malformed erasure record.  buf NULL: only check.
 */
bool
audit_row_image_put(StringInfo buf, Jsonb *image, const uint8 *row_salt,
					Jsonb *erasure, char side)
{
	ImageErasure ie;
	StringInfoData body;
	uint32		count;
	uint32		be;
	bool		ok;

	if (!JB_ROOT_IS_OBJECT(image) || !image_erasure(erasure, side, &ie))
		return false;
	if (buf == NULL)			/* a check: members need a look only if erased */
		return (row_salt != NULL && erasure == NULL) ||
			put_members(NULL, &image->root, row_salt, &ie, side, &count);
	initStringInfo(&body);
	ok = put_members(&body, &image->root, row_salt, &ie, side, &count);
	if (ok)
	{
		appendStringInfoChar(buf, (char) FIELD_ROW_IMAGE);
		be = pg_hton32((uint32) (body.len + sizeof(uint32)));
		appendBinaryStringInfo(buf, (const char *) &be, sizeof(be));
		be = pg_hton32(count);
		appendBinaryStringInfo(buf, (const char *) &be, sizeof(be));
		appendBinaryStringInfo(buf, body.data, body.len);
	}
	pfree(body.data);
	return ok;
}

/* The event's row salt, or NULL if it has none of the right length. */
const uint8 *
audit_event_row_salt(const Datum *values, const bool *isnull, int natts)
{
	bytea	   *salt;

	if (natts < Anum_event_row_salt || isnull[Anum_event_row_salt - 1])
		return NULL;
	salt = DatumGetByteaPP(values[Anum_event_row_salt - 1]);
	if (VARSIZE_ANY_EXHDR(salt) != AUDIT_ROW_SALT_LEN)
		return NULL;
	return (const uint8 *) VARDATA_ANY(salt);
}

/* The event's erasure record (audit.redact()), or NULL if it has none. */
Jsonb *
audit_event_erasure(const Datum *values, const bool *isnull, int natts)
{
	if (natts < Anum_event_erasure || isnull[Anum_event_erasure - 1])
		return NULL;
	return DatumGetJsonbP(values[Anum_event_erasure - 1]);
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
	const uint8 *row_salt = audit_event_row_salt(values, isnull, natts);
	Jsonb	   *erasure = audit_event_erasure(values, isnull, natts);

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
		{
			if (!audit_row_image_put(buf, DatumGetJsonbP(values[i]), row_salt,
									 erasure, AUDIT_ROW_IMAGE_SIDE(i + 1)))
				elog(ERROR, "audit_ext: cannot encode a row image: not an object, no salt, or a malformed erasure");
		}
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
