/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  Verification of the whole trail, or a range of blocks: events
 *	  against their leaf hashes, transactions against their digests,
 *	  blocks against their heads, the chain, the block-hash tree, the
 *	  signatures and saved checkpoints.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_VERIFY_H
#define AUDIT_VERIFY_H

#include "postgres.h"

#include "utils/tuplestore.h"

#include "hash.h"

/* A checkpoint saved outside the database, to check the trail against. */
typedef struct SavedCheckpoint
{
	int64		block_id;		/* = tree size */
	uint8		tree_root[AUDIT_HASH_LEN];
	bool		has_chain_id;
	uint8		chain_id[16];
	bool		seen;
} SavedCheckpoint;

typedef struct VerifyResult
{
	int64		blocks_checked;
	int64		transactions_checked;
	int64		events_checked;
	int64		unsealed_events;
	int64		archived_events;	/* checked by their stored leaf hash */
	int64		last_verified_block;	/* 0 if none */
	bool		has_head;
	uint8		head_hash[AUDIT_HASH_LEN];
	int64		problems;
	char	   *first_problem;
} VerifyResult;

typedef struct VerifyOptions
{
	int64		from_block;		/* 0: from the first */
	int64		to_block;		/* 0: to the last, then unsealed ones */
	SavedCheckpoint *checkpoints;
	int			ncheckpoints;
	Tuplestorestate *report;	/* one row per problem, or NULL */
	TupleDesc	report_desc;
} VerifyOptions;

extern void audit_verify_trail(const VerifyOptions *opts, VerifyResult *result);

#endif							/* AUDIT_VERIFY_H */
