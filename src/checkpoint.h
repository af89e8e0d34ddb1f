/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Checkpoints as jsonb: audit.digest() writes them, verification reads
 *	  them back.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHECKPOINT_H
#define AUDIT_CHECKPOINT_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/snapshot.h"

#include "verify.h"

extern char *audit_checkpoint_json(Snapshot snap, int64 block_id);
extern Jsonb *audit_checkpoint_current(void);
extern SavedCheckpoint *audit_checkpoints_parse(Jsonb *digests, int *count);

/* jsonb field helpers, also used by the proofs */
extern JsonbValue *audit_json_field(JsonbContainer *obj, const char *key,
									enum jbvType type, const char *what);
extern bool audit_json_present(JsonbContainer *obj, const char *key);
extern int64 audit_json_int64(JsonbContainer *obj, const char *key, const char *what);
extern void audit_json_hash(JsonbContainer *obj, const char *key, const char *what,
							uint8 *out, int len);
extern bool audit_hex_span(const char **s, int *slen);
extern void audit_parse_hex(const char *s, int slen, const char *what,
							const char *key, uint8 *out, int len);
extern void audit_json_put_hex(StringInfo buf, const char *key,
							   const uint8 *bytes, int len);
extern void audit_json_put_int(StringInfo buf, const char *key, int64 value);
extern void audit_json_put_text(StringInfo buf, const char *key, const char *value);
extern void audit_json_put_raw(StringInfo buf, const char *key, const char *json);

#endif							/* AUDIT_CHECKPOINT_H */
