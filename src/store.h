/*-------------------------------------------------------------------------
 *
 * store.h
 *	  Where audit_ext's data lives: finding its relations in this database
 *	  and writing rows to them without SPI and without ACL checks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_STORE_H
#define AUDIT_STORE_H

#include "postgres.h"

#include "storage/lockdefs.h"
#include "utils/relcache.h"

typedef enum AuditRel
{
	AUDIT_REL_EVENT,
	AUDIT_REL_TXN,
	AUDIT_REL_BLOCK,
	AUDIT_REL_CHAIN,
	AUDIT_REL_EVENT_SEQ,
	AUDIT_REL_POSITION_SEQ,
	AUDIT_REL_EVENT_TXID_IDX,
	AUDIT_REL_TXN_POSITION_IDX,
	AUDIT_REL_BLOCK_PKEY,
	AUDIT_REL_EVENT_PKEY,
	AUDIT_REL_TXN_PKEY,
	AUDIT_REL_BLOCK_LAST_POSITION_IDX,
	AUDIT_REL_ROW_END,			/* optional: since 0.6 */
	AUDIT_REL_COUNT
} AuditRel;

extern bool audit_store_available(void);
extern Oid	audit_store_namespace(void);
extern Oid	audit_store_relid(AuditRel which);
extern bool audit_store_has(AuditRel which);
extern Relation audit_store_open(AuditRel which, LOCKMODE lockmode);
extern void audit_store_insert(Relation rel, const Datum *values,
							   const bool *isnull);
extern int	audit_store_event_format(Relation rel);
extern int64 audit_store_next_event_id(void);
extern int64 audit_store_next_position(void);
extern int64 audit_store_last_position(void);

#endif							/* AUDIT_STORE_H */
