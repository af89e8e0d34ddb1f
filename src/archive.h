/*-------------------------------------------------------------------------
 *
 * archive.h
 *	  Verifiable retention: archive bundles written by audit.archive()
 *	  (archive.c), and what verification and proofs need to know about
 *	  archived events (archive_check.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ARCHIVE_H
#define AUDIT_ARCHIVE_H

#include "postgres.h"

#include "utils/snapshot.h"

/* audit.archive_directory: where bundles go; empty disables archiving. */
extern char *audit_archive_directory;

/* One row of audit.archive: the blocks an archive operation covered. */
typedef struct AuditArchiveRange
{
	int64		archive_id;
	int64		first_block;
	int64		last_block;
	char	   *bundle;			/* its directory on the server */
} AuditArchiveRange;

extern AuditArchiveRange *audit_archive_ranges(Snapshot snap, int *count);
extern const AuditArchiveRange *audit_archive_find(const AuditArchiveRange *ranges,
												   int count, int64 archive_id);
extern bool audit_archive_covers(const AuditArchiveRange *ranges, int count,
								 int64 archive_id, int64 block_id);
extern bool audit_event_is_archived(const Datum *values, const bool *isnull,
									int natts);
extern bool audit_event_payload_removed(const bool *isnull, int natts);

#endif							/* AUDIT_ARCHIVE_H */
