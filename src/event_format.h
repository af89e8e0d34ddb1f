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
#include "schema.h"

/* Length of the salt of one row image member's commitment. */
#define AUDIT_MEMBER_SALT_LEN	16

/* The side byte of a row image column's commitments: 'k', 'o' or 'n'. */
#define AUDIT_ROW_IMAGE_SIDE(attnum) \
	((attnum) == Anum_event_row_key ? 'k' : \
	 (attnum) == Anum_event_old_row ? 'o' : 'n')

extern int	audit_event_format(const Datum *values, const bool *isnull,
							   int natts);
extern bool audit_event_has_unhashed(const Datum *values, const bool *isnull,
									 int natts);
extern void audit_event_encode(StringInfo buf, const Datum *values,
							   const bool *isnull, int natts);
extern void audit_jsonb_value_text(StringInfo out, JsonbValue *v);
extern void audit_row_member_salt(const uint8 *row_salt, char side,
								  const char *key, int keylen,
								  StringInfo scratch,
								  uint8 out[AUDIT_MEMBER_SALT_LEN]);
extern void audit_row_member_commitment(const uint8 salt[AUDIT_MEMBER_SALT_LEN],
										JsonbValue *value, StringInfo scratch,
										uint8 out[AUDIT_HASH_LEN]);
extern bool audit_row_image_put(StringInfo buf, Jsonb *image,
								const uint8 *row_salt, Jsonb *erasure,
								char side);
extern const uint8 *audit_event_row_salt(const Datum *values,
										 const bool *isnull, int natts);
extern Jsonb *audit_event_erasure(const Datum *values, const bool *isnull,
								  int natts);
extern void audit_event_leaf_hash(const Datum *values, const bool *isnull,
								  int natts, uint8 out[AUDIT_HASH_LEN]);

#endif							/* AUDIT_EVENT_FORMAT_H */
