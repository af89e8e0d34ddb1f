/*-------------------------------------------------------------------------
 *
 * av_archive.c
 *	  audit_verify: the archives of a trail (docs/FORMAT.md, "Archived
 *	  events"), read from audit.archives or a bundle's archives.jsonl.
 *
 * An event whose archive_id is set had its payload removed by
 * audit.archive(); its stored leaf hash stands for it, which is only
 * legitimate inside the blocks that archive covers.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

void
av_archives_add(AvArchives *a, int64 archive_id, int64 first_block,
				int64 last_block)
{
	a->items = av_realloc(a->items, sizeof(AvArchive) * (a->n + 1));
	a->items[a->n].archive_id = archive_id;
	a->items[a->n].first_block = first_block;
	a->items[a->n].last_block = last_block;
	a->n++;
}

static int
archive_cmp(const void *pa, const void *pb)
{
	const AvArchive *a = pa;
	const AvArchive *b = pb;

	return a->archive_id < b->archive_id ? -1 : a->archive_id > b->archive_id ? 1 : 0;
}

void
av_archives_sort(AvArchives *a)
{
	if (a->n > 1)
		qsort(a->items, a->n, sizeof(AvArchive), archive_cmp);
}

/* Does archive archive_id exist and cover block block_id (-1: unsealed)? */
bool
av_archives_cover(const AvArchives *a, int64 archive_id, int64 block_id)
{
	AvArchive	key = {archive_id, 0, 0};
	const AvArchive *found;

	if (a->n == 0 || block_id < 1)
		return false;
	found = bsearch(&key, a->items, a->n, sizeof(AvArchive), archive_cmp);
	return found != NULL && block_id >= found->first_block &&
		block_id <= found->last_block;
}

void
av_archives_free(AvArchives *a)
{
	free(a->items);
	memset(a, 0, sizeof(*a));
}
