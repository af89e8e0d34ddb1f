/*-------------------------------------------------------------------------
 *
 * event_queue.h
 *	  The separate path for events that cannot be written in the audited
 *	  transaction (logins, failed logins, logouts, errors, statements of
 *	  read-only transactions): a shared-memory queue that the sealer of the
 *	  event's database empties into the trail in a transaction of its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_QUEUE_H
#define AUDIT_EVENT_QUEUE_H

#include "postgres.h"

#include "event.h"

/*
 * One queued event, as a producer hands it over and as a consumer reads it
 * back.  The role ids stand in for role names that the producer could not
 * look up (an error report may not read the catalogs): the sealer looks
 * them up when the name is NULL.
 */
typedef struct AuditQueueEntry
{
	AuditEvent	event;
	AuditContext ctx;
	Oid			dbid;			/* target database, or InvalidOid */
	const char *dbname;			/* its name, for the launcher to resolve */
	Oid			session_roleid; /* when ctx.session_role is NULL */
	Oid			effective_roleid;	/* when ctx.effective_role is NULL */
} AuditQueueEntry;

/* A consumer's hold on one queued entry. */
typedef struct AuditQueueTicket
{
	int			slot;
	uint64		generation;
	Oid			dbid;
	char		dbname[NAMEDATALEN];
} AuditQueueTicket;

extern int	audit_queue_wait_timeout;
extern int	audit_queue_size;

extern void audit_queue_define_settings(void);
extern void audit_queue_init(void);

/* Producers: any process, never an ERROR. */
extern bool audit_queue_event(const AuditEvent *event, const AuditContext *ctx,
							  Oid dbid, const char *dbname, bool wait);
extern bool audit_queue_entry(const AuditQueueEntry *entry, bool wait);
extern bool audit_queue_entry_deferred(const AuditQueueEntry *entry);
extern void audit_queue_wait_deferred(void);
extern void audit_queue_unaudited(const AuditQueueEntry *entry, bool can_scan);
extern void audit_queue_log_entry(const AuditQueueEntry *entry,
								  const char *reason, bool can_scan);

/* Consumers: the sealers and the launcher. */
extern int	audit_queue_capacity(void);
extern void audit_queue_consumer_init(void);
extern int	audit_queue_claim(Oid dbid, AuditQueueTicket *tickets, int max);
extern int	audit_queue_pending(AuditQueueTicket *tickets, int max);
extern bool audit_queue_claim_one(const AuditQueueTicket *ticket);
extern bool audit_queue_route(const AuditQueueTicket *ticket, Oid dbid);
extern void audit_queue_read(const AuditQueueTicket *ticket,
							 AuditQueueEntry *entry);
extern void audit_queue_release(const AuditQueueTicket *tickets, int n);
extern void audit_queue_unclaim_all(void);

#endif							/* AUDIT_EVENT_QUEUE_H */
