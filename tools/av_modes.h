/*-------------------------------------------------------------------------
 *
 * av_modes.h
 *	  audit_verify: what each mode of the command does; each returns the
 *	  exit status.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_MODES_H
#define AV_MODES_H

#include "av.h"
#include "av_checkpoint.h"
#include "av_key.h"

/*
 * av_live.c: verify a live database; with a source (not NULL), that
 * source's trail in a hub (audit_hub)
 */
extern int	av_live_verify(const char *conninfo, const char *source,
						   const AvKeyring *keys, AvCheckpoints *cps);

/* av_export.c: write a bundle from a live database (or a hub's source) */
extern int	av_export(const char *conninfo, const char *source, const char *dir);

/* av_bundle.c: verify a bundle */
extern int	av_bundle_verify(const char *dir, const AvKeyring *keys,
							 AvCheckpoints *cps, int sort_buffer);

/* av_proof.c: verify an inclusion or consistency proof */
extern int	av_proof_verify(const char *path, const AvKeyring *keys,
							const AvCheckpoints *cps);

#endif							/* AV_MODES_H */
