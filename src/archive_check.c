/*-------------------------------------------------------------------------
 *
 * archive_check.c
 *	  What verification and proofs need to know of archived events
 *	  (docs/FORMAT.md, "Archived events").
 *
 * An event whose archive_id is set had its payload removed by
 * audit.archive(): it is not encoded again, its stored leaf hash stands for
 * it in its transaction's tree.  That is only legitimate inside the blocks
 * the audit.archive row of that archive_id covers, and with every hashed
 * column but event_id and txid NULL; anything else is payload removed (or
 * kept) outside an archive, which verification reports as an altered
 * event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "archive.h"
#include "schema.h"

/* The columns of audit.archive read here (sql/0.4/30_archive.sql). */
#define Anum_archive_archive_id		1
#define Anum_archive_first_block	2
#define Anum_archive_last_block		3
#define Anum_archive_bundle			5

static int
archive_range_cmp(const void *a, const void *b)
{
	int64		x = ((const AuditArchiveRange *) a)->archive_id;
	int64		y = ((const AuditArchiveRange *) b)->archive_id;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int64
int8_col(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

static char *
text_col(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Every row of audit.archive under snap, by archive_id; none while the
 * extension is not updated to a version that has the table.
 */
AuditArchiveRange *
audit_archive_ranges(Snapshot snap, int *count)
{
	Oid			nsp = get_namespace_oid("audit", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("archive", nsp) : InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AuditArchiveRange *ranges = NULL;
	int			cap = 0;

	*count = 0;
	if (!OidIsValid(relid))
		return NULL;
	rel = table_open(relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if (*count == cap)
		{
			cap = Max(8, cap * 2);
			ranges = ranges ? repalloc(ranges, sizeof(*ranges) * cap)
				: palloc(sizeof(*ranges) * cap);
		}
		ranges[*count].archive_id = int8_col(slot, Anum_archive_archive_id);
		ranges[*count].first_block = int8_col(slot, Anum_archive_first_block);
		ranges[*count].last_block = int8_col(slot, Anum_archive_last_block);
		ranges[*count].bundle = text_col(slot, Anum_archive_bundle);
		(*count)++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	if (*count > 1)
		qsort(ranges, *count, sizeof(*ranges), archive_range_cmp);
	return ranges;
}

/* The archive archive_id, or NULL. */
const AuditArchiveRange *
audit_archive_find(const AuditArchiveRange *ranges, int count, int64 archive_id)
{
	AuditArchiveRange key = {archive_id, 0, 0, NULL};

	if (count == 0)
		return NULL;
	return bsearch(&key, ranges, count, sizeof(*ranges), archive_range_cmp);
}

/* Does archive archive_id exist and cover block block_id (-1: unsealed)? */
bool
audit_archive_covers(const AuditArchiveRange *ranges, int count,
					 int64 archive_id, int64 block_id)
{
	const AuditArchiveRange *r = audit_archive_find(ranges, count, archive_id);

	return r != NULL && block_id >= r->first_block && block_id <= r->last_block;
}

/* Is the event (a row of natts columns) marked archived? */
bool
audit_event_is_archived(const Datum *values, const bool *isnull, int natts)
{
	(void) values;
	return natts >= Anum_event_archive_id && !isnull[Anum_event_archive_id - 1];
}

/* Is every hashed column but event_id and txid NULL, as archiving leaves it? */
bool
audit_event_payload_removed(const bool *isnull, int natts)
{
	for (int i = 0; i < natts; i++)
	{
		int			attnum = i + 1;

		if (attnum == Anum_event_event_id || attnum == Anum_event_txid)
			continue;
		if (audit_event_columns[i].hashed_since > 0 && !isnull[i])
			return false;
	}
	return true;
}
