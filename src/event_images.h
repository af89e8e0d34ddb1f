/*-------------------------------------------------------------------------
 *
 * event_images.h
 *	  Can the row images of an event be encoded (docs/FORMAT.md, "Row
 *	  images")?  Asked by the verifiers before they encode an event.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_IMAGES_H
#define AUDIT_EVENT_IMAGES_H

#include "postgres.h"

/*
 * How verification reports an event whose row images cannot be encoded,
 * word for word as audit_verify does.
 */
#define AUDIT_EVENT_IMAGES_UNENCODABLE \
	"a row image cannot be encoded: it is not an object, or row_salt is not 16 bytes"

extern bool audit_event_images_encodable(const Datum *values,
										 const bool *isnull, int natts);

#endif							/* AUDIT_EVENT_IMAGES_H */
