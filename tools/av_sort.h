/*-------------------------------------------------------------------------
 *
 * av_sort.h
 *	  audit_verify: sorting checked events into the walk's order, in
 *	  bounded memory (sorted runs on disk, merged).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_SORT_H
#define AV_SORT_H

#include "av.h"

typedef struct AvSorter AvSorter;

extern AvSorter *av_sorter_new(int buffer_records);
extern void av_sorter_add(AvSorter *s, const AvEventRec *rec);
extern void av_sorter_finish(AvSorter *s);
extern bool av_sorter_next(AvSorter *s, AvEventRec *out);
extern int	av_sorter_runs(const AvSorter *s);
extern void av_sorter_free(AvSorter *s);

#endif							/* AV_SORT_H */
