-- audit.event gains two columns that no hash covers (docs/FORMAT.md):
--   archive_id  the audit.archive row of the archive that removed this
--               event's payload (NULL while the payload is in place);
--   erasure     what audit.redact() erased from the row images, the salts
--               of the members that stay, who erased and why.
-- Existing rows get NULL in both and keep their leaf hashes.
ALTER TABLE audit.event ADD COLUMN archive_id bigint, ADD COLUMN erasure jsonb;
COMMENT ON COLUMN audit.event.archive_id IS
	'audit.archive that removed this event''s payload (not hashed; NULL while it is in place)';
COMMENT ON COLUMN audit.event.erasure IS
	'What audit.redact() erased from the row images and why (not hashed; NULL if nothing)';

CREATE OR REPLACE VIEW audit.events AS
	SELECT e.event_id, e.txid, e.occurred_at, e.kind, e.command,
	       e.object_name, e.session_role, e.effective_role, e.client_addr,
	       e.client_port, e.application_name, e.backend_pid, e.database,
	       e.statement, e.rows_affected, e.format_version, e.leaf_hash,
	       t.block_id,
	       e.class, e.statement_id, e.nesting_level, e.app_user, e.context,
	       e.parameters, e.objects, e.sqlstate, e.message, e.detail,
	       e.row_key, e.old_row, e.new_row, e.changed_columns, e.row_salt,
	       e.archive_id, e.erasure
	  FROM audit.event e
	  LEFT JOIN audit.transactions t ON t.txid = e.txid;
COMMENT ON COLUMN audit.events.archive_id IS
	'Set when audit.archive() moved the event''s payload out to an archive bundle (see audit.archives)';
COMMENT ON COLUMN audit.events.erasure IS
	'Set when audit.redact() erased values from the row images: which, by whom, when and why';
COMMENT ON COLUMN audit.events.kind IS
	'Event kind: statement, row, config, login, login_failed, logout, error or server (STARTUP: one per server start)';
