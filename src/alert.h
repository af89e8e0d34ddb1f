/*-------------------------------------------------------------------------
 *
 * alert.h
 *	  Real-time alerts: the rules of audit.alert_rules, matched against
 *	  each event written, and NOTIFY audit_alert for those that match.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ALERT_H
#define AUDIT_ALERT_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* The channel alerts are sent on. */
#define AUDIT_ALERT_CHANNEL "audit_alert"

/* What a rule watches (audit.alert_rules.kind). */
typedef enum AlertKind
{
	ALERT_DDL_OUTSIDE_WINDOW,
	ALERT_ROLE_CHANGE,
	ALERT_ROWS_ABOVE,
	ALERT_REFUSED_STATEMENT,
	ALERT_FAILED_LOGINS,
	ALERT_TAMPER_ATTEMPT,
	ALERT_VERIFICATION_FAILURE
} AlertKind;

/* One enabled rule, its parameters parsed. */
typedef struct AlertRule
{
	char		name[NAMEDATALEN];
	AlertKind	kind;
	int64		rows;			/* rows_above: more than this many rows */
	int			logins;			/* failed_logins: more than this many ... */
	int			seconds;		/* ... within this many seconds */
	int			from_minute;	/* ddl_outside_window: allowed from ... */
	int			to_minute;		/* ... to (minutes after midnight) */
	int			days;			/* allowed ISO days of week, bit 1 = Monday */
	char		timezone[64];	/* the window's time zone */
} AlertRule;

/* alert_rules.c */
extern const AlertRule *audit_alert_rules(int *nrules);
extern bool audit_alert_rule_parse(const char *kind, Jsonb *params,
								   AlertRule *rule, char **error);
extern const char *audit_alert_kind_name(AlertKind kind);

/* alert_logins.c */
extern int	audit_alert_login_burst(const AlertRule *rule, const char *addr,
									TimestampTz at);

/* alert.c */
extern void audit_alert_note(const char *kind, const Datum *values,
							 const bool *isnull);
extern void audit_alert_verify_failed(int64 problems, const char *first_problem);

#endif							/* AUDIT_ALERT_H */
