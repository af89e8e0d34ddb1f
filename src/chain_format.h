/*-------------------------------------------------------------------------
 *
 * chain_format.h
 *	  Encodings of transaction entries, block heads and checkpoints
 *	  (docs/FORMAT.md).  Usable in the server and in frontend programs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_FORMAT_H
#define AUDIT_CHAIN_FORMAT_H

#include "hash.h"

#define AUDIT_CHAIN_ID_LEN		16
#define AUDIT_TXN_FORMAT		1
#define AUDIT_BLOCK_FORMAT		1
#define AUDIT_TXN_ENTRY_LEN		61
#define AUDIT_BLOCK_HEAD_LEN	125
#define AUDIT_CHECKPOINT_MAGIC	"AUDIT_EXT-CHECKPOINT-1"
#define AUDIT_CHECKPOINT_MSG_LEN	(sizeof(AUDIT_CHECKPOINT_MAGIC) - 1 + \
									 AUDIT_CHAIN_ID_LEN + 8 + AUDIT_HASH_LEN)

/* A row of audit.txn, as hashed into its block. */
typedef struct TxnEntry
{
	uint64		txid;
	int64		position;
	int32		event_count;
	int64		committed_at;	/* microseconds since 2000-01-01 UTC */
	uint8		digest[AUDIT_HASH_LEN];
} TxnEntry;

/* The hashed part of a row of audit.block. */
typedef struct BlockHead
{
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	int64		block_id;
	int64		first_position;
	int64		last_position;
	int32		txn_count;
	int64		event_count;
	int64		sealed_at;		/* microseconds since 2000-01-01 UTC */
	uint8		txn_root[AUDIT_HASH_LEN];
	uint8		prev_hash[AUDIT_HASH_LEN];
} BlockHead;

extern void audit_txn_leaf(const TxnEntry *txn, uint8 out[AUDIT_HASH_LEN]);
extern void audit_block_hash(const BlockHead *head, uint8 out[AUDIT_HASH_LEN]);
extern void audit_checkpoint_message(const uint8 chain_id[AUDIT_CHAIN_ID_LEN],
									 uint64 tree_size,
									 const uint8 tree_root[AUDIT_HASH_LEN],
									 uint8 out[AUDIT_CHECKPOINT_MSG_LEN]);

#endif							/* AUDIT_CHAIN_FORMAT_H */
