/*-------------------------------------------------------------------------
 *
 * event_images.c
 *	  Can the row images of an event be encoded?
 *
 * A row image (row_key, old_row, new_row; format version 3) is hashed key
 * by key, each value's commitment salted from the event's row_salt, or,
 * once audit.redact() erased values, from the salts its erasure record
 * keeps (docs/FORMAT.md, "Row images", "Erasure").  The extension only
 * writes objects with a salt for every member; anything else in a stored
 * row, or in a proof, was put there by someone else, and its encoding
 * would fail with an error.  The verifiers ask first, and report such an
 * event as altered instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "event_format.h"
#include "event_images.h"
#include "schema.h"

/*
 * True unless a row image the event's format version hashes cannot be
 * encoded: it is not an object, row_salt is there but not 16 bytes long, a
 * member has no salt (no row_salt, nor one kept by audit.redact() in
 * erasure), or the erasure record is malformed.  values, isnull: natts
 * columns of audit.event, in its order.  The check walks the images as
 * the encoding does, without hashing.
 */
bool
audit_event_images_encodable(const Datum *values, const bool *isnull, int natts)
{
	int			version = audit_event_format(values, isnull, natts);
	const uint8 *row_salt = audit_event_row_salt(values, isnull, natts);
	Jsonb	   *erasure = audit_event_erasure(values, isnull, natts);
	/* A row_salt of another length is wrong, not taken for none. */
	bool		salt_ok = row_salt != NULL || natts < Anum_event_row_salt ||
		isnull[Anum_event_row_salt - 1];

	for (int attnum = Anum_event_row_key; attnum <= Anum_event_new_row; attnum++)
	{
		if (attnum > natts || isnull[attnum - 1] ||
			audit_event_columns[attnum - 1].hashed_since > version)
			continue;
		if (!salt_ok ||
			!audit_row_image_put(NULL, DatumGetJsonbP(values[attnum - 1]),
								 row_salt, erasure, AUDIT_ROW_IMAGE_SIDE(attnum)))
			return false;
	}
	return true;
}
