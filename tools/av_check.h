/*-------------------------------------------------------------------------
 *
 * av_check.h
 *	  audit_verify: the verification walk over a trail, whatever it is
 *	  read from (a database, a bundle).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_CHECK_H
#define AV_CHECK_H

#include "av.h"
#include "av_checkpoint.h"
#include "av_key.h"

/*
 * Where a trail is read from.  Blocks come in block_id order, transactions
 * in position order, events by their transaction's position then event id,
 * and then the events whose transaction has no row (orphan set).  Each
 * next_* returns false at the end.
 */
typedef struct AvSource
{
	void	   *arg;
	bool		(*next_block) (void *arg, AvBlock *out);
	bool		(*next_txn) (void *arg, AvTxn *out);
	bool		(*next_event) (void *arg, AvEventRec *out);
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	AvArchives	archives;		/* sorted by archive_id */
	const char *name;			/* for the summary: "database", "bundle DIR" */
} AvSource;

extern int	av_check_trail(AvSource *src, const AvKeyring *keys,
						   AvCheckpoints *cps);

#endif							/* AV_CHECK_H */
