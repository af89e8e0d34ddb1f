/* audit_ext 0.1: the foundation — statement events, leaf hashes, verify() */
\echo Use "CREATE EXTENSION audit_ext" to load this file. \quit

-- The roles are cluster-wide and may already exist from another database of
-- the same cluster: create them only when missing, and never drop them.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'audit_reader') THEN
		CREATE ROLE audit_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'audit_admin') THEN
		CREATE ROLE audit_admin NOLOGIN;
	END IF;
	IF NOT pg_catalog.pg_has_role('audit_admin', 'audit_reader', 'MEMBER') THEN
		GRANT audit_reader TO audit_admin;
	END IF;
END
$roles$;

CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'audit_ext: the tamper-evident audit trail';
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO audit_reader;

-- Event ids come from this sequence, advanced by the extension's C code
-- without a permission check on the calling role.
CREATE SEQUENCE audit.event_id_seq AS bigint;
REVOKE ALL ON SEQUENCE audit.event_id_seq FROM PUBLIC;

-- One row per audit event.  Written only by the extension's C code (direct
-- heap inserts); the column order is part of the storage contract checked by
-- the C code (see src/event_store.h) and of the hash encoding (docs/FORMAT.md).
CREATE TABLE audit.event (
	event_id          bigint      NOT NULL,
	format_version    smallint    NOT NULL,
	txid              xid8        NOT NULL,
	occurred_at       timestamptz NOT NULL,
	kind              text        NOT NULL,
	command           text,
	object_name       text,
	session_role      text,
	effective_role    text,
	client_addr       inet,
	client_port       integer,
	application_name  text,
	backend_pid       integer,
	database          text,
	statement         text,
	rows_affected     bigint,
	leaf_hash         bytea       NOT NULL,
	CONSTRAINT event_pkey PRIMARY KEY (event_id)
);
REVOKE ALL ON TABLE audit.event FROM PUBLIC;
COMMENT ON TABLE audit.event IS
	'Audit events, append-only; read them through audit.events';

CREATE VIEW audit.events AS
	SELECT event_id, txid, occurred_at, kind, command, object_name,
	       session_role, effective_role, client_addr, client_port,
	       application_name, backend_pid, database, statement,
	       rows_affected, format_version, leaf_hash
	  FROM audit.event;
REVOKE ALL ON audit.events FROM PUBLIC;
GRANT SELECT ON audit.events TO audit_reader;

COMMENT ON VIEW audit.events IS
	'Every recorded audit event, one row each: the public read interface of audit_ext';
COMMENT ON COLUMN audit.events.event_id IS 'Unique, increasing id of the event';
COMMENT ON COLUMN audit.events.txid IS 'Top-level transaction that recorded the event';
COMMENT ON COLUMN audit.events.occurred_at IS 'When the event was recorded';
COMMENT ON COLUMN audit.events.kind IS 'Event kind: statement';
COMMENT ON COLUMN audit.events.command IS 'Command tag, e.g. CREATE TABLE or UPDATE';
COMMENT ON COLUMN audit.events.object_name IS 'Schema-qualified name of the object acted on, where known';
COMMENT ON COLUMN audit.events.session_role IS 'Role that logged in (session_user)';
COMMENT ON COLUMN audit.events.effective_role IS 'Role whose privileges applied (current_user, after SET ROLE or SECURITY DEFINER)';
COMMENT ON COLUMN audit.events.client_addr IS 'Client IP address; NULL over a Unix socket';
COMMENT ON COLUMN audit.events.client_port IS 'Client TCP port; NULL over a Unix socket';
COMMENT ON COLUMN audit.events.application_name IS 'application_name of the session when the event was recorded';
COMMENT ON COLUMN audit.events.backend_pid IS 'Process id of the backend that ran the statement';
COMMENT ON COLUMN audit.events.database IS 'Database the statement ran in';
COMMENT ON COLUMN audit.events.statement IS 'SQL text of the statement';
COMMENT ON COLUMN audit.events.rows_affected IS 'Rows inserted, updated or deleted (DML); NULL for DDL';
COMMENT ON COLUMN audit.events.format_version IS 'Version of the canonical encoding hashed into leaf_hash (docs/FORMAT.md)';
COMMENT ON COLUMN audit.events.leaf_hash IS 'SHA-256 of 0x00 || canonical encoding of the event (docs/FORMAT.md)';

CREATE FUNCTION audit.verify(
	OUT ok boolean,
	OUT events_checked bigint,
	OUT problems bigint,
	OUT first_problem text)
RETURNS record
AS 'MODULE_PATHNAME', 'audit_verify'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION audit.verify() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.verify() TO audit_reader;
COMMENT ON FUNCTION audit.verify() IS
	'Recompute the leaf hash of every event and report whether all match';
