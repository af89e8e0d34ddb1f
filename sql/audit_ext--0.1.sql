/* audit_ext 0.1: statement events, leaf hashes, transaction digests, sealed blocks, verification */
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

-- The identity of this trail: a random id chosen when the extension was
-- created, bound into every block head and signature, so a block or a
-- checkpoint of one trail cannot be passed off as another's.
CREATE TABLE audit.chain (
	chain_id    bytea       NOT NULL CHECK (octet_length(chain_id) = 16),
	created_at  timestamptz NOT NULL DEFAULT now(),
	singleton   boolean     NOT NULL DEFAULT true UNIQUE CHECK (singleton)
);
INSERT INTO audit.chain (chain_id) VALUES (uuid_send(gen_random_uuid()));
REVOKE ALL ON TABLE audit.chain FROM PUBLIC;
GRANT SELECT ON TABLE audit.chain TO audit_reader;
COMMENT ON TABLE audit.chain IS 'The identity of this audit trail (one row)';

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
-- Verification and audit.transaction() find a transaction's events here.
CREATE INDEX event_txid_idx ON audit.event (txid, event_id);
REVOKE ALL ON TABLE audit.event FROM PUBLIC;
COMMENT ON TABLE audit.event IS
	'Audit events, append-only; read them through audit.events';

-- Commit positions: taken at PRE_COMMIT by each transaction that wrote
-- events, so sealing order is commit order, not start order.
CREATE SEQUENCE audit.txn_position_seq AS bigint;
REVOKE ALL ON SEQUENCE audit.txn_position_seq FROM PUBLIC;

-- One row per committed transaction that wrote events: its digest, the
-- Merkle root (RFC 6962) of its events' leaf hashes in event id order.
-- Written by the transaction itself at PRE_COMMIT.
CREATE TABLE audit.txn (
	txid          xid8        NOT NULL,
	position      bigint      NOT NULL,
	event_count   integer     NOT NULL,
	committed_at  timestamptz NOT NULL,
	digest        bytea       NOT NULL,
	CONSTRAINT txn_pkey PRIMARY KEY (txid)
);
CREATE UNIQUE INDEX txn_position_idx ON audit.txn (position);
REVOKE ALL ON TABLE audit.txn FROM PUBLIC;
COMMENT ON TABLE audit.txn IS
	'Per-transaction digests, append-only; read them through audit.transactions';

-- Sealed blocks: committed transactions in position order, hash-chained.
CREATE TABLE audit.block (
	block_id        bigint      NOT NULL,
	first_position  bigint      NOT NULL,
	last_position   bigint      NOT NULL,
	txn_count       integer     NOT NULL,
	event_count     bigint      NOT NULL,
	sealed_at       timestamptz NOT NULL,
	txn_root        bytea       NOT NULL,
	prev_hash       bytea       NOT NULL,
	block_hash      bytea       NOT NULL,
	tree_root       bytea       NOT NULL,
	tree_frontier   bytea       NOT NULL,
	signature       bytea,
	key_id          text,
	CONSTRAINT block_pkey PRIMARY KEY (block_id)
);
CREATE UNIQUE INDEX block_last_position_idx ON audit.block (last_position);
REVOKE ALL ON TABLE audit.block FROM PUBLIC;
COMMENT ON TABLE audit.block IS
	'Sealed, hash-chained blocks, append-only; read them through audit.blocks';

CREATE VIEW audit.transactions AS
	SELECT t.txid, t.position, t.event_count, t.committed_at, t.digest,
	       b.block_id
	  FROM audit.txn t
	  LEFT JOIN LATERAL (
		SELECT bl.block_id FROM audit.block bl
		 WHERE bl.last_position >= t.position AND bl.first_position <= t.position
		 ORDER BY bl.last_position LIMIT 1) b ON true;
REVOKE ALL ON audit.transactions FROM PUBLIC;
GRANT SELECT ON audit.transactions TO audit_reader;

CREATE VIEW audit.events AS
	SELECT e.event_id, e.txid, e.occurred_at, e.kind, e.command,
	       e.object_name, e.session_role, e.effective_role, e.client_addr,
	       e.client_port, e.application_name, e.backend_pid, e.database,
	       e.statement, e.rows_affected, e.format_version, e.leaf_hash,
	       t.block_id
	  FROM audit.event e
	  LEFT JOIN audit.transactions t ON t.txid = e.txid;
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
COMMENT ON COLUMN audit.events.block_id IS 'Sealed block holding the event''s transaction; NULL until sealed';

COMMENT ON VIEW audit.transactions IS
	'One row per committed transaction that wrote audit events, with its digest';
