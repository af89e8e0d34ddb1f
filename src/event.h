/*-------------------------------------------------------------------------
 *
 * event.h
 *	  Recording one audit event: what the capture hooks hand over.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_H
#define AUDIT_EVENT_H

#include "postgres.h"

/* What a capture hook knows about an event; the rest is filled in here. */
typedef struct AuditEvent
{
	const char *kind;			/* 'statement' */
	const char *command;		/* command tag */
	const char *object_name;	/* schema-qualified, or NULL */
	const char *statement;		/* SQL text, or NULL */
	bool		has_rows;		/* rows_affected is meaningful */
	int64		rows_affected;
} AuditEvent;

extern bool audit_can_record(void);
extern void audit_event_record(const AuditEvent *event);
extern char *audit_statement_text(const char *source, int location, int len);

#endif							/* AUDIT_EVENT_H */
