/*-------------------------------------------------------------------------
 *
 * merkle_sql.c
 *	  SQL access to the RFC 6962 Merkle primitives, so that roots and
 *	  proofs can be computed and checked by anyone with a database at hand
 *	  (and the RFC test vectors checked against this implementation).
 *
 *	  audit.merkle_root(leaves bytea[]) -> bytea
 *	  audit.merkle_inclusion_path(leaves bytea[], index bigint) -> bytea[]
 *	  audit.merkle_consistency_path(leaves bytea[], old_size bigint) -> bytea[]
 *	  audit.merkle_verify_inclusion(leaf, index, size, path, root) -> bool
 *	  audit.merkle_verify_consistency(old_size, new_size, old_root,
 *									  new_root, path) -> bool
 *
 * Leaves are leaf hashes (32 bytes each), not raw entries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "merkle.h"

/* A bytea[] of 32-byte hashes as a palloc'd array; *n receives the count. */
static uint8 (*
			  hashes_arg(ArrayType *arr, const char *what, int *n))[AUDIT_HASH_LEN]
{
	Datum	   *elems;
	bool	   *nulls;
	uint8		(*out)[AUDIT_HASH_LEN];

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	out = palloc(sizeof(*out) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		bytea	   *b;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		b = DatumGetByteaPP(elems[i]);
		if (VARSIZE_ANY_EXHDR(b) != AUDIT_HASH_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %d of %s is %d bytes, a SHA-256 hash has 32",
							i + 1, what, (int) VARSIZE_ANY_EXHDR(b))));
		memcpy(out[i], VARDATA_ANY(b), AUDIT_HASH_LEN);
	}
	return out;
}

static const uint8 *
hash_arg(bytea *b, const char *what)
{
	if (VARSIZE_ANY_EXHDR(b) != AUDIT_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a 32-byte SHA-256 hash", what)));
	return (const uint8 *) VARDATA_ANY(b);
}

static bytea *
hash_bytea(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), h, AUDIT_HASH_LEN);
	return b;
}

static ArrayType *
hashes_result(uint8 (*path)[AUDIT_HASH_LEN], int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(hash_bytea(path[i]));
	return construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT);
}

PG_FUNCTION_INFO_V1(audit_merkle_root);
Datum
audit_merkle_root(PG_FUNCTION_ARGS)
{
	int			n;
	uint8		(*leaves)[AUDIT_HASH_LEN] = hashes_arg(PG_GETARG_ARRAYTYPE_P(0), "leaves", &n);
	uint8		root[AUDIT_HASH_LEN];

	merkle_root((const uint8 (*)[AUDIT_HASH_LEN]) leaves, n, root);
	PG_RETURN_BYTEA_P(hash_bytea(root));
}

PG_FUNCTION_INFO_V1(audit_merkle_inclusion_path);
Datum
audit_merkle_inclusion_path(PG_FUNCTION_ARGS)
{
	int			n;
	uint8		(*leaves)[AUDIT_HASH_LEN] = hashes_arg(PG_GETARG_ARRAYTYPE_P(0), "leaves", &n);
	int64		index = PG_GETARG_INT64(1);
	uint8		path[MERKLE_MAX_FRONTIER][AUDIT_HASH_LEN];
	int			len;

	if (index < 0 || index >= n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("leaf index %lld is outside a tree of %d leaves",
						(long long) index, n)));
	len = merkle_inclusion_path((const uint8 (*)[AUDIT_HASH_LEN]) leaves, n, index, path);
	PG_RETURN_ARRAYTYPE_P(hashes_result(path, len));
}

PG_FUNCTION_INFO_V1(audit_merkle_consistency_path);
Datum
audit_merkle_consistency_path(PG_FUNCTION_ARGS)
{
	int			n;
	uint8		(*leaves)[AUDIT_HASH_LEN] = hashes_arg(PG_GETARG_ARRAYTYPE_P(0), "leaves", &n);
	int64		m = PG_GETARG_INT64(1);
	uint8		path[2 * MERKLE_MAX_FRONTIER][AUDIT_HASH_LEN];
	int			len;

	if (m < 1 || m > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("old tree size %lld must be between 1 and the %d leaves given",
						(long long) m, n)));
	len = merkle_consistency_path((const uint8 (*)[AUDIT_HASH_LEN]) leaves, m, n, path);
	PG_RETURN_ARRAYTYPE_P(hashes_result(path, len));
}

PG_FUNCTION_INFO_V1(audit_merkle_verify_inclusion);
Datum
audit_merkle_verify_inclusion(PG_FUNCTION_ARGS)
{
	const uint8 *leaf = hash_arg(PG_GETARG_BYTEA_PP(0), "leaf");
	int64		index = PG_GETARG_INT64(1);
	int64		size = PG_GETARG_INT64(2);
	int			n;
	uint8		(*path)[AUDIT_HASH_LEN] = hashes_arg(PG_GETARG_ARRAYTYPE_P(3), "path", &n);
	const uint8 *root = hash_arg(PG_GETARG_BYTEA_PP(4), "root");

	if (index < 0 || size < 1)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(merkle_inclusion_verify(leaf, index, size,
										   (const uint8 (*)[AUDIT_HASH_LEN]) path,
										   n, root));
}

PG_FUNCTION_INFO_V1(audit_merkle_verify_consistency);
Datum
audit_merkle_verify_consistency(PG_FUNCTION_ARGS)
{
	int64		m = PG_GETARG_INT64(0);
	int64		size = PG_GETARG_INT64(1);
	const uint8 *old_root = hash_arg(PG_GETARG_BYTEA_PP(2), "old_root");
	const uint8 *new_root = hash_arg(PG_GETARG_BYTEA_PP(3), "new_root");
	int			n;
	uint8		(*path)[AUDIT_HASH_LEN] = hashes_arg(PG_GETARG_ARRAYTYPE_P(4), "path", &n);

	if (m < 1 || size < m)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(merkle_consistency_verify(m, size, old_root, new_root,
											 (const uint8 (*)[AUDIT_HASH_LEN]) path,
											 n));
}
