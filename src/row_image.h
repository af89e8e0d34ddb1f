/*-------------------------------------------------------------------------
 *
 * row_image.h
 *	  A captured row as jsonb: its key, its image, what an UPDATE changed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ROW_IMAGE_H
#define AUDIT_ROW_IMAGE_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/jsonb.h"

#include "row_meta.h"

/* Which columns of a row an image shows. */
typedef enum RowImagePart
{
	ROW_IMAGE_ALL,				/* every column shown */
	ROW_IMAGE_KEY,				/* the row key */
	ROW_IMAGE_CHANGED			/* the columns flagged in "changed" */
} RowImagePart;

extern Jsonb *audit_row_image(const RowMeta *meta, TupleTableSlot *slot,
							  RowImagePart part, const bool *changed);
extern Jsonb *audit_row_changes(const RowMeta *meta, TupleTableSlot *old_slot,
								TupleTableSlot *new_slot, bool *changed);

#endif							/* AUDIT_ROW_IMAGE_H */
