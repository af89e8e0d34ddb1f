/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  The expected columns of audit_ext's tables (see schema.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"

#include "schema.h"

/*
 * Column order, types and whether each column is covered by the leaf hash.
 * format_version is carried in the encoding's header rather than as a field,
 * and leaf_hash is the hash itself.
 */
const AuditColumn audit_event_columns[Natts_event] = {
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

const AuditColumn audit_txn_columns[Natts_txn] = {
	{"txid", XID8OID, true},
	{"position", INT8OID, true},
	{"event_count", INT4OID, true},
	{"committed_at", TIMESTAMPTZOID, true},
	{"digest", BYTEAOID, true}
};

const AuditColumn audit_block_columns[Natts_block] = {
	{"block_id", INT8OID, true},
	{"first_position", INT8OID, true},
	{"last_position", INT8OID, true},
	{"txn_count", INT4OID, true},
	{"event_count", INT8OID, true},
	{"sealed_at", TIMESTAMPTZOID, true},
	{"txn_root", BYTEAOID, true},
	{"prev_hash", BYTEAOID, true},
	{"block_hash", BYTEAOID, false},
	{"tree_root", BYTEAOID, false},
	{"tree_frontier", BYTEAOID, false},
	{"signature", BYTEAOID, false},
	{"key_id", TEXTOID, false}
};
