/*-------------------------------------------------------------------------
 *
 * event_format.h
 *	  The canonical, versioned binary encoding of an audit event and its
 *	  leaf hash (docs/FORMAT.md).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_FORMAT_H
#define AUDIT_EVENT_FORMAT_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "hash.h"

extern int	audit_event_format(const Datum *values, const bool *isnull,
							   int natts);
extern bool audit_event_has_unhashed(const Datum *values, const bool *isnull,
									 int natts);
extern void audit_event_encode(StringInfo buf, const Datum *values,
							   const bool *isnull, int natts);
extern void audit_jsonb_value_text(StringInfo out, JsonbValue *v);
extern void audit_event_leaf_hash(const Datum *values, const bool *isnull,
								  int natts, uint8 out[AUDIT_HASH_LEN]);

#endif							/* AUDIT_EVENT_FORMAT_H */