COMMENT ON COLUMN audit.transactions.position IS 'Commit position: the order in which transactions are sealed';
COMMENT ON COLUMN audit.transactions.event_count IS 'Events the transaction wrote (rolled-back savepoints excluded)';
COMMENT ON COLUMN audit.transactions.committed_at IS 'When the transaction took its commit position';
COMMENT ON COLUMN audit.transactions.digest IS 'Merkle root (RFC 6962) of the leaf hashes of its events, in event id order';
COMMENT ON COLUMN audit.transactions.block_id IS 'Sealed block holding the transaction; NULL until sealed';

CREATE VIEW audit.blocks AS
	SELECT block_id, first_position, last_position, txn_count, event_count,
	       sealed_at, txn_root, prev_hash, block_hash, tree_root,
	       signature, key_id
	  FROM audit.block;
REVOKE ALL ON audit.blocks FROM PUBLIC;
GRANT SELECT ON audit.blocks TO audit_reader;
COMMENT ON VIEW audit.blocks IS 'Sealed blocks of the audit trail, hash-chained, oldest first';
COMMENT ON COLUMN audit.blocks.block_id IS 'Block number, from 1, without gaps';
COMMENT ON COLUMN audit.blocks.first_position IS 'First commit position covered (the previous block''s last + 1)';
COMMENT ON COLUMN audit.blocks.last_position IS 'Last commit position covered; positions without a transaction belong to transactions that aborted';
COMMENT ON COLUMN audit.blocks.txn_count IS 'Transactions sealed in the block';
COMMENT ON COLUMN audit.blocks.event_count IS 'Events of those transactions';
COMMENT ON COLUMN audit.blocks.sealed_at IS 'When the block was sealed';
COMMENT ON COLUMN audit.blocks.txn_root IS 'Merkle root over the block''s transaction entries, in position order';
COMMENT ON COLUMN audit.blocks.prev_hash IS 'block_hash of the previous block (32 zero bytes for block 1)';
COMMENT ON COLUMN audit.blocks.block_hash IS 'SHA-256(0x02 || block head), docs/FORMAT.md';
COMMENT ON COLUMN audit.blocks.tree_root IS 'Merkle root over the hashes of blocks 1..block_id: the checkpoint root';
COMMENT ON COLUMN audit.blocks.signature IS 'Ed25519 signature of the checkpoint at this block, when audit.signing_key is set';
COMMENT ON COLUMN audit.blocks.key_id IS 'Identifier of the signing key (hex of the first 8 bytes of SHA-256 of the raw public key)';

CREATE FUNCTION audit.verify(
	from_block bigint DEFAULT NULL,
	to_block bigint DEFAULT NULL,
	OUT ok boolean,
	OUT blocks_checked bigint,
	OUT transactions_checked bigint,
	OUT events_checked bigint,
	OUT unsealed_events bigint,
	OUT last_verified_block bigint,
	OUT head_hash bytea,
	OUT problems bigint,
	OUT first_problem text)
RETURNS record
AS 'MODULE_PATHNAME', 'audit_verify'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION audit.verify(bigint, bigint) IS
	'Check every event, transaction digest, block, link and signature (or the blocks of a range); one summary row';

CREATE FUNCTION audit.verify(
	digests jsonb,
	OUT ok boolean,
	OUT blocks_checked bigint,
	OUT transactions_checked bigint,
	OUT events_checked bigint,
	OUT unsealed_events bigint,
	OUT last_verified_block bigint,
	OUT head_hash bytea,
	OUT problems bigint,
	OUT first_problem text)
RETURNS record
AS 'MODULE_PATHNAME', 'audit_verify_checkpoints'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION audit.verify(jsonb) IS
	'Check the whole trail, and that it still extends each saved checkpoint (from audit.digest())';

CREATE FUNCTION audit.verify_report(
	from_block bigint DEFAULT NULL,
	to_block bigint DEFAULT NULL)
RETURNS TABLE (block_id bigint, txid xid8, event_id bigint, problem text, detail text)
AS 'MODULE_PATHNAME', 'audit_verify_report'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 10;
COMMENT ON FUNCTION audit.verify_report(bigint, bigint) IS
	'Every problem verification finds, one row each, in chain order';

-- Sealing reads the commit-position sequence and writes blocks: it runs
-- with the extension owner's rights, for audit_admin.
CREATE FUNCTION audit._seal() RETURNS bigint
AS 'MODULE_PATHNAME', 'audit_seal'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION audit._seal() FROM PUBLIC;

CREATE FUNCTION audit.seal() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT audit._seal() $$;
COMMENT ON FUNCTION audit.seal() IS
	'Seal every committed transaction now; returns the newest block id (NULL if none)';

CREATE FUNCTION audit.digest() RETURNS jsonb
AS 'MODULE_PATHNAME', 'audit_digest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION audit.digest() IS
	'The checkpoint of the newest block (chain id, tree size, root hash, signature): keep it outside the database';

CREATE FUNCTION audit.public_key() RETURNS text
AS 'MODULE_PATHNAME', 'audit_public_key'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION audit.public_key() IS
	'PEM public key of audit.signing_key, to check signatures outside the database';

