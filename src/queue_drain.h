/*-------------------------------------------------------------------------
 *
 * queue_drain.h
 *	  What the sealers and the launcher do with queued events.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_QUEUE_DRAIN_H
#define AUDIT_QUEUE_DRAIN_H

#include "postgres.h"

#include "utils/timestamp.h"

extern void audit_queue_drain_init(void);
extern bool audit_queue_route_pending(MemoryContext cxt, TimestampTz now);
extern void audit_queue_drain(bool reset_caches);
extern void audit_queue_last_drain(void);

#endif							/* AUDIT_QUEUE_DRAIN_H */
