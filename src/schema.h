/*-------------------------------------------------------------------------
 *
 * schema.h
 *	  The storage layout of audit_ext's tables, shared by the writers, the
 *	  hash encoders and the verifier.
 *
 * The attribute numbers below must match the column order of the tables in
 * sql/audit_ext--*.sql.  The store checks each live table against its
 * column list before first use, so a mismatch is a clear error rather than
 * a corrupt tuple.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SCHEMA_H
#define AUDIT_SCHEMA_H

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
	Anum_event_leaf_hash,
	/* added in format version 2 (audit_ext 0.2) */
	Anum_event_class,
	Anum_event_statement_id,
	Anum_event_nesting_level,
	Anum_event_app_user,
	Anum_event_context,
	Anum_event_parameters,
	Anum_event_objects,
	Anum_event_sqlstate,
	Anum_event_message,
	Anum_event_detail,
	/* added in format version 3 (audit_ext 0.3): row capture */
	Anum_event_row_key,
	Anum_event_old_row,
	Anum_event_new_row,
	Anum_event_changed_columns,
	Anum_event_row_salt,		/* not hashed: salts the row images' commitments */
	/* added by audit_ext 0.4, not hashed: retention and erasure */
	Anum_event_archive_id,		/* audit.archive that removed the payload */
	Anum_event_erasure			/* what audit.redact() erased, and why */
} AuditEventAttr;

#define Natts_event			Anum_event_erasure
#define Natts_event_v1		Anum_event_leaf_hash	/* audit_ext 0.1's layout */
#define Natts_event_v2		Anum_event_detail	/* audit_ext 0.2's layout */
#define Natts_event_v3		Anum_event_row_salt /* audit_ext 0.3's layout */

/* Is column attnum of audit.event a row image (hashed key by key)? */
#define AUDIT_EVENT_IS_ROW_IMAGE(attnum) \
	((attnum) >= Anum_event_row_key && (attnum) <= Anum_event_new_row)

/* Length of the row salt, in bytes. */
#define AUDIT_ROW_SALT_LEN	16

/*
 * The version of the canonical event encoding written now (docs/FORMAT.md).
 * Every version from 1 up to it can still be verified.
 */
#define AUDIT_FORMAT_VERSION	3

typedef enum AuditTxnAttr
{
	Anum_txn_txid = 1,
	Anum_txn_position,
	Anum_txn_event_count,
	Anum_txn_committed_at,
	Anum_txn_digest
} AuditTxnAttr;

#define Natts_txn			Anum_txn_digest

/*
 * audit.row_end (0.6): where a row key stopped naming a row without a row
 * event under that key — a TRUNCATE (row_key NULL) or an UPDATE that gave
 * the row another key.  Derived from the events, not hashed (row_end.c).
 */
typedef enum AuditRowEndAttr
{
	Anum_row_end_event_id = 1,
	Anum_row_end_object_name,
	Anum_row_end_partition,
	Anum_row_end_row_key,
	Anum_row_end_occurred_at
} AuditRowEndAttr;

#define Natts_row_end		Anum_row_end_occurred_at

typedef enum AuditBlockAttr
{
	Anum_block_block_id = 1,
	Anum_block_first_position,
	Anum_block_last_position,
	Anum_block_txn_count,
	Anum_block_event_count,
	Anum_block_sealed_at,
	Anum_block_txn_root,
	Anum_block_prev_hash,
	Anum_block_block_hash,
	Anum_block_tree_root,
	Anum_block_tree_frontier,
	Anum_block_signature,
	Anum_block_key_id
} AuditBlockAttr;

#define Natts_block			Anum_block_key_id

/*
 * One column of a table: its name, its type, and from which format version
 * on the hash covers it (0: never).  For audit.txn and audit.block, any
 * non-zero value just means "hashed".
 */
typedef struct AuditColumn
{
	const char *name;
	Oid			type;
	int			hashed_since;
} AuditColumn;

/* Indexed by attribute number - 1. */
extern const AuditColumn audit_event_columns[Natts_event];
extern const AuditColumn audit_txn_columns[Natts_txn];
extern const AuditColumn audit_block_columns[Natts_block];
extern const AuditColumn audit_row_end_columns[Natts_row_end];

/* Set column attnum of a row being built. */
static inline void
audit_set(Datum *values, bool *isnull, int attnum, Datum value)
{
	values[attnum - 1] = value;
	isnull[attnum - 1] = false;
}

/* Set a text column from a C string; NULL stays NULL. */
static inline void
audit_set_text(Datum *values, bool *isnull, int attnum, const char *s)
{
	values[attnum - 1] = s ? CStringGetTextDatum(s) : (Datum) 0;
	isnull[attnum - 1] = (s == NULL);
}

#endif							/* AUDIT_SCHEMA_H */