REVOKE ALL ON FUNCTION audit.verify(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.verify(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.verify_report(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.seal() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.digest() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.public_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.verify(bigint, bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.verify(jsonb) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.verify_report(bigint, bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.digest() TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.public_key() TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.seal() TO audit_admin;

-- Proofs (docs/FORMAT.md, "Proofs").
CREATE FUNCTION audit.inclusion_proof(event_id bigint, at_block bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'audit_inclusion_proof'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION audit.inclusion_proof(bigint, bigint) IS
	'Proof that an event, with its content, is in the trail under the checkpoint at at_block (default: the newest block)';

CREATE FUNCTION audit.consistency_proof(from_block bigint, to_block bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'audit_consistency_proof'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION audit.consistency_proof(bigint, bigint) IS
	'Proof that the trail at to_block blocks (default: all) extends the trail at from_block blocks';

CREATE FUNCTION audit.verify_inclusion_proof(proof jsonb) RETURNS boolean
AS 'MODULE_PATHNAME', 'audit_verify_inclusion_proof'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION audit.verify_inclusion_proof(jsonb) IS
	'Check every element of an inclusion proof, from the event''s content to the checkpoint (and its signature when the key is configured)';

CREATE FUNCTION audit.verify_consistency_proof(proof jsonb) RETURNS boolean
AS 'MODULE_PATHNAME', 'audit_verify_consistency_proof'
LANGUAGE C STRICT IMMUTABLE;
COMMENT ON FUNCTION audit.verify_consistency_proof(jsonb) IS
	'Check a consistency proof between two checkpoints (RFC 9162 2.1.4.2)';

-- RFC 6962 Merkle primitives, over leaf hashes.
CREATE FUNCTION audit.merkle_root(leaves bytea[]) RETURNS bytea
AS 'MODULE_PATHNAME', 'audit_merkle_root'
LANGUAGE C STRICT IMMUTABLE;
CREATE FUNCTION audit.merkle_inclusion_path(leaves bytea[], leaf_index bigint) RETURNS bytea[]
AS 'MODULE_PATHNAME', 'audit_merkle_inclusion_path'
LANGUAGE C STRICT IMMUTABLE;
CREATE FUNCTION audit.merkle_consistency_path(leaves bytea[], old_size bigint) RETURNS bytea[]
AS 'MODULE_PATHNAME', 'audit_merkle_consistency_path'
LANGUAGE C STRICT IMMUTABLE;
CREATE FUNCTION audit.merkle_verify_inclusion(leaf bytea, leaf_index bigint, tree_size bigint,
                                              path bytea[], root bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'audit_merkle_verify_inclusion'
LANGUAGE C STRICT IMMUTABLE;
CREATE FUNCTION audit.merkle_verify_consistency(old_size bigint, new_size bigint, old_root bytea,
                                                new_root bytea, path bytea[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'audit_merkle_verify_consistency'
LANGUAGE C STRICT IMMUTABLE;
COMMENT ON FUNCTION audit.merkle_root(bytea[]) IS 'RFC 6962 Merkle tree hash (MTH) of the given leaf hashes';
COMMENT ON FUNCTION audit.merkle_inclusion_path(bytea[], bigint) IS 'RFC 6962 audit path of one leaf (0-based index)';
COMMENT ON FUNCTION audit.merkle_consistency_path(bytea[], bigint) IS 'RFC 6962 consistency proof between the first old_size leaves and all of them';
COMMENT ON FUNCTION audit.merkle_verify_inclusion(bytea, bigint, bigint, bytea[], bytea) IS 'RFC 9162 inclusion proof verification';
COMMENT ON FUNCTION audit.merkle_verify_consistency(bigint, bigint, bytea, bytea, bytea[]) IS 'RFC 9162 consistency proof verification';

REVOKE ALL ON FUNCTION audit.inclusion_proof(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.consistency_proof(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.verify_inclusion_proof(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.verify_consistency_proof(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.inclusion_proof(bigint, bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.consistency_proof(bigint, bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.verify_inclusion_proof(jsonb) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.verify_consistency_proof(jsonb) TO audit_reader;
REVOKE ALL ON FUNCTION audit.merkle_root(bytea[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.merkle_inclusion_path(bytea[], bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.merkle_consistency_path(bytea[], bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.merkle_verify_inclusion(bytea, bigint, bigint, bytea[], bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.merkle_verify_consistency(bigint, bigint, bytea, bytea, bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.merkle_root(bytea[]) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.merkle_inclusion_path(bytea[], bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.merkle_consistency_path(bytea[], bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.merkle_verify_inclusion(bytea, bigint, bigint, bytea[], bytea) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.merkle_verify_consistency(bigint, bigint, bytea, bytea, bytea[]) TO audit_reader;
