/*-------------------------------------------------------------------------
 *
 * event_schema.c
 *	  The expected columns of audit.event (see event_schema.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"

#include "event_schema.h"

/*
 * Column order, types and whether each column is covered by the leaf hash.
 * format_version is carried in the encoding's header rather than as a field,
 * and leaf_hash is the hash itself.
 */
const AuditEventColumn audit_event_columns[Natts_event] = {
	{"event_id", INT8OID, true},
	{"format_version", INT2OID, false},
	{"txid", XID8OID, true},
	{"occurred_at", TIMESTAMPTZOID, true},
	{"kind", TEXTOID, true},
	{"command", TEXTOID, true},
	{"object_name", TEXTOID, true},
	{"session_role", TEXTOID, true},
	{"effective_role", TEXTOID, true},
	{"client_addr", INETOID, true},
	{"client_port", INT4OID, true},
	{"application_name", TEXTOID, true},
	{"backend_pid", INT4OID, true},
	{"database", TEXTOID, true},
	{"statement", TEXTOID, true},
	{"rows_affected", INT8OID, true},
	{"leaf_hash", BYTEAOID, false}
};
