/*-------------------------------------------------------------------------
 *
 * event_context.h
 *	  Who and where: the session context stamped on every audit event.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_CONTEXT_H
#define AUDIT_EVENT_CONTEXT_H

#include "postgres.h"

extern void audit_context_fill(Datum *values, bool *isnull);

#endif							/* AUDIT_EVENT_CONTEXT_H */
