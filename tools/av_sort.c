/*-------------------------------------------------------------------------
 *
 * av_sort.c
 *	  audit_verify: an external merge sort of checked events.
 *
 * A bundle lists events in event id order, but the walk needs them grouped
 * by transaction, in commit-position order.  Events are checked as they
 * are read and reduced to fixed-size records (AvEventRec); up to
 * buffer_records are sorted in memory, more are written to temporary files
 * as sorted runs and merged back.  Order: events of transactions by
 * position, then event id; orphans (no transaction) last, by txid, event id.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_sort.h"

struct AvSorter
{
	AvEventRec *buf;
	size_t		n;
	size_t		cap;
	size_t		next;			/* reading the in-memory buffer */
	FILE	  **runs;
	AvEventRec *heads;			/* the next record of each run */
	bool	   *has_head;
	int			nruns;
	bool		finished;
};

static int
cmp_int64(int64 a, int64 b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int
rec_cmp(const void *pa, const void *pb)
{
	const AvEventRec *a = pa;
	const AvEventRec *b = pb;
	int			c;

	if (a->orphan != b->orphan)
		return a->orphan ? 1 : -1;
	if (!a->orphan && (c = cmp_int64(a->position, b->position)) != 0)
		return c;
	if (a->orphan && a->txid != b->txid)
		return a->txid < b->txid ? -1 : 1;
	return cmp_int64(a->event_id, b->event_id);
}

AvSorter *
av_sorter_new(int buffer_records)
{
	AvSorter   *s = av_malloc(sizeof(AvSorter));

	memset(s, 0, sizeof(*s));
	s->cap = (size_t) Max(buffer_records, 2);
	s->buf = av_malloc(sizeof(AvEventRec) * s->cap);
	return s;
}

/* Sort the buffer and write it out as one more run. */
static void
spill(AvSorter *s)
{
	FILE	   *fp = tmpfile();

	if (fp == NULL)
		av_fatal("could not create a temporary file to sort events: %m");
	qsort(s->buf, s->n, sizeof(AvEventRec), rec_cmp);
	if (fwrite(s->buf, sizeof(AvEventRec), s->n, fp) != s->n || fflush(fp) != 0)
		av_fatal("could not write a temporary file to sort events: %m");
	rewind(fp);
	s->runs = av_realloc(s->runs, sizeof(FILE *) * (s->nruns + 1));
	s->runs[s->nruns++] = fp;
	s->n = 0;
}

void
av_sorter_add(AvSorter *s, const AvEventRec *rec)
{
	if (s->n == s->cap)
		spill(s);
	s->buf[s->n++] = *rec;
}

static void
read_head(AvSorter *s, int i)
{
	size_t		got = fread(&s->heads[i], sizeof(AvEventRec), 1, s->runs[i]);

	if (got != 1 && ferror(s->runs[i]))
		av_fatal("could not read a temporary file to sort events: %m");
	s->has_head[i] = (got == 1);
}

/* Done adding: sort what is in memory, or get the runs ready to merge. */
void
av_sorter_finish(AvSorter *s)
{
	s->finished = true;
	if (s->nruns == 0)
	{
		qsort(s->buf, s->n, sizeof(AvEventRec), rec_cmp);
		return;
	}
	if (s->n > 0)
		spill(s);
	s->heads = av_malloc(sizeof(AvEventRec) * s->nruns);
	s->has_head = av_malloc(sizeof(bool) * s->nruns);
	for (int i = 0; i < s->nruns; i++)
		read_head(s, i);
}

/* The next record in order; false when all were returned. */
bool
av_sorter_next(AvSorter *s, AvEventRec *out)
{
	int			best = -1;

	if (s->nruns == 0)
	{
		if (s->next >= s->n)
			return false;
		*out = s->buf[s->next++];
		return true;
	}
	for (int i = 0; i < s->nruns; i++)
		if (s->has_head[i] &&
			(best < 0 || rec_cmp(&s->heads[i], &s->heads[best]) < 0))
			best = i;
	if (best < 0)
		return false;
	*out = s->heads[best];
	read_head(s, best);
	return true;
}

int
av_sorter_runs(const AvSorter *s)
{
	return s->nruns;
}

void
av_sorter_free(AvSorter *s)
{
	for (int i = 0; i < s->nruns; i++)
		fclose(s->runs[i]);
	free(s->runs);
	free(s->heads);
	free(s->has_head);
	free(s->buf);
	free(s);
}
