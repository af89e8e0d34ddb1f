-- audit_hub 0.4: the receiving end of a central audit hub (docs/HUB.md).
--
-- Source databases with audit_ext publish their trail tables (insert only);
-- this database subscribes to each source under a subscription whose name
-- is the source's name at the hub.  Logical replication applies a
-- published table to the table of the same schema and name, so the trail
-- arrives here in tables named like audit_ext's (audit.event, ...), each
-- with one more column, `source`, filled by the apply worker from its
-- subscription's name (audit_hub.current_source()).  Every source's chain
-- is then verified on its own: `audit_verify --source NAME CONNINFO`.
--
-- The columns are those of audit_ext 0.4's tables; a source of an older
-- version sends fewer (the rest stay NULL).  A source of a newer version may
-- send columns this version lacks: update audit_hub first.

\echo Use "CREATE EXTENSION audit_hub" to load this file. \quit

DO $check$
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'audit_ext') THEN
		RAISE EXCEPTION 'audit_hub cannot be installed in a database that has audit_ext'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Give the hub a database of its own: the sources'' trails arrive in tables named like audit_ext''s.';
	END IF;
END
$check$;

CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'audit_hub: the trails of every source, as received (column source names the source)';
CREATE SCHEMA audit_hub;
COMMENT ON SCHEMA audit_hub IS 'audit_hub: its functions and views';

-- The source a row arrives from: the name of the subscription whose apply
-- (or initial table copy) worker is this backend; NULL in any other
-- session, so a row written by hand without naming its source is refused.
CREATE FUNCTION audit_hub.current_source() RETURNS text
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.subname::text
	  FROM pg_catalog.pg_stat_subscription s
	 WHERE s.pid = pg_catalog.pg_backend_pid()
	 LIMIT 1
$$;
COMMENT ON FUNCTION audit_hub.current_source() IS
	'The name of the subscription this logical replication worker applies; NULL outside one';

CREATE TABLE audit.chain (
	source		text NOT NULL DEFAULT audit_hub.current_source(),
	chain_id	bytea NOT NULL,
	created_at	timestamptz NOT NULL,
	singleton	boolean NOT NULL,
	PRIMARY KEY (source)
);

CREATE TABLE audit.event (
	source			text NOT NULL DEFAULT audit_hub.current_source(),
	event_id		bigint NOT NULL,
	format_version	smallint NOT NULL,
	txid			xid8 NOT NULL,
	occurred_at		timestamptz,
	kind			text,
	command			text,
	object_name		text,
	session_role	text,
	effective_role	text,
	client_addr		inet,
	client_port		integer,
	application_name text,
	backend_pid		integer,
	database		text,
	statement		text,
	rows_affected	bigint,
	leaf_hash		bytea NOT NULL,
	class			text,
	statement_id	bigint,
	nesting_level	integer,
	app_user		text,
	context			jsonb,
	parameters		jsonb,
	objects			jsonb,
	sqlstate		text,
	message			text,
	detail			jsonb,
	row_key			jsonb,
	old_row			jsonb,
	new_row			jsonb,
	changed_columns	jsonb,
	row_salt		bytea,
	archive_id		bigint,
	erasure			jsonb,
	PRIMARY KEY (source, event_id)
);
CREATE INDEX event_txid_idx ON audit.event (source, txid, event_id);

CREATE TABLE audit.txn (
	source			text NOT NULL DEFAULT audit_hub.current_source(),
	txid			xid8 NOT NULL,
	position		bigint NOT NULL,
	event_count		integer NOT NULL,
	committed_at	timestamptz NOT NULL,
	digest			bytea NOT NULL,
	PRIMARY KEY (source, txid),
	UNIQUE (source, position)
);

CREATE TABLE audit.block (
	source			text NOT NULL DEFAULT audit_hub.current_source(),
	block_id		bigint NOT NULL,
	first_position	bigint NOT NULL,
	last_position	bigint NOT NULL,
	txn_count		integer NOT NULL,
	event_count		bigint NOT NULL,
	sealed_at		timestamptz NOT NULL,
	txn_root		bytea NOT NULL,
	prev_hash		bytea NOT NULL,
	block_hash		bytea NOT NULL,
	tree_root		bytea NOT NULL,
	tree_frontier	bytea NOT NULL,
	signature		bytea,
	key_id			text,
	PRIMARY KEY (source, block_id)
);

CREATE TABLE audit.archive (
	source			text NOT NULL DEFAULT audit_hub.current_source(),
	archive_id		bigint NOT NULL,
	first_block		bigint NOT NULL,
	last_block		bigint NOT NULL,
	event_count		bigint NOT NULL,
	bundle			text NOT NULL,
	sha256			bytea NOT NULL,
	archived_at		timestamptz NOT NULL,
	archived_by		name NOT NULL,
	PRIMARY KEY (source, archive_id)
);

COMMENT ON TABLE audit.chain IS 'Each source''s chain id (audit_ext''s audit.chain), as received';
COMMENT ON TABLE audit.event IS 'Each source''s events as they were inserted there (or as the initial copy found them)';
COMMENT ON TABLE audit.txn IS 'Each source''s transaction digests';
COMMENT ON TABLE audit.block IS 'Each source''s sealed blocks';
COMMENT ON TABLE audit.archive IS 'Each source''s archives (audit.archive()), for events archived before the hub subscribed';
COMMENT ON COLUMN audit.event.source IS 'The source: the name of the subscription the row arrived through';

CREATE VIEW audit_hub.sources AS
SELECT c.source,
	   pg_catalog.encode(c.chain_id, 'hex') AS chain_id,
	   c.created_at AS chain_created_at,
	   b.block_id AS last_block_id,
	   b.sealed_at AS last_sealed_at,
	   (SELECT max(e.event_id) FROM audit.event e WHERE e.source = c.source) AS last_event_id,
	   s.subname IS NOT NULL AS receiving,
	   s.latest_end_lsn,
	   s.last_msg_receipt_time
  FROM audit.chain c
  LEFT JOIN LATERAL (SELECT bl.block_id, bl.sealed_at FROM audit.block bl
					  WHERE bl.source = c.source
					  ORDER BY bl.block_id DESC LIMIT 1) b ON true
  LEFT JOIN pg_catalog.pg_stat_subscription s
		 ON s.subname = c.source AND s.relid IS NULL;
COMMENT ON VIEW audit_hub.sources IS
	'One row per source: its chain id, last block and event received, whether its subscription is receiving';

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA audit_hub FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_hub.current_source() FROM PUBLIC;
