/*-------------------------------------------------------------------------
 *
 * proof_verify.c
 *	  audit.verify_inclusion_proof(jsonb) and
 *	  audit.verify_consistency_proof(jsonb): check every element of a proof
 *	  without trusting anything stored in this database.
 *
 * The event is encoded again from the proof's own fields, so a proof whose
 * content was edited fails even if its hashes were left alone.  A malformed
 * proof is an error; a well-formed one that does not hold returns false.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/xid8.h"

#include "chain_format.h"
#include "checkpoint.h"
#include "event_format.h"
#include "event_images.h"
#include "merkle.h"
#include "schema.h"
#include "sign.h"

#define PROOF "proof"

static JsonbContainer *
object_field(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = audit_json_field(obj, key, jbvBinary, PROOF);

	if (!JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"%s\" must be an object", key)));
	return v->val.binary.data;
}

/* "path": an array of hex hashes; returns its length. */
static int
path_field(JsonbContainer *obj, uint8 (*path)[AUDIT_HASH_LEN], int max)
{
	JsonbValue *v = audit_json_field(obj, "path", jbvBinary, PROOF);
	JsonbContainer *arr = v->val.binary.data;
	int			n;

	if (!JsonContainerIsArray(arr) || (n = JsonContainerSize(arr)) > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"path\" must be an array of at most %d hashes", max)));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

		if (e == NULL || e->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed proof: element %d of \"path\" is not a string", i + 1)));
		audit_parse_hex(e->val.string.val, e->val.string.len, PROOF, "path",
						path[i], AUDIT_HASH_LEN);
	}
	return n;
}

/* An integer field that must lie in [lo, hi]: never silently truncated. */
static int64
json_int_in(JsonbContainer *obj, const char *key, int64 lo, int64 hi)
{
	int64		v = audit_json_int64(obj, key, PROOF);

	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: \"%s\" is out of range", key)));
	return v;
}

/* The key of an event column in a proof: timestamps carry "_us". */
static const char *
event_key(const AuditColumn *c)
{
	return c->type == TIMESTAMPTZOID ? psprintf("%s_us", c->name) : c->name;
}

/*
 * A jsonb column of the proof's event: a string holding the value's
 * canonical text.  False when it is JSON but not in canonical form: the
 * leaf hash covers the canonical bytes, and a verifier outside the server
 * hashes the string as it is, so the two would not agree.
 */
static bool
json_text_datum(const char *key, char *str, int len, Datum *value)
{
	JsonLexContext *lex = makeJsonLexContextCstringLen(str, len,
													   GetDatabaseEncoding(), true);

	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: the event's \"%s\" must be a string of JSON text, or null", key)));
	*value = DirectFunctionCall1(jsonb_in, CStringGetDatum(str));
	return strcmp(DatumGetCString(DirectFunctionCall1(jsonb_out, *value)), str) == 0;
}

/*
 * A bytea column of the proof's event (row_salt): hex, a leading \x
 * accepted.  Of any length: a wrong one is a stored value that is wrong,
 * for the encoding to judge, not a malformed proof.
 */
static Datum
hex_datum(const char *key, const char *s, int len)
{
	bytea	   *b;

	if (!audit_hex_span(&s, &len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: the event's \"%s\" must be hexadecimal bytes, or null", key)));
	b = palloc(VARHDRSZ + len / 2);
	SET_VARSIZE(b, VARHDRSZ + len / 2);
	hex_decode(s, len, VARDATA(b));
	return PointerGetDatum(b);
}

/*
 * One event column from the proof's "event" object into value/isnull.
 * False when it is well formed but not what the server would have stored
 * (JSON text not in canonical form).
 */
static bool
event_field(JsonbContainer *ev, const AuditColumn *c, Datum *value, bool *isnull)
{
	const char *key = event_key(c);
	JsonbValue *v = getKeyJsonValueFromContainer(ev, key, strlen(key), NULL);

	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: the event has no \"%s\"", key)));
	*isnull = (v->type == jbvNull);
	if (*isnull)
		return true;
	if (c->type == TEXTOID || c->type == INETOID || c->type == JSONBOID ||
		c->type == BYTEAOID)
	{
		char	   *str;

		if (v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed proof: the event's \"%s\" must be a string or null", key)));
		str = pnstrdup(v->val.string.val, v->val.string.len);
		if (c->type == JSONBOID)
			return json_text_datum(key, str, v->val.string.len, value);
		if (c->type == BYTEAOID)
		{
			*value = hex_datum(key, str, v->val.string.len);
			return true;
		}
		*value = c->type == TEXTOID ? CStringGetTextDatum(str) :
			DirectFunctionCall1(inet_in, CStringGetDatum(str));
		return true;
	}
	switch (c->type)
	{
		case INT8OID:
		case TIMESTAMPTZOID:
			*value = Int64GetDatum(audit_json_int64(ev, key, PROOF));
			break;
		case INT4OID:
			*value = Int32GetDatum((int32) json_int_in(ev, key, PG_INT32_MIN, PG_INT32_MAX));
			break;
		case INT2OID:
			*value = Int16GetDatum((int16) json_int_in(ev, key, PG_INT16_MIN, PG_INT16_MAX));
			break;
		case XID8OID:
			*value = FullTransactionIdGetDatum(FullTransactionIdFromU64((uint64) json_int_in(ev, key, 0, PG_INT64_MAX)));
			break;
		default:
			elog(ERROR, "audit_ext: no proof field for type %u", c->type);
	}
	return true;
}

