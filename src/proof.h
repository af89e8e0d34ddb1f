/*-------------------------------------------------------------------------
 *
 * proof.h
 *	  Inclusion proofs (an event, under a checkpoint) and consistency
 *	  proofs (one checkpoint extends another), docs/FORMAT.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_PROOF_H
#define AUDIT_PROOF_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/snapshot.h"

#include "hash.h"
#include "schema.h"

/* Leaf hashes read from one of the trees. */
typedef struct HashList
{
	int64		n;
	int64		index;			/* of the leaf being proven, or -1 */
	uint8		(*hashes)[AUDIT_HASH_LEN];
} HashList;

extern void audit_trail_block_hashes(Snapshot snap, int64 upto, HashList *out);
extern char *audit_hash_path_json(uint8 (*path)[AUDIT_HASH_LEN], int len);
extern void audit_json_put_column(StringInfo buf, const AuditColumn *c,
								  Datum value, bool isnull);

#endif							/* AUDIT_PROOF_H */
