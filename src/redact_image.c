/*-------------------------------------------------------------------------
 *
 * redact_image.c
 *	  C helpers of audit.redact() (sql/0.4/40_redact.sql), which erases
 *	  values from the row images of events: the salt and the commitment of
 *	  a row image member, computed by the very code that hashes them
 *	  (event_format.c), and whether an event row still hashes to its leaf.
 *
 * Erasing a member keeps its commitment in the event's erasure record in
 * place of its value, and the salts of the members that stay, so that the
 * leaf hash is unchanged (docs/FORMAT.md, "Erasure").  The rewrite itself
 * is SQL; nothing here writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"

#include "event_format.h"
#include "event_images.h"
#include "schema.h"

PG_FUNCTION_INFO_V1(audit_row_member_salt_sql);
PG_FUNCTION_INFO_V1(audit_row_member_commitment_sql);
PG_FUNCTION_INFO_V1(audit_event_leaf_holds);

/* A bytea argument that must be len bytes long. */
static const uint8 *
bytes_of_length(bytea *b, int len, const char *what)
{
	if (VARSIZE_ANY_EXHDR(b) != (Size) len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %d bytes long", what, len)));
	return (const uint8 *) VARDATA_ANY(b);
}

static bytea *
bytea_of(const uint8 *bytes, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return b;
}

/*
 * audit._row_member_salt(row_salt, side, key): the 16-byte salt of the
 * commitment to member key of the row image on side 'k', 'o' or 'n'.
 */
Datum
audit_row_member_salt_sql(PG_FUNCTION_ARGS)
{
	const uint8 *row_salt = bytes_of_length(PG_GETARG_BYTEA_PP(0),
											AUDIT_ROW_SALT_LEN, "row_salt");
	char		side = PG_GETARG_CHAR(1);
	text	   *key = PG_GETARG_TEXT_PP(2);
	uint8		salt[AUDIT_MEMBER_SALT_LEN];
	StringInfoData scratch;

	if (side != 'k' && side != 'o' && side != 'n')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("side must be 'k', 'o' or 'n'")));
	initStringInfo(&scratch);
	audit_row_member_salt(row_salt, side, VARDATA_ANY(key),
						  VARSIZE_ANY_EXHDR(key), &scratch, salt);
	PG_RETURN_BYTEA_P(bytea_of(salt, AUDIT_MEMBER_SALT_LEN));
}

/*
 * audit._row_member_commitment(salt, value): the commitment to a member
 * whose value is value (any jsonb), salted with the 16-byte salt.
 */
Datum
audit_row_member_commitment_sql(PG_FUNCTION_ARGS)
{
	const uint8 *salt = bytes_of_length(PG_GETARG_BYTEA_PP(0),
										AUDIT_MEMBER_SALT_LEN, "salt");
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	JsonbValue	v;
	uint8		commitment[AUDIT_HASH_LEN];
	StringInfoData scratch;

	if (JB_ROOT_IS_SCALAR(jb))
		(void) JsonbExtractScalar(&jb->root, &v);
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
	initStringInfo(&scratch);
	audit_row_member_commitment(salt, &v, &scratch, commitment);
	PG_RETURN_BYTEA_P(bytea_of(commitment, AUDIT_HASH_LEN));
}

/*
 * audit._event_leaf_holds(e audit.event): does the row encode, in its own
 * format version, to its stored leaf_hash?  False for a row that cannot be
 * encoded at all.  audit.redact() asks before and after its rewrite.
 */
Datum
audit_event_leaf_holds(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
											  HeapTupleHeaderGetTypMod(th));
	HeapTupleData tup = {.t_len = HeapTupleHeaderGetDatumLength(th), .t_data = th};
	Datum		values[Natts_event];
	bool		isnull[Natts_event];
	uint8		leaf[AUDIT_HASH_LEN];
	bytea	   *stored;

	if (desc->natts != Natts_event)
		elog(ERROR, "audit_ext: audit.event has %d columns, %d expected",
			 desc->natts, Natts_event);
	heap_deform_tuple(&tup, desc, values, isnull);
	ReleaseTupleDesc(desc);
	if (isnull[Anum_event_leaf_hash - 1] ||
		audit_event_format(values, isnull, Natts_event) == 0 ||
		audit_event_has_unhashed(values, isnull, Natts_event) ||
		!audit_event_images_encodable(values, isnull, Natts_event))
		PG_RETURN_BOOL(false);
	audit_event_leaf_hash(values, isnull, Natts_event, leaf);
	stored = DatumGetByteaPP(values[Anum_event_leaf_hash - 1]);
	PG_RETURN_BOOL(VARSIZE_ANY_EXHDR(stored) == AUDIT_HASH_LEN &&
				   memcmp(VARDATA_ANY(stored), leaf, AUDIT_HASH_LEN) == 0);
}
