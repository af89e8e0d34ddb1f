/*-------------------------------------------------------------------------
 *
 * alert.c
 *	  Real-time alerts: each event written (event.c) is matched against the
 *	  enabled rules of audit.alert_rules (alert_rules.c), and a match sends
 *	  NOTIFY audit_alert with a JSON payload.
 *
 * The notification is queued in the transaction that writes the event, so
 * PostgreSQL delivers it at commit and drops it on rollback (of the
 * transaction or of the subtransaction that wrote the event): an alert
 * goes out exactly when its event is in the trail.  Events that survive a
 * rollback (errors, failed logins, ...) reach the trail through the event
 * queue; the sealer's transaction writes them, and its commit sends their
 * alerts.  Rules are kinds matched in C, with parameters: no SQL runs per
 * event, and with no enabled rule an event costs one test.
 *
 * A verification that finds problems (audit.verify(), verify_report())
 * sends its alert from the verifying transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "alert.h"
#include "event.h"
#include "event_context.h"
#include "schema.h"

/* NOTIFY's limit on a payload (async.c). */
#define ALERT_PAYLOAD_MAX	(BLCKSZ - NAMEDATALEN - 128)

/* Texts longer than this are cut; shorter if the payload is still too long. */
#define ALERT_FIELD_MAX		2048

/* What the rules look at, and the payload shows, of one event. */
typedef struct AlertFacts
{
	int64		event_id;		/* 0: not an event (a verification) */
	const char *kind;
	const char *class_name;
	const char *command;
	const char *object_name;
	const char *session_role;
	const char *client_addr;
	TimestampTz occurred_at;
	const char *statement;
	const char *sqlstate;
	const char *message;
	bool		has_rows;
	int64		rows_affected;
} AlertFacts;

static const char *
text_column(const Datum *values, const bool *isnull, int attnum)
{
	return isnull[attnum - 1] ? NULL : TextDatumGetCString(values[attnum - 1]);
}

/* The rest of the facts of an event row being written (its kind is read). */
static void
facts_of_row(AlertFacts *f, const Datum *values, const bool *isnull)
{
	f->event_id = DatumGetInt64(values[Anum_event_event_id - 1]);
	f->class_name = text_column(values, isnull, Anum_event_class);
	f->command = text_column(values, isnull, Anum_event_command);
	f->object_name = text_column(values, isnull, Anum_event_object_name);
	f->session_role = text_column(values, isnull, Anum_event_session_role);
	f->client_addr = isnull[Anum_event_client_addr - 1] ? NULL :
		DatumGetCString(DirectFunctionCall1(inet_out, values[Anum_event_client_addr - 1]));
	f->occurred_at = DatumGetTimestampTz(values[Anum_event_occurred_at - 1]);
	f->statement = text_column(values, isnull, Anum_event_statement);
	f->sqlstate = text_column(values, isnull, Anum_event_sqlstate);
	f->message = text_column(values, isnull, Anum_event_message);
	f->has_rows = !isnull[Anum_event_rows_affected - 1];
	f->rows_affected = f->has_rows ? DatumGetInt64(values[Anum_event_rows_affected - 1]) : 0;
}

static bool
str_is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* Is the time inside the rule's allowed window (its days, from-to)? */
static bool
in_window(const AlertRule *rule, TimestampTz at)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	int			minute;
	int			dow;
	pg_tz	   *zone = pg_tzset(rule->timezone);

	if (zone == NULL ||
		timestamp2tm(at, &tz, &tm, &fsec, NULL, zone) != 0)
		return false;
	minute = tm.tm_hour * 60 + tm.tm_min;
	/* timestamp2tm() leaves tm_wday unset; 0 is Sunday, ISO's 7. */
	dow = j2day(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday));
	if ((rule->days & (1 << (dow == 0 ? 7 : dow))) == 0)
		return false;
	if (rule->from_minute <= rule->to_minute)
		return minute >= rule->from_minute && minute < rule->to_minute;
	return minute >= rule->from_minute || minute < rule->to_minute;
}

/* A refusal of the append-only guard (guard.c)? */
static bool
is_guard_refusal(const AlertFacts *f)
{
	return str_is(f->kind, "error") && str_is(f->sqlstate, "42501") &&
		f->message != NULL && strncmp(f->message, "audit_ext guard:", 16) == 0;
}

/*
 * Does the event match the rule?  *extra is set to a count the payload
 * shows (failed logins in the window), else left alone.
 */
static bool
rule_matches(const AlertRule *rule, const AlertFacts *f, int *extra)
{
	bool		statement = str_is(f->kind, "statement");

	switch (rule->kind)
	{
		case ALERT_DDL_OUTSIDE_WINDOW:
			return statement && str_is(f->class_name, "ddl") &&
				!in_window(rule, f->occurred_at);
		case ALERT_ROLE_CHANGE:
			/* SET ROLE and SET SESSION AUTHORIZATION change nothing. */
			return statement && str_is(f->class_name, "role") &&
				!str_is(f->command, "SET") && !str_is(f->command, "RESET");
		case ALERT_ROWS_ABOVE:
			return statement && f->has_rows && f->rows_affected > rule->rows &&
				(str_is(f->command, "UPDATE") || str_is(f->command, "DELETE"));
		case ALERT_REFUSED_STATEMENT:
			return str_is(f->kind, "error") && str_is(f->sqlstate, "42501") &&
				!is_guard_refusal(f);
		case ALERT_TAMPER_ATTEMPT:
			return is_guard_refusal(f);
		case ALERT_FAILED_LOGINS:
			if (!str_is(f->kind, "login_failed"))
				return false;
			*extra = audit_alert_login_burst(rule, f->client_addr, f->occurred_at);
			return *extra > 0;
		case ALERT_VERIFICATION_FAILURE:
			return false;		/* audit_alert_verify_failed() */
	}
	return false;
}

