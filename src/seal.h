/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  Sealing committed transactions into hash-chained blocks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SEAL_H
#define AUDIT_SEAL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/snapshot.h"

#include "chain_format.h"
#include "merkle.h"

extern int	audit_seal_interval;		/* ms, GUC audit.seal_interval */
extern int	audit_block_max_transactions;	/* GUC */

/* The newest block, as the sealer and the verifier need it. */
typedef struct BlockState
{
	int64		block_id;		/* 0 when there is no block yet */
	int64		last_position;
	uint8		block_hash[AUDIT_HASH_LEN];
	MerkleFrontier tree;		/* over block hashes 1..block_id */
} BlockState;

/* The newest block with what a checkpoint shows of it. */
typedef struct AuditHead
{
	BlockState	state;
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	uint8		tree_root[AUDIT_HASH_LEN];
	TimestampTz sealed_at;
	bool		has_signature;
	uint8		signature[64];
	char		key_id[17];
} AuditHead;

extern bool audit_read_block_row(Snapshot snap, int64 block_id, AuditHead *head);
extern void audit_chain_id(uint8 out[AUDIT_CHAIN_ID_LEN]);
extern bool audit_block_state_decode(BlockState *state, const Datum *values,
									 const bool *isnull);
extern bool audit_txn_decode_checked(TxnEntry *txn, const Datum *values,
									 const bool *isnull);
extern void audit_txn_decode(TxnEntry *txn, const Datum *values,
							 const bool *isnull);
extern int64 audit_seal_once(bool *more, bool *busy);
extern int64 audit_seal_all(void);

#endif							/* AUDIT_SEAL_H */
