/*-------------------------------------------------------------------------
 *
 * merkle.c
 *	  RFC 6962 / RFC 9162 Merkle tree hashing and proofs.
 *
 * Roots are computed through the frontier (the compact range of an
 * append-only tree), which gives exactly RFC 6962's MTH: splitting at the
 * largest power of two below n is the binary decomposition of n.  Proofs
 * follow RFC 6962 section 2.1 (generation) and RFC 9162 section 2.1
 * (verification).  The test vectors of test/ check all of it.  Also
 * compiled into the offline verifier (-DFRONTEND).
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "merkle.h"

static void
copy_hash(uint8 *dst, const uint8 *src)
{
	memcpy(dst, src, AUDIT_HASH_LEN);
}

static bool
hash_equal(const uint8 *a, const uint8 *b)
{
	return memcmp(a, b, AUDIT_HASH_LEN) == 0;
}

void
merkle_frontier_init(MerkleFrontier *f)
{
	f->size = 0;
	f->count = 0;
}

/*
 * Append a leaf: push it, then merge equal-sized subtrees, once per
 * trailing zero bit of the new size.
 */
void
merkle_frontier_append(MerkleFrontier *f, const uint8 leaf[AUDIT_HASH_LEN])
{
	uint64		s;

	/* 2^64 leaves would be needed to overflow. */
	Assert(f->count < MERKLE_MAX_FRONTIER);
	copy_hash(f->hash[f->count++], leaf);
	f->size++;
	for (s = f->size; (s & 1) == 0; s >>= 1)
	{
		audit_hash_node(f->hash[f->count - 2], f->hash[f->count - 1],
						f->hash[f->count - 2]);
		f->count--;
	}
}

/*
 * MTH of the leaves appended so far; SHA-256 of nothing for an empty tree.
 */
void
merkle_frontier_root(const MerkleFrontier *f, uint8 out[AUDIT_HASH_LEN])
{
	uint8		r[AUDIT_HASH_LEN];

	if (f->count == 0)
	{
		audit_hash_empty(out);
		return;
	}
	copy_hash(r, f->hash[f->count - 1]);
	for (int i = f->count - 2; i >= 0; i--)
		audit_hash_node(f->hash[i], r, r);
	copy_hash(out, r);
}

void
merkle_root(const uint8 (*leaves)[AUDIT_HASH_LEN], uint64 n,
			uint8 out[AUDIT_HASH_LEN])
{
	MerkleFrontier f;

	merkle_frontier_init(&f);
	for (uint64 i = 0; i < n; i++)
		merkle_frontier_append(&f, leaves[i]);
	merkle_frontier_root(&f, out);
}

/* The largest power of two strictly below n (n > 1). */
static uint64
split_point(uint64 n)
{
	uint64		k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/*
 * PATH(m, D[n]) of RFC 6962 2.1.1, leaf to root; returns its length.
 */
int
merkle_inclusion_path(const uint8 (*leaves)[AUDIT_HASH_LEN], uint64 n,
					  uint64 index, uint8 (*path)[AUDIT_HASH_LEN])
{
	uint64		k;
	int			len;

	if (n <= 1)
		return 0;
	k = split_point(n);
	if (index < k)
	{
		len = merkle_inclusion_path(leaves, k, index, path);
		merkle_root(leaves + k, n - k, path[len]);
	}
	else
	{
		len = merkle_inclusion_path(leaves + k, n - k, index - k, path);
		merkle_root(leaves, k, path[len]);
	}
	return len + 1;
}

/*
 * Verify an inclusion proof, RFC 9162 2.1.3.2.
 */
bool
merkle_inclusion_verify(const uint8 leaf[AUDIT_HASH_LEN], uint64 index,
						uint64 size, const uint8 (*path)[AUDIT_HASH_LEN],
						int pathlen, const uint8 root[AUDIT_HASH_LEN])
{
	uint64		fn = index;
	uint64		sn;
	uint8		r[AUDIT_HASH_LEN];

	if (index >= size)
		return false;
	sn = size - 1;
	copy_hash(r, leaf);
	for (int i = 0; i < pathlen; i++)
	{
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn)
		{
			audit_hash_node(path[i], r, r);
			while (!(fn & 1) && fn != 0)
			{
				fn >>= 1;
				sn >>= 1;
			}
		}
		else
			audit_hash_node(r, path[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_equal(r, root);
}

/* SUBPROOF(m, D[n], b) of RFC 6962 2.1.2; returns its length. */
static int
consistency_subproof(const uint8 (*leaves)[AUDIT_HASH_LEN], uint64 m,
					 uint64 n, bool complete, uint8 (*path)[AUDIT_HASH_LEN])
{
	uint64		k;
	int			len;

	if (m == n)
	{
		if (complete)
			return 0;
		merkle_root(leaves, n, path[0]);
		return 1;
	}
	k = split_point(n);
	if (m <= k)
	{
		len = consistency_subproof(leaves, m, k, complete, path);
		merkle_root(leaves + k, n - k, path[len]);
	}
	else
	{
		len = consistency_subproof(leaves + k, m - k, n - k, false, path);
		merkle_root(leaves, k, path[len]);
	}
	return len + 1;
}

/*
 * PROOF(m, D[n]): that the tree of the first m leaves is a prefix of the
 * tree of n leaves (0 < m <= n); returns its length.
 */
int
merkle_consistency_path(const uint8 (*leaves)[AUDIT_HASH_LEN], uint64 m,
						uint64 n, uint8 (*path)[AUDIT_HASH_LEN])
{
	if (m == 0 || m > n)
		return 0;
	return consistency_subproof(leaves, m, n, true, path);
}

/*
 * Verify a consistency proof, RFC 9162 2.1.4.2.
 */
bool
merkle_consistency_verify(uint64 m, uint64 n,
						  const uint8 old_root[AUDIT_HASH_LEN],
						  const uint8 new_root[AUDIT_HASH_LEN],
						  const uint8 (*path)[AUDIT_HASH_LEN], int pathlen)
{
	uint64		fn;
	uint64		sn;
	uint8		fr[AUDIT_HASH_LEN];
	uint8		sr[AUDIT_HASH_LEN];
	int			i = 0;

	if (m == 0 || m > n)
		return false;
	if (m == n)
		return pathlen == 0 && hash_equal(old_root, new_root);
	if (pathlen == 0)
		return false;

	fn = m - 1;
	sn = n - 1;
	/* When m is a power of two, the old root itself starts the path. */
	if ((m & (m - 1)) == 0)
		copy_hash(fr, old_root);
	else
		copy_hash(fr, path[i++]);
	copy_hash(sr, fr);
	while (fn & 1)
	{
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < pathlen; i++)
	{
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn)
		{
			audit_hash_node(path[i], fr, fr);
			audit_hash_node(path[i], sr, sr);
			while (!(fn & 1) && fn != 0)
			{
				fn >>= 1;
				sn >>= 1;
			}
		}
		else
			audit_hash_node(sr, path[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_equal(fr, old_root) && hash_equal(sr, new_root);
}
