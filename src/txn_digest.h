/*-------------------------------------------------------------------------
 *
 * txn_digest.h
 *	  Per-transaction digests: the Merkle root of a transaction's events,
 *	  written with a commit position at PRE_COMMIT.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_TXN_DIGEST_H
#define AUDIT_TXN_DIGEST_H

#include "postgres.h"

#include "hash.h"

extern void audit_txn_digest_init(void);
extern void audit_txn_add_event(Oid event_relid, const uint8 leaf[AUDIT_HASH_LEN]);

#endif							/* AUDIT_TXN_DIGEST_H */
