/*-------------------------------------------------------------------------
 *
 * event_store.h
 *	  Where audit events live: finding audit.event in this database and
 *	  writing rows to it without SPI and without ACL checks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_STORE_H
#define AUDIT_EVENT_STORE_H

#include "postgres.h"

#include "storage/lockdefs.h"
#include "utils/relcache.h"

extern bool audit_store_available(void);
extern int64 audit_store_next_event_id(void);
extern Relation audit_store_open_events(LOCKMODE lockmode);
extern void audit_store_insert(const Datum *values, const bool *isnull);

#endif							/* AUDIT_EVENT_STORE_H */
