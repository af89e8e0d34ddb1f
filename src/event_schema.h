/*-------------------------------------------------------------------------
 *
 * event_schema.h
 *	  The storage layout of audit.event, shared by the writer, the hash
 *	  encoder and the verifier.
 *
 * The attribute numbers below must match the column order of audit.event in
 * sql/audit_ext--*.sql.  The writer checks the live table against
 * audit_event_columns[] before its first insert, so a mismatch is a clear
 * error rather than a corrupt tuple.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_SCHEMA_H
#define AUDIT_EVENT_SCHEMA_H

#include "postgres.h"

#include "utils/builtins.h"

typedef enum AuditEventAttr
{
	Anum_event_event_id = 1,
	Anum_event_format_version,
	Anum_event_txid,
	Anum_event_occurred_at,
	Anum_event_kind,
	Anum_event_command,
	Anum_event_object_name,
	Anum_event_session_role,
	Anum_event_effective_role,
	Anum_event_client_addr,
	Anum_event_client_port,
	Anum_event_application_name,
	Anum_event_backend_pid,
	Anum_event_database,
	Anum_event_statement,
	Anum_event_rows_affected,
	Anum_event_leaf_hash
} AuditEventAttr;

#define Natts_event			Anum_event_leaf_hash

/* The current version of the canonical event encoding (docs/FORMAT.md). */
#define AUDIT_FORMAT_VERSION	1

/* One column of audit.event: its name, type and whether it is hashed. */
typedef struct AuditEventColumn
{
	const char *name;
	Oid			type;
	bool		hashed;
} AuditEventColumn;

/* Indexed by attribute number - 1. */
extern const AuditEventColumn audit_event_columns[Natts_event];

/* Set column attnum of a row being built. */
static inline void
audit_event_set(Datum *values, bool *isnull, int attnum, Datum value)
{
	values[attnum - 1] = value;
	isnull[attnum - 1] = false;
}

/* Set a text column from a C string; NULL stays NULL. */
static inline void
audit_event_set_text(Datum *values, bool *isnull, int attnum, const char *s)
{
	values[attnum - 1] = s ? CStringGetTextDatum(s) : (Datum) 0;
	isnull[attnum - 1] = (s == NULL);
}

#endif							/* AUDIT_EVENT_SCHEMA_H */
