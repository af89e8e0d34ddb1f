/*-------------------------------------------------------------------------
 *
 * session_events.h
 *	  Logins, failed logins, logouts and failed statements: the events a
 *	  session's own transactions cannot carry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SESSION_EVENTS_H
#define AUDIT_SESSION_EVENTS_H

extern void audit_session_define_settings(void);
extern void audit_session_events_init(void);
extern void audit_session_record_refusal(const char *message,
										 const char *detail);

#endif							/* AUDIT_SESSION_EVENTS_H */
