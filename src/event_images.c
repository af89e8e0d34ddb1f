/*-------------------------------------------------------------------------
 *
 * event_images.c
 *	  Can the row images of an event be encoded?
 *
 * A row image (row_key, old_row, new_row; format version 3) is hashed key
 * by key, each value's commitment salted from the event's row_salt
 * (docs/FORMAT.md, "Row images").  The extension only writes objects, with
 * a 16-byte salt; anything else in a stored row, or in a proof, was put
 * there by someone else, and its encoding would fail with an error.  The
 * verifiers ask first, and report such an event as altered instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "event_format.h"
#include "event_images.h"
#include "schema.h"

/* Is the event's row_salt there and 16 bytes long? */
static bool
has_row_salt(const Datum *values, const bool *isnull, int natts)
{
	return natts >= Anum_event_row_salt && !isnull[Anum_event_row_salt - 1] &&
		VARSIZE_ANY_EXHDR(DatumGetByteaPP(values[Anum_event_row_salt - 1])) ==
		AUDIT_ROW_SALT_LEN;
}

/*
 * True unless a row image the event's format version hashes is not an
 * object, or the event has no 16-byte row_salt to salt it with.  values,
 * isnull: natts columns of audit.event, in its order.
 */
bool
audit_event_images_encodable(const Datum *values, const bool *isnull, int natts)
{
	int			version = audit_event_format(values, isnull, natts);

	for (int attnum = Anum_event_row_key; attnum <= Anum_event_new_row; attnum++)
	{
		if (attnum > natts || isnull[attnum - 1] ||
			audit_event_columns[attnum - 1].hashed_since > version)
			continue;
		if (!has_row_salt(values, isnull, natts) ||
			!JB_ROOT_IS_OBJECT(DatumGetJsonbP(values[attnum - 1])))
			return false;
	}
	return true;
}