/* ,"key": "value" (null if NULL), value capped at max bytes. */
static void
put_text(StringInfo buf, const char *key, const char *value, int max)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, audit_cap_text(value, max, key));
}

/* The payload, with long fields capped at max bytes. */
static void
build_payload(StringInfo buf, const AlertRule *rule, const AlertFacts *f,
			  const char *detail, int max)
{
	char		ts[MAXDATELEN + 1];

	resetStringInfo(buf);
	appendStringInfoString(buf, "{\"rule\": ");
	escape_json(buf, rule->name);
	if (f->event_id != 0)
		appendStringInfo(buf, ", \"event_id\": " INT64_FORMAT, f->event_id);
	else
		appendStringInfoString(buf, ", \"event_id\": null");
	put_text(buf, "kind", f->kind, max);
	put_text(buf, "command", f->command, max);
	put_text(buf, "session_role", f->session_role, max);
	put_text(buf, "client_addr", f->client_addr, max);
	put_text(buf, "occurred_at",
			 JsonEncodeDateTime(ts, TimestampTzGetDatum(f->occurred_at),
								TIMESTAMPTZOID, NULL), max);
	put_text(buf, "object_name", f->object_name, max);
	appendStringInfo(buf, ", \"detail\": {%s", detail);
	put_text(buf, "statement", f->statement, max);
	put_text(buf, "sqlstate", f->sqlstate, max);
	put_text(buf, "message", f->message, max);
	appendStringInfoString(buf, "}}");
}

/*
 * NOTIFY audit_alert, in the current transaction.  detail opens the
 * payload's detail object (the rule's own numbers); long texts are cut
 * until the whole fits NOTIFY's limit.
 */
static void
alert_send(const AlertRule *rule, const AlertFacts *f, const char *detail)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int max = ALERT_FIELD_MAX;; max /= 2)
	{
		build_payload(&buf, rule, f, detail, max);
		if (buf.len < ALERT_PAYLOAD_MAX || max < 16)
			break;
	}
	Async_Notify(AUDIT_ALERT_CHANNEL, buf.data);
}

/* The payload's detail: the rule's kind and its own numbers. */
static char *
rule_detail(const AlertRule *rule, const AlertFacts *f, int extra)
{
	const char *kind = audit_alert_kind_name(rule->kind);
	StringInfoData buf;

	switch (rule->kind)
	{
		case ALERT_ROWS_ABOVE:
			return psprintf("\"rule_kind\": \"%s\", \"rows_affected\": " INT64_FORMAT
							", \"rows_above\": " INT64_FORMAT,
							kind, f->rows_affected, rule->rows);
		case ALERT_FAILED_LOGINS:
			return psprintf("\"rule_kind\": \"%s\", \"failed_logins\": %d, \"seconds\": %d",
							kind, extra, rule->seconds);
		case ALERT_DDL_OUTSIDE_WINDOW:
			initStringInfo(&buf);
			appendStringInfo(&buf, "\"rule_kind\": \"%s\", \"window\": ", kind);
			escape_json(&buf, psprintf("%02d:%02d-%02d:%02d %s",
									   rule->from_minute / 60, rule->from_minute % 60,
									   rule->to_minute / 60, rule->to_minute % 60,
									   rule->timezone));
			return buf.data;
		default:
			return psprintf("\"rule_kind\": \"%s\"", kind);
	}
}

/*
 * An event row of kind `kind` has just been written (event.c): send the
 * alert of every enabled rule it matches.  The kind comes as the C string
 * the writer has, so that a row event (a bulk load's every row) is skipped
 * without converting anything.
 */
void
audit_alert_note(const char *kind, const Datum *values, const bool *isnull)
{
	int			n;
	const AlertRule *rules = audit_alert_rules(&n);
	AlertFacts	f;

	if (n == 0)
		return;
	/* Row, config, login and other events match no rule: skip them cheaply. */
	f.kind = kind;
	if (!str_is(f.kind, "statement") && !str_is(f.kind, "error") &&
		!str_is(f.kind, "login_failed"))
		return;
	facts_of_row(&f, values, isnull);
	for (int i = 0; i < n; i++)
	{
		int			extra = 0;

		if (rule_matches(&rules[i], &f, &extra))
			alert_send(&rules[i], &f, rule_detail(&rules[i], &f, extra));
	}
}

/*
 * A verification found problems: the verification_failure rules send
 * their alert, with who verified and the first problem.  Not on a
 * standby, where no notification can be sent.
 */
void
audit_alert_verify_failed(int64 problems, const char *first_problem)
{
	int			n;
	const AlertRule *rules;
	AuditContext ctx;
	AlertFacts	f = {0};

	if (RecoveryInProgress())
		return;
	rules = audit_alert_rules(&n);
	if (n == 0)
		return;
	audit_context_capture(&ctx);
	f.kind = "verification";
	f.command = "audit.verify";
	f.session_role = ctx.session_role;
	f.client_addr = ctx.client_addr;
	f.occurred_at = ctx.occurred_at;
	f.message = first_problem;
	for (int i = 0; i < n; i++)
		if (rules[i].kind == ALERT_VERIFICATION_FAILURE)
			alert_send(&rules[i], &f,
					   psprintf("\"rule_kind\": \"%s\", \"problems\": " INT64_FORMAT,
								audit_alert_kind_name(rules[i].kind), problems));
}