/* Is column c absent from the proof's event, or null? */
static bool
event_field_absent(JsonbContainer *ev, const AuditColumn *c)
{
	const char *key = event_key(c);
	JsonbValue *v = getKeyJsonValueFromContainer(ev, key, strlen(key), NULL);

	return v == NULL || v->type == jbvNull;
}

/*
 * The event's row_salt: no field, but its row images are salted from it.
 * Its key is there from format version 3 on, as theirs.
 */
static void
event_row_salt(JsonbContainer *ev, int version, Datum *values, bool *isnull)
{
	const int	rs = Anum_event_row_salt - 1;
	const AuditColumn *c = &audit_event_columns[rs];

	if (version >= audit_event_columns[Anum_event_row_key - 1].hashed_since ||
		!event_field_absent(ev, c))
		(void) event_field(ev, c, &values[rs], &isnull[rs]);
}

/*
 * The event's erasure record (audit.redact()): no field, but the
 * commitments of the members it erased, and the salts of those that stay,
 * are there.  Absent from proofs made before audit_ext 0.4; false if it is
 * JSON text not in canonical form.
 */
static bool
event_erasure(JsonbContainer *ev, Datum *values, bool *isnull)
{
	const int	er = Anum_event_erasure - 1;
	const AuditColumn *c = &audit_event_columns[er];

	return event_field_absent(ev, c) ||
		event_field(ev, c, &values[er], &isnull[er]);
}

/*
 * The leaf hash of the proof's event, encoded from its fields in its own
 * format version.  False when the event cannot be one the server wrote: a
 * format version not known here, a value in a column its version does not
 * hash (no hash would cover it), JSON text not in canonical form, a row
 * image that cannot be encoded.  The columns a later version added may be
 * left out of an older event, as proofs made before that version leave
 * them out.
 */
static bool
event_leaf(JsonbContainer *ev, uint8 leaf[AUDIT_HASH_LEN])
{
	const int	fv = Anum_event_format_version - 1;
	Datum		values[Natts_event] = {0};
	bool		isnull[Natts_event];
	int			version;

	memset(isnull, true, sizeof(isnull));
	(void) event_field(ev, &audit_event_columns[fv], &values[fv], &isnull[fv]);
	version = isnull[fv] ? 0 : DatumGetInt16(values[fv]);
	if (version < 1 || version > AUDIT_FORMAT_VERSION)
		return false;
	for (int i = 0; i < Natts_event; i++)
	{
		const AuditColumn *c = &audit_event_columns[i];

		if (i == fv || c->hashed_since == 0)
			continue;			/* the header; leaf_hash goes beside the event */
		if (c->hashed_since > version)
		{
			if (!event_field_absent(ev, c))
				return false;
			continue;
		}
		if (!event_field(ev, c, &values[i], &isnull[i]))
			return false;
	}
	event_row_salt(ev, version, values, isnull);
	if (!event_erasure(ev, values, isnull) ||
		audit_event_format(values, isnull, Natts_event) != version ||
		!audit_event_images_encodable(values, isnull, Natts_event))
		return false;
	audit_event_leaf_hash(values, isnull, Natts_event, leaf);
	return true;
}

