/*-------------------------------------------------------------------------
 *
 * startup_event.h
 *	  The event that records each start of the server, per database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_STARTUP_EVENT_H
#define AUDIT_STARTUP_EVENT_H

extern void audit_startup_event_record(void);

#endif							/* AUDIT_STARTUP_EVENT_H */
