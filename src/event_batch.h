/*-------------------------------------------------------------------------
 *
 * event_batch.h
 *	  Keeping audit.event and its indexes open across a transaction's
 *	  events, and a statement's row events written together.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_BATCH_H
#define AUDIT_EVENT_BATCH_H

#include "postgres.h"

#include "utils/relcache.h"

extern int	audit_event_batch_begin(void);
extern void audit_event_batch_end(int token, bool clean);
extern Relation audit_event_rel_open(void);
extern void audit_event_rel_insert(Relation rel, const Datum *values,
								   const bool *isnull);
extern void audit_event_rel_close(Relation rel);
extern int	audit_event_utility_begin(void);
extern void audit_event_utility_end(int token);

#endif							/* AUDIT_EVENT_BATCH_H */