/* Walk "index"/"path" of obj from leaf to root, in a tree of size leaves. */
static bool
path_holds(JsonbContainer *obj, const uint8 *leaf, int64 size, const uint8 *root)
{
	uint8		path[MERKLE_MAX_FRONTIER][AUDIT_HASH_LEN];
	int			len = path_field(obj, path, MERKLE_MAX_FRONTIER);
	int64		index = audit_json_int64(obj, "index", PROOF);

	if (index < 0 || size < 1)
		return false;
	return merkle_inclusion_verify(leaf, index, size,
								   (const uint8 (*)[AUDIT_HASH_LEN]) path, len, root);
}

/* The transaction entry of the proof, and its place in the block. */
static bool
txn_holds(JsonbContainer *proof, const uint8 *leaf, uint64 txid,
		  TxnEntry *txn, uint8 txn_leaf[AUDIT_HASH_LEN])
{
	JsonbContainer *t = object_field(proof, "transaction");

	txn->txid = (uint64) json_int_in(t, "txid", 0, PG_INT64_MAX);
	txn->position = audit_json_int64(t, "position", PROOF);
	txn->event_count = (int32) json_int_in(t, "event_count", 1, PG_INT32_MAX);
	txn->committed_at = audit_json_int64(t, "committed_at_us", PROOF);
	audit_json_hash(t, "digest", PROOF, txn->digest, AUDIT_HASH_LEN);
	audit_txn_leaf(txn, txn_leaf);
	return txn->txid == txid && txid != 0 &&
		path_holds(t, leaf, txn->event_count, txn->digest);
}

/* The block head of the proof, its transaction tree, and its hash. */
static bool
block_holds(JsonbContainer *proof, const TxnEntry *txn, const uint8 *txn_leaf,
			BlockHead *h, uint8 block_hash[AUDIT_HASH_LEN])
{
	JsonbContainer *b = object_field(proof, "block");

	audit_json_hash(proof, "chain_id", PROOF, h->chain_id, AUDIT_CHAIN_ID_LEN);
	h->block_id = audit_json_int64(b, "block_id", PROOF);
	h->first_position = audit_json_int64(b, "first_position", PROOF);
	h->last_position = audit_json_int64(b, "last_position", PROOF);
	h->txn_count = (int32) json_int_in(b, "txn_count", 1, PG_INT32_MAX);
	h->event_count = audit_json_int64(b, "event_count", PROOF);
	h->sealed_at = audit_json_int64(b, "sealed_at_us", PROOF);
	audit_json_hash(b, "txn_root", PROOF, h->txn_root, AUDIT_HASH_LEN);
	audit_json_hash(b, "prev_hash", PROOF, h->prev_hash, AUDIT_HASH_LEN);
	audit_block_hash(h, block_hash);
	return txn->position >= h->first_position &&
		txn->position <= h->last_position &&
		path_holds(b, txn_leaf, h->txn_count, h->txn_root);
}

/* The block in the trail tree, the checkpoint, and its signature. */
static bool
tree_holds(JsonbContainer *proof, const BlockHead *h, const uint8 *block_hash)
{
	JsonbContainer *t = object_field(proof, "tree");
	JsonbContainer *cp = object_field(proof, "checkpoint");
	int64		size = audit_json_int64(t, "size", PROOF);
	uint8		root[AUDIT_HASH_LEN];
	uint8		cp_chain[AUDIT_CHAIN_ID_LEN];
	uint8		msg[AUDIT_CHECKPOINT_MSG_LEN];
	JsonbValue *sig;
	JsonbValue *key_id;
	bool		checked;
	uint8		sigbytes[AUDIT_SIGNATURE_LEN];

	audit_json_hash(cp, "root_hash", PROOF, root, AUDIT_HASH_LEN);
	audit_json_hash(cp, "chain_id", PROOF, cp_chain, AUDIT_CHAIN_ID_LEN);
	if (audit_json_int64(cp, "tree_size", PROOF) != size ||
		(audit_json_present(cp, "block_id") &&
		 audit_json_int64(cp, "block_id", PROOF) != size) ||
		memcmp(cp_chain, h->chain_id, AUDIT_CHAIN_ID_LEN) != 0 ||
		audit_json_int64(t, "index", PROOF) != h->block_id - 1 ||
		!path_holds(t, block_hash, size, root))
		return false;

	sig = getKeyJsonValueFromContainer(cp, "signature", 9, NULL);
	if (sig == NULL || sig->type == jbvNull)
		return true;
	audit_json_hash(cp, "signature", PROOF, sigbytes, AUDIT_SIGNATURE_LEN);
	key_id = audit_json_field(cp, "key_id", jbvString, PROOF);
	audit_checkpoint_message(h->chain_id, (uint64) size, root, msg);
	if (!audit_sign_verify(pnstrdup(key_id->val.string.val, key_id->val.string.len),
						   msg, sizeof(msg), sigbytes, sizeof(sigbytes), &checked))
		return false;
	if (!checked)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot check the proof's signature: key %.*s is not the configured audit.signing_key",
						key_id->val.string.len, key_id->val.string.val),
				 errhint("Check the proof with audit_verify --proof FILE -k PUBLIC_KEY, or remove the signature to check the rest.")));
	return true;
}

