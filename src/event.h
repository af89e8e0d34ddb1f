/*-------------------------------------------------------------------------
 *
 * event.h
 *	  Recording one audit event: what the capture hooks hand over, and the
 *	  session context stamped on it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_H
#define AUDIT_EVENT_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* A row event's images (row_image.c); NULL members are SQL NULL. */
typedef struct AuditRowImages
{
	Jsonb	   *row_key;
	Jsonb	   *old_row;
	Jsonb	   *new_row;
	Jsonb	   *changed_columns;
} AuditRowImages;

/* What a capture hook knows about an event; the rest is filled in here. */
typedef struct AuditEvent
{
	const char *kind;			/* 'statement', 'login', 'error', ... */
	const char *class_name;		/* 'ddl', 'write', ... or NULL */
	const char *command;		/* command tag */
	const char *object_name;	/* schema-qualified, or NULL */
	const char *statement;		/* SQL text, or NULL */
	bool		has_rows;		/* rows_affected is meaningful */
	int64		rows_affected;
	const char *parameters;		/* JSON array text, or NULL */
	const char *objects;		/* JSON array text, or NULL */
	const char *sqlstate;		/* five characters, or NULL */
	const char *message;		/* error message, or NULL */
	const char *detail;			/* JSON object text, or NULL */
	const AuditRowImages *row;	/* row events only; never queued */
} AuditEvent;

/*
 * Who, where and when.  For a statement it is read from the session that
 * runs it (audit_context_capture); an event that reaches the trail through
 * the event queue carries the context of the session it happened in.
 */
typedef struct AuditContext
{
	TimestampTz occurred_at;
	const char *session_role;
	const char *effective_role;
	const char *client_addr;	/* text form, or NULL (Unix socket, none) */
	int32		client_port;	/* -1: none */
	const char *application_name;
	int32		backend_pid;
	const char *database;
	const char *app_user;		/* audit.app_user, or NULL when empty */
	const char *context;		/* audit.context (JSON object text), or NULL */
	int64		statement_id;	/* 0: see audit_event_record[_as]() */
	int32		nesting_level;	/* -1: none */
} AuditContext;

extern bool audit_can_record(void);
extern void audit_event_record(const AuditEvent *event);
extern int64 audit_event_record_row(const AuditEvent *event,
									 TimestampTz occurred_at);
extern void audit_event_record_as(const AuditEvent *event,
								  const AuditContext *ctx);
extern char *audit_statement_text(const char *source, int location, int len);
extern bytea *audit_random_bytea(int len);
extern bytea *audit_row_salt(void);
extern char *audit_cap_text(const char *text, int max_bytes, const char *what);

extern int	audit_statement_max_bytes;

#endif							/* AUDIT_EVENT_H */
