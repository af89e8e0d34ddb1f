/*-------------------------------------------------------------------------
 *
 * event_context.h
 *	  Who and where: the session context stamped on every audit event, and
 *	  the application context a pooled connection sets (audit.app_user,
 *	  audit.context, audit.set_context()).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_CONTEXT_H
#define AUDIT_EVENT_CONTEXT_H

#include "postgres.h"

#include "event.h"

extern char *audit_app_user;
extern char *audit_app_context;

extern void audit_context_capture(AuditContext *ctx);
extern void audit_context_define_settings(void);

#endif							/* AUDIT_EVENT_CONTEXT_H */