PG_FUNCTION_INFO_V1(audit_verify_inclusion_proof);

/*
 * audit.verify_inclusion_proof(proof jsonb) returns boolean.
 */
Datum
audit_verify_inclusion_proof(PG_FUNCTION_ARGS)
{
	Jsonb	   *proof = PG_GETARG_JSONB_P(0);
	JsonbContainer *root = &proof->root;
	JsonbContainer *ev;
	uint8		leaf[AUDIT_HASH_LEN];
	uint8		stated[AUDIT_HASH_LEN];
	uint8		txn_leaf[AUDIT_HASH_LEN];
	uint8		block_hash[AUDIT_HASH_LEN];
	TxnEntry	txn;
	BlockHead	head;

	if (JB_ROOT_IS_SCALAR(proof) || !JsonContainerIsObject(root))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: an object was expected"),
				 errhint("Pass what audit.inclusion_proof() returned.")));
	if (audit_json_int64(root, "format", PROOF) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported proof format")));
	ev = object_field(root, "event");
	audit_json_hash(root, "leaf_hash", PROOF, stated, AUDIT_HASH_LEN);
	if (!event_leaf(ev, leaf) || memcmp(leaf, stated, AUDIT_HASH_LEN) != 0)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(txn_holds(root, leaf, (uint64) json_int_in(ev, "txid", 0, PG_INT64_MAX),
							 &txn, txn_leaf) &&
				   block_holds(root, &txn, txn_leaf, &head, block_hash) &&
				   tree_holds(root, &head, block_hash));
}

PG_FUNCTION_INFO_V1(audit_verify_consistency_proof);

/*
 * audit.verify_consistency_proof(proof jsonb) returns boolean.
 */
Datum
audit_verify_consistency_proof(PG_FUNCTION_ARGS)
{
	Jsonb	   *proof = PG_GETARG_JSONB_P(0);
	JsonbContainer *root = &proof->root;
	JsonbContainer *from;
	JsonbContainer *to;
	uint8		old_root[AUDIT_HASH_LEN];
	uint8		new_root[AUDIT_HASH_LEN];
	uint8		path[2 * MERKLE_MAX_FRONTIER][AUDIT_HASH_LEN];
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	int64		m;
	int64		n;
	int			len;

	if (JB_ROOT_IS_SCALAR(proof) || !JsonContainerIsObject(root))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed proof: an object was expected"),
				 errhint("Pass what audit.consistency_proof() returned.")));
	/* "format" and "chain_id", which no hash covers, must be well formed */
	if (audit_json_present(root, "format") && audit_json_int64(root, "format", PROOF) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported proof format")));
	if (audit_json_present(root, "chain_id"))
		audit_json_hash(root, "chain_id", PROOF, chain_id, AUDIT_CHAIN_ID_LEN);
	from = object_field(root, "from");
	to = object_field(root, "to");
	m = audit_json_int64(from, "tree_size", PROOF);
	n = audit_json_int64(to, "tree_size", PROOF);
	audit_json_hash(from, "root_hash", PROOF, old_root, AUDIT_HASH_LEN);
	audit_json_hash(to, "root_hash", PROOF, new_root, AUDIT_HASH_LEN);
	len = path_field(root, path, 2 * MERKLE_MAX_FRONTIER);
	if (m < 1 || n < m)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(merkle_consistency_verify(m, n, old_root, new_root,
											 (const uint8 (*)[AUDIT_HASH_LEN]) path,
											 len));
}
