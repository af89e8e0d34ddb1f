/*-------------------------------------------------------------------------
 *
 * event_buffer.h
 *	  Event rows of a batch, held back and inserted many at a time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_BUFFER_H
#define AUDIT_EVENT_BUFFER_H

#include "postgres.h"

#include "access/htup.h"
#include "catalog/indexing.h"
#include "utils/relcache.h"

extern void audit_event_buffer_add(Relation rel, CatalogIndexState indstate,
								   HeapTuple tuple);
extern void audit_event_buffer_flush(Relation rel, CatalogIndexState indstate);
extern void audit_event_buffer_flush_all(Relation rel,
										 CatalogIndexState indstate);
extern void audit_event_buffer_forget(void);

#endif							/* AUDIT_EVENT_BUFFER_H */
