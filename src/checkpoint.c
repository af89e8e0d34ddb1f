/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  audit.digest(): the checkpoint of the newest block, as jsonb, to keep
 *	  outside the database; and reading saved checkpoints back.
 *
 * A checkpoint names the trail (chain id), its size in blocks and the
 * Merkle root over all block hashes; with a signature it is self-standing
 * evidence.  Verifying the trail against a saved checkpoint shows that the
 * trail still extends it: a truncated tail, or a history rewritten
 * consistently from the start, no longer does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "chain_format.h"
#include "checkpoint.h"
#include "seal.h"
#include "sign.h"

/*
 * JSON writing: append "key":value to an object being built in buf (which
 * starts with '{'), with a comma when needed.
 */
static void
put_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

/* A nested value already written as JSON. */
void
audit_json_put_raw(StringInfo buf, const char *key, const char *json)
{
	put_key(buf, key);
	appendStringInfoString(buf, json);
}

/* Append "key":"<hex>" (no \x). */
void
audit_json_put_hex(StringInfo buf, const char *key, const uint8 *bytes, int len)
{
	char	   *hex = palloc(len * 2 + 1);

	hex_encode((const char *) bytes, len, hex);
	hex[len * 2] = '\0';
	put_key(buf, key);
	appendStringInfo(buf, "\"%s\"", hex);
	pfree(hex);
}

void
audit_json_put_int(StringInfo buf, const char *key, int64 value)
{
	put_key(buf, key);
	appendStringInfo(buf, "%lld", (long long) value);
}

void
audit_json_put_text(StringInfo buf, const char *key, const char *value)
{
	put_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/* ISO 8601 in UTC, whatever the session's TimeZone and DateStyle. */
static char *
utc_text(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("invalid");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * The checkpoint at block block_id (0: the newest) under snap (NULL: as
 * of now) as a JSON object text;
 * NULL when there is no such block.
 */
char *
audit_checkpoint_json(Snapshot snap, int64 block_id)
{
	AuditHead	head;
	StringInfoData buf;
	char		sysid[32];

	if (!audit_read_block_row(snap, block_id, &head))
		return NULL;

	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "format", 1);
	audit_json_put_hex(&buf, "chain_id", head.chain_id, AUDIT_CHAIN_ID_LEN);
	audit_json_put_text(&buf, "system_identifier", sysid);
	audit_json_put_text(&buf, "database", get_database_name(MyDatabaseId));
	audit_json_put_int(&buf, "block_id", head.state.block_id);
	audit_json_put_int(&buf, "tree_size", head.state.block_id);
	audit_json_put_hex(&buf, "root_hash", head.tree_root, AUDIT_HASH_LEN);
	audit_json_put_hex(&buf, "block_hash", head.state.block_hash, AUDIT_HASH_LEN);
	audit_json_put_text(&buf, "sealed_at", utc_text(head.sealed_at));
	if (head.has_signature)
		audit_json_put_hex(&buf, "signature", head.signature, sizeof(head.signature));
	else
		audit_json_put_text(&buf, "signature", NULL);
	audit_json_put_text(&buf, "key_id", head.has_signature ? head.key_id : NULL);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * The checkpoint of the newest block; NULL when nothing is sealed yet.
 */
Jsonb *
audit_checkpoint_current(void)
{
	char	   *json = audit_checkpoint_json(NULL, 0);

	if (json == NULL)
		return NULL;
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/*
 * Field key of a jsonb object, of the given type; a clear error otherwise.
 */
JsonbValue *
audit_json_field(JsonbContainer *obj, const char *key, enum jbvType type,
				 const char *what)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	if (v == NULL || v->type != type)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s: \"%s\" is missing or not %s",
						what, key,
						type == jbvNumeric ? "a number" :
						type == jbvString ? "a string" : "an object or array")));
	return v;
}

int64
audit_json_int64(JsonbContainer *obj, const char *key, const char *what)
{
	JsonbValue *v = audit_json_field(obj, key, jbvNumeric, what);
	Datum		n = NumericGetDatum(v->val.numeric);
	Datum		lo = DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MIN));
	Datum		hi = DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MAX));
	Datum		rounded;

	if (DatumGetBool(DirectFunctionCall2(numeric_lt, n, lo)) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, n, hi)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s: \"%s\" is out of range", what, key)));
	rounded = DirectFunctionCall1(int8_numeric,
								  DirectFunctionCall1(numeric_int8, n));
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, n, rounded)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s: \"%s\" must be a whole number", what, key)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
}

/* A hex string field of exactly len bytes (an optional \x is allowed). */
void
audit_json_hash(JsonbContainer *obj, const char *key, const char *what,
				uint8 *out, int len)
{
	JsonbValue *v = audit_json_field(obj, key, jbvString, what);

	audit_parse_hex(v->val.string.val, v->val.string.len, what, key, out, len);
}

