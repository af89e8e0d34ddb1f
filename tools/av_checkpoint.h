/*-------------------------------------------------------------------------
 *
 * av_checkpoint.h
 *	  audit_verify: checkpoints saved outside the database (--checkpoint),
 *	  as audit.digest() returns them, that the trail must still extend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_CHECKPOINT_H
#define AV_CHECKPOINT_H

#include "av.h"
#include "av_json.h"
#include "av_key.h"

typedef struct AvCheckpoint
{
	char	   *source;			/* file it came from, for messages */
	int64		block_id;		/* = tree size */
	uint8		root_hash[AUDIT_HASH_LEN];
	bool		has_chain_id;
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	bool		has_signature;
	size_t		signature_len;
	uint8		signature[AV_SIGNATURE_LEN];
	bool		has_key_id;
	size_t		key_id_len;
	char		key_id[AV_KEY_ID_MAX + 1];
	bool		has_block_hash;
	uint8		block_hash[AUDIT_HASH_LEN];
	bool		seen;			/* the walk reached its block */
} AvCheckpoint;

typedef struct AvCheckpoints
{
	AvCheckpoint *items;
	int			n;
} AvCheckpoints;

extern void av_checkpoint_from_json(AvCheckpoint *c, json_object *obj,
									const char *ctx);
extern void av_checkpoints_load(AvCheckpoints *cps, const char *path);
extern void av_checkpoints_add_json(AvCheckpoints *cps, json_object *doc,
									const char *source);
extern bool av_checkpoint_check_signature(const AvCheckpoint *c,
										  const AvKeyring *keys,
										  const char *what);
extern int	av_checkpoints_check_signatures(const AvCheckpoints *cps,
											const AvKeyring *keys);

#endif							/* AV_CHECKPOINT_H */
