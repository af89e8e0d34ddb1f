/*-------------------------------------------------------------------------
 *
 * chain_format.c
 *	  Fixed-layout, big-endian encodings of transaction entries, block heads
 *	  and the signed checkpoint message (docs/FORMAT.md).
 *
 * Shared by the server and the offline verifier (built with -DFRONTEND),
 * so both hash exactly the same bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "port/pg_bswap.h"

#include "chain_format.h"

static uint8 *
put_u64(uint8 *p, uint64 v)
{
	uint64		be = pg_hton64(v);

	memcpy(p, &be, 8);
	return p + 8;
}

static uint8 *
put_u32(uint8 *p, uint32 v)
{
	uint32		be = pg_hton32(v);

	memcpy(p, &be, 4);
	return p + 4;
}

static uint8 *
put_bytes(uint8 *p, const uint8 *src, size_t len)
{
	memcpy(p, src, len);
	return p + len;
}

/*
 * Leaf hash of a transaction entry in its block's tree:
 * SHA-256(0x00 || version || txid || position || event_count ||
 *         committed_at || digest).
 */
void
audit_txn_leaf(const TxnEntry *txn, uint8 out[AUDIT_HASH_LEN])
{
	uint8		buf[AUDIT_TXN_ENTRY_LEN];
	uint8	   *p = buf;

	*p++ = AUDIT_TXN_FORMAT;
	p = put_u64(p, txn->txid);
	p = put_u64(p, (uint64) txn->position);
	p = put_u32(p, (uint32) txn->event_count);
	p = put_u64(p, (uint64) txn->committed_at);
	p = put_bytes(p, txn->digest, AUDIT_HASH_LEN);
	if (p - buf != AUDIT_TXN_ENTRY_LEN)
		abort();				/* the layout and its length disagree */
	audit_hash_leaf(buf, sizeof(buf), out);
}

/*
 * Hash of a block head: SHA-256(0x02 || version || chain_id || block_id ||
 * first_position || last_position || txn_count || event_count ||
 * sealed_at || txn_root || prev_hash).
 */
void
audit_block_hash(const BlockHead *head, uint8 out[AUDIT_HASH_LEN])
{
	uint8		buf[AUDIT_BLOCK_HEAD_LEN];
	uint8	   *p = buf;

	*p++ = AUDIT_BLOCK_FORMAT;
	p = put_bytes(p, head->chain_id, AUDIT_CHAIN_ID_LEN);
	p = put_u64(p, (uint64) head->block_id);
	p = put_u64(p, (uint64) head->first_position);
	p = put_u64(p, (uint64) head->last_position);
	p = put_u32(p, (uint32) head->txn_count);
	p = put_u64(p, (uint64) head->event_count);
	p = put_u64(p, (uint64) head->sealed_at);
	p = put_bytes(p, head->txn_root, AUDIT_HASH_LEN);
	p = put_bytes(p, head->prev_hash, AUDIT_HASH_LEN);
	if (p - buf != AUDIT_BLOCK_HEAD_LEN)
		abort();				/* the layout and its length disagree */
	audit_hash_block(buf, sizeof(buf), out);
}

/*
 * The message an Ed25519 checkpoint signature covers:
 * "AUDIT_EXT-CHECKPOINT-1" || chain_id || tree_size || tree_root.
 */
void
audit_checkpoint_message(const uint8 chain_id[AUDIT_CHAIN_ID_LEN],
						 uint64 tree_size,
						 const uint8 tree_root[AUDIT_HASH_LEN],
						 uint8 out[AUDIT_CHECKPOINT_MSG_LEN])
{
	uint8	   *p = out;

	p = put_bytes(p, (const uint8 *) AUDIT_CHECKPOINT_MAGIC,
				  sizeof(AUDIT_CHECKPOINT_MAGIC) - 1);
	p = put_bytes(p, chain_id, AUDIT_CHAIN_ID_LEN);
	p = put_u64(p, tree_size);
	p = put_bytes(p, tree_root, AUDIT_HASH_LEN);
	if (p - out != (ptrdiff_t) AUDIT_CHECKPOINT_MSG_LEN)
		abort();				/* the layout and its length disagree */
}
