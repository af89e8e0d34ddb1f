/* audit_ext 0.1 -> 0.2: complete statement capture (event format 2) */
\echo Use "ALTER EXTENSION audit_ext UPDATE TO '0.2'" to load this file. \quit

-- Format 2 columns.  Appended (ALTER TABLE ADD COLUMN without a default
-- rewrites nothing): events written by 0.1 keep format_version 1, NULL in
-- every new column, and verify as before.
ALTER TABLE audit.event
	ADD COLUMN class          text,
	ADD COLUMN statement_id   bigint,
	ADD COLUMN nesting_level  integer,
	ADD COLUMN app_user       text,
	ADD COLUMN context        jsonb,
	ADD COLUMN parameters     jsonb,
	ADD COLUMN objects        jsonb,
	ADD COLUMN sqlstate       text,
	ADD COLUMN message        text,
	ADD COLUMN detail         jsonb;

-- Everything one statement did, nested statements included.
CREATE INDEX event_statement_idx ON audit.event (statement_id);

-- New columns go to the end of the view (CREATE OR REPLACE VIEW keeps the
-- existing ones, and every grant on it).
CREATE OR REPLACE VIEW audit.events AS
	SELECT e.event_id, e.txid, e.occurred_at, e.kind, e.command,
	       e.object_name, e.session_role, e.effective_role, e.client_addr,
	       e.client_port, e.application_name, e.backend_pid, e.database,
	       e.statement, e.rows_affected, e.format_version, e.leaf_hash,
	       t.block_id,
	       e.class, e.statement_id, e.nesting_level, e.app_user, e.context,
	       e.parameters, e.objects, e.sqlstate, e.message, e.detail
	  FROM audit.event e
	  LEFT JOIN audit.transactions t ON t.txid = e.txid;

COMMENT ON COLUMN audit.events.kind IS
	'Event kind: statement, login, login_failed, logout or error';
COMMENT ON COLUMN audit.events.class IS
	'Statement class as audit.log names it: ddl, write, read, role, function, misc or misc_set';
COMMENT ON COLUMN audit.events.statement_id IS
	'Shared by every event of one top-level statement, nested statements included (the event id of its first event)';
COMMENT ON COLUMN audit.events.nesting_level IS
	'0 for a statement the client sent; 1 and more for statements run by functions, DO blocks and triggers';
COMMENT ON COLUMN audit.events.app_user IS
	'Application user behind a pooled connection (audit.set_context(), audit.app_user)';
COMMENT ON COLUMN audit.events.context IS
	'Request context the application set (audit.set_context(), audit.context), e.g. a W3C traceparent';
COMMENT ON COLUMN audit.events.parameters IS
	'Bind parameters as text, when audit.log_parameters is on';
COMMENT ON COLUMN audit.events.objects IS
	'DDL: the objects created, altered or dropped (CASCADE included), with their identities';
COMMENT ON COLUMN audit.events.sqlstate IS
	'Errors and failed logins: the SQLSTATE';
COMMENT ON COLUMN audit.events.message IS
	'Errors and failed logins: the error message';
COMMENT ON COLUMN audit.events.detail IS
	'Kind-specific details: session duration of a logout, DETAIL and HINT of an error, ...';

-- The application user and request context of a pooled connection.
CREATE FUNCTION audit.set_context(app_user text, context jsonb DEFAULT '{}',
								  is_local boolean DEFAULT true)
	RETURNS void
	AS 'MODULE_PATHNAME', 'audit_set_context'
	LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION audit.set_context(text, jsonb, boolean) IS
	'Set audit.app_user and audit.context, for this transaction by default';
GRANT USAGE ON SCHEMA audit TO PUBLIC;
REVOKE ALL ON FUNCTION audit.set_context(text, jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.set_context(text, jsonb, boolean) TO PUBLIC;

-- ---------------------------------------------------------------------------
-- DDL objects (src/ddl_objects.c).  Two event triggers name the objects of
-- each DDL statement, with their identities, and every object it dropped
-- (CASCADE included); the statement's event carries them in its objects
-- column.  ENABLE ALWAYS: they fire under session_replication_role =
-- replica too, as the capture hooks do.
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit._ddl_command_end()
	RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'audit_ddl_command_end'
	LANGUAGE C;
COMMENT ON FUNCTION audit._ddl_command_end() IS
	'Event trigger (ddl_command_end): collects the objects of the current DDL statement for its audit event';
REVOKE ALL ON FUNCTION audit._ddl_command_end() FROM PUBLIC;

CREATE FUNCTION audit._sql_drop()
	RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'audit_sql_drop'
	LANGUAGE C;
COMMENT ON FUNCTION audit._sql_drop() IS
	'Event trigger (sql_drop): collects the objects the current statement dropped for its audit event';
REVOKE ALL ON FUNCTION audit._sql_drop() FROM PUBLIC;

CREATE EVENT TRIGGER audit_ext_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION audit._ddl_command_end();
ALTER EVENT TRIGGER audit_ext_ddl_command_end ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER audit_ext_ddl_command_end IS
	'audit_ext: names the objects of each DDL statement in audit.event.objects';

CREATE EVENT TRIGGER audit_ext_sql_drop ON sql_drop
	EXECUTE FUNCTION audit._sql_drop();
ALTER EVENT TRIGGER audit_ext_sql_drop ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER audit_ext_sql_drop IS
	'audit_ext: names every object a statement dropped (CASCADE included) in audit.event.objects';
