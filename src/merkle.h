/*-------------------------------------------------------------------------
 *
 * merkle.h
 *	  RFC 6962 / RFC 9162 Merkle trees: roots, an append-only frontier,
 *	  inclusion and consistency proofs.
 *
 * Leaves are given as leaf hashes (already domain-separated); interior nodes
 * are SHA-256(0x01 || left || right).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_MERKLE_H
#define AUDIT_MERKLE_H

#include "hash.h"

/* Maximum height of a tree of up to 2^63 leaves, plus one. */
#define MERKLE_MAX_FRONTIER	64

/*
 * The compact range of an append-only tree of 'size' leaves: the roots of
 * its perfect subtrees, largest (leftmost) first; one per set bit of size.
 */
typedef struct MerkleFrontier
{
	uint64		size;
	int			count;
	uint8		hash[MERKLE_MAX_FRONTIER][AUDIT_HASH_LEN];
} MerkleFrontier;

extern void merkle_root(const uint8 (*leaves)[AUDIT_HASH_LEN], uint64 n,
						uint8 out[AUDIT_HASH_LEN]);

extern void merkle_frontier_init(MerkleFrontier *f);
extern void merkle_frontier_append(MerkleFrontier *f,
								   const uint8 leaf[AUDIT_HASH_LEN]);
extern void merkle_frontier_root(const MerkleFrontier *f,
								 uint8 out[AUDIT_HASH_LEN]);

extern int	merkle_inclusion_path(const uint8 (*leaves)[AUDIT_HASH_LEN],
								  uint64 n, uint64 index,
								  uint8 (*path)[AUDIT_HASH_LEN]);
extern bool merkle_inclusion_verify(const uint8 leaf[AUDIT_HASH_LEN],
									uint64 index, uint64 size,
									const uint8 (*path)[AUDIT_HASH_LEN],
									int pathlen,
									const uint8 root[AUDIT_HASH_LEN]);
extern int	merkle_consistency_path(const uint8 (*leaves)[AUDIT_HASH_LEN],
									uint64 m, uint64 n,
									uint8 (*path)[AUDIT_HASH_LEN]);
extern bool merkle_consistency_verify(uint64 m, uint64 n,
									  const uint8 old_root[AUDIT_HASH_LEN],
									  const uint8 new_root[AUDIT_HASH_LEN],
									  const uint8 (*path)[AUDIT_HASH_LEN],
									  int pathlen);

#endif							/* AUDIT_MERKLE_H */