/*
 * Skip an optional \x at *s (not terminated, *slen long); false unless what
 * is left is hex digits, in pairs.
 */
bool
audit_hex_span(const char **s, int *slen)
{
	if (*slen >= 2 && (*s)[0] == '\\' && (*s)[1] == 'x')
	{
		*s += 2;
		*slen -= 2;
	}
	for (int i = 0; i < *slen; i++)
		if (!isxdigit((unsigned char) (*s)[i]))
			return false;
	return *slen % 2 == 0;
}

/* s (not terminated) as exactly len bytes of hex, an optional \x first. */
void
audit_parse_hex(const char *s, int slen, const char *what, const char *key,
				uint8 *out, int len)
{
	if (!audit_hex_span(&s, &slen) || slen != len * 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s: \"%s\" must be %d hexadecimal bytes",
						what, key, len)));
	hex_decode(s, slen, (char *) out);
}

/* Is key in obj, with a value that is not JSON null? */
bool
audit_json_present(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);

	return v != NULL && v->type != jbvNull;
}

/*
 * "signature" and "key_id", as audit.digest() writes them: both null (or
 * left out) for an unsigned block, or an Ed25519 signature of 64
 * hexadecimal bytes with the 16 hexadecimal digits of its key's id.  The
 * signature is not checked against a key here (verification checks the
 * blocks' own signatures); a malformed one is refused, not passed over.
 */
static void
check_signature_fields(JsonbContainer *obj, const char *what)
{
	bool		has_signature = audit_json_present(obj, "signature");
	bool		has_key_id = audit_json_present(obj, "key_id");

	if (has_signature)
	{
		uint8		signature[AUDIT_SIGNATURE_LEN];

		audit_json_hash(obj, "signature", what, signature, AUDIT_SIGNATURE_LEN);
	}
	if (has_key_id)
	{
		JsonbValue *v = audit_json_field(obj, "key_id", jbvString, what);
		bool		ok = v->val.string.len == AUDIT_KEY_ID_LEN;

		for (int i = 0; ok && i < v->val.string.len; i++)
			ok = isxdigit((unsigned char) v->val.string.val[i]);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed %s: \"key_id\" must be %d hexadecimal digits",
							what, AUDIT_KEY_ID_LEN)));
	}
	if (has_signature != has_key_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s: \"%s\" without \"%s\"", what,
						has_signature ? "signature" : "key_id",
						has_signature ? "key_id" : "signature"),
				 errdetail("A signed checkpoint names the key that signed it; an unsigned one has neither.")));
}

/*
 * One saved checkpoint.  "format" and "tree_size", which audit.digest()
 * writes too, are checked when present: a known format, a whole number;
 * so are "signature" and "key_id".
 */
static void
parse_one(JsonbContainer *obj, SavedCheckpoint *c)
{
	const char *what = "checkpoint";

	if (!JsonContainerIsObject(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed checkpoint: an object was expected"),
				 errhint("Pass what audit.digest() returned, or an array of such objects.")));
	memset(c, 0, sizeof(*c));
	if (audit_json_present(obj, "format") && audit_json_int64(obj, "format", what) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported checkpoint format")));
	c->block_id = audit_json_int64(obj, "block_id", what);
	if (c->block_id < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed checkpoint: \"block_id\" must be at least 1")));
	/* a number, but not compared with block_id: sql/seal.sql edits block_id alone */
	if (audit_json_present(obj, "tree_size"))
		(void) audit_json_int64(obj, "tree_size", what);
	audit_json_hash(obj, "root_hash", what, c->tree_root, AUDIT_HASH_LEN);
	if (getKeyJsonValueFromContainer(obj, "chain_id", 8, NULL) != NULL)
	{
		audit_json_hash(obj, "chain_id", what, c->chain_id, AUDIT_CHAIN_ID_LEN);
		c->has_chain_id = true;
	}
	check_signature_fields(obj, what);
}

/*
 * Saved checkpoints: one object as audit.digest() returns it, or an array.
 */
SavedCheckpoint *
audit_checkpoints_parse(Jsonb *digests, int *count)
{
	JsonbContainer *root = &digests->root;
	SavedCheckpoint *result;

	if (JB_ROOT_IS_SCALAR(digests) || !JsonContainerIsArray(root))
	{
		result = palloc(sizeof(SavedCheckpoint));
		parse_one(root, result);
		*count = 1;
		return result;
	}
	*count = JsonContainerSize(root);
	result = palloc0(sizeof(SavedCheckpoint) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(root, i);

		if (elem == NULL || elem->type != jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed checkpoint: element %d of the array is not an object", i + 1)));
		parse_one(elem->val.binary.data, &result[i]);
	}
	return result;
}
