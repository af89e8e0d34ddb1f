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
 * Column order, types and from which format version each column is covered
 * by the leaf hash.  format_version is carried in the encoding's header
 * rather than as a field, and leaf_hash is the hash itself.  Columns added
 * by a later version come after leaf_hash (ALTER TABLE ADD COLUMN appends).
 */
const AuditColumn audit_event_columns[Natts_event] = {
	{"event_id", INT8OID, 1},
	{"format_version", INT2OID, 0},
	{"txid", XID8OID, 1},
	{"occurred_at", TIMESTAMPTZOID, 1},
	{"kind", TEXTOID, 1},
	{"command", TEXTOID, 1},
	{"object_name", TEXTOID, 1},
	{"session_role", TEXTOID, 1},
	{"effective_role", TEXTOID, 1},
	{"client_addr", INETOID, 1},
	{"client_port", INT4OID, 1},
	{"application_name", TEXTOID, 1},
	{"backend_pid", INT4OID, 1},
	{"database", TEXTOID, 1},
	{"statement", TEXTOID, 1},
	{"rows_affected", INT8OID, 1},
	{"leaf_hash", BYTEAOID, 0},
	{"class", TEXTOID, 2},
	{"statement_id", INT8OID, 2},
	{"nesting_level", INT4OID, 2},
	{"app_user", TEXTOID, 2},
	{"context", JSONBOID, 2},
	{"parameters", JSONBOID, 2},
	{"objects", JSONBOID, 2},
	{"sqlstate", TEXTOID, 2},
	{"message", TEXTOID, 2},
	{"detail", JSONBOID, 2},
	{"row_key", JSONBOID, 3},
	{"old_row", JSONBOID, 3},
	{"new_row", JSONBOID, 3},
	{"changed_columns", JSONBOID, 3},
	{"row_salt", BYTEAOID, 0},
	{"archive_id", INT8OID, 0},
	{"erasure", JSONBOID, 0}
};

const AuditColumn audit_txn_columns[Natts_txn] = {
	{"txid", XID8OID, 1},
	{"position", INT8OID, 1},
	{"event_count", INT4OID, 1},
	{"committed_at", TIMESTAMPTZOID, 1},
	{"digest", BYTEAOID, 1}
};

const AuditColumn audit_row_end_columns[Natts_row_end] = {
	{"event_id", INT8OID, 0},
	{"object_name", TEXTOID, 0},
	{"partition", TEXTOID, 0},
	{"row_key", JSONBOID, 0},
	{"occurred_at", TIMESTAMPTZOID, 0}
};

const AuditColumn audit_block_columns[Natts_block] = {
	{"block_id", INT8OID, 1},
	{"first_position", INT8OID, 1},
	{"last_position", INT8OID, 1},
	{"txn_count", INT4OID, 1},
	{"event_count", INT8OID, 1},
	{"sealed_at", TIMESTAMPTZOID, 1},
	{"txn_root", BYTEAOID, 1},
	{"prev_hash", BYTEAOID, 1},
	{"block_hash", BYTEAOID, 0},
	{"tree_root", BYTEAOID, 0},
	{"tree_frontier", BYTEAOID, 0},
	{"signature", BYTEAOID, 0},
	{"key_id", TEXTOID, 0}
};
