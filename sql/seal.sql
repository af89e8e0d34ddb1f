-- Sealing and verification: transaction digests, blocks, the chain, the
-- tree of blocks, checkpoints; all recomputed in plain SQL from
-- docs/FORMAT.md, then tampered with (inside transactions that roll back).
--
-- The background sealer may seal at any moment, so nothing here depends on
-- who sealed a transaction: audit.seal() is called before block membership
-- is asserted, and block ids are shown relative to one taken here.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;

-- RFC 6962 Merkle tree hash: one leaf is the leaf itself; otherwise split
-- at the largest power of two below n, node = SHA-256(0x01 || left || right).
CREATE FUNCTION pg_temp.split(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT max(1 << g) FROM generate_series(0, 30) g WHERE (1 << g) < n $$;
SET check_function_bodies = off;   -- mth calls itself
CREATE FUNCTION pg_temp.mth(l bytea[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN cardinality(l) = 1 THEN l[1]
	       ELSE sha256('\x01'::bytea
	                   || pg_temp.mth(l[1:pg_temp.split(cardinality(l))])
	                   || pg_temp.mth(l[pg_temp.split(cardinality(l)) + 1:])) END $$;
RESET check_function_bodies;
-- Microseconds since 2000-01-01 UTC, as 8 big-endian bytes.
CREATE FUNCTION pg_temp.us(v timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT int8send(((extract(epoch FROM v) - 946684800) * 1000000)::bigint) $$;
-- A transaction entry (61 bytes) and its leaf hash.
CREATE FUNCTION pg_temp.txn_entry(t audit.txn) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT '\x01'::bytea || int8send(t.txid::text::bigint) || int8send(t.position)
	       || int4send(t.event_count) || pg_temp.us(t.committed_at) || t.digest $$;
CREATE FUNCTION pg_temp.txn_leaf(t audit.txn) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256('\x00'::bytea || pg_temp.txn_entry(t)) $$;
-- A block head (125 bytes).
CREATE FUNCTION pg_temp.block_head(b audit.block) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT '\x01'::bytea || (SELECT chain_id FROM audit.chain)
	       || int8send(b.block_id) || int8send(b.first_position)
	       || int8send(b.last_position) || int4send(b.txn_count)
	       || int8send(b.event_count) || pg_temp.us(b.sealed_at)
	       || b.txn_root || b.prev_hash $$;
-- An event's leaf hash (format versions 1 to 3), to forge well-formed
-- events.  This test tracks no table: a row image, which format 3 hashes
-- key by key (verify.sql does), makes it NULL.
CREATE FUNCTION pg_temp.f_int(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE '\x01'::bytea || int4send(8) || int8send(v) END $$;
CREATE FUNCTION pg_temp.f_text(v text, tag bytea DEFAULT '\x02') RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE tag || int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8') END $$;
CREATE FUNCTION pg_temp.event_leaf(e audit.event) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(CASE e.format_version WHEN 1 THEN '\x00010f'::bytea
	                                    WHEN 2 THEN '\x000219'::bytea ELSE '\x00031d'::bytea END
		|| pg_temp.f_int(e.event_id) || pg_temp.f_int(e.txid::text::bigint)
		|| '\x0300000008'::bytea || pg_temp.us(e.occurred_at)
		|| pg_temp.f_text(e.kind) || pg_temp.f_text(e.command)
		|| pg_temp.f_text(e.object_name) || pg_temp.f_text(e.session_role)
		|| pg_temp.f_text(e.effective_role) || pg_temp.f_text(host(e.client_addr), '\x04')
		|| pg_temp.f_int(e.client_port) || pg_temp.f_text(e.application_name)
		|| pg_temp.f_int(e.backend_pid) || pg_temp.f_text(e.database)
		|| pg_temp.f_text(e.statement) || pg_temp.f_int(e.rows_affected)
		|| CASE e.format_version WHEN 1 THEN '\x'::bytea ELSE
		   pg_temp.f_text(e.class) || pg_temp.f_int(e.statement_id)
		|| pg_temp.f_int(e.nesting_level) || pg_temp.f_text(e.app_user)
		|| pg_temp.f_text(e.context::text, '\x05') || pg_temp.f_text(e.parameters::text, '\x05')
		|| pg_temp.f_text(e.objects::text, '\x05') || pg_temp.f_text(e.sqlstate)
		|| pg_temp.f_text(e.message) || pg_temp.f_text(e.detail::text, '\x05') END
		|| CASE WHEN e.format_version < 3 THEN '\x'::bytea ELSE
		   CASE WHEN num_nonnulls(e.row_key, e.old_row, e.new_row) = 0 THEN '\x000000'::bytea END
		|| pg_temp.f_text(e.changed_columns::text, '\x05') END) $$;

-- The Merkle function against the RFC 6962 test vectors (Certificate
-- Transparency's eight leaves).
WITH v(i, x) AS (VALUES (1, ''::bytea), (2, '\x00'), (3, '\x10'), (4, '\x2021'),
		(5, '\x3031'), (6, '\x40414243'), (7, '\x5051525354555657'),
		(8, '\x606162636465666768696a6b6c6d6e6f')),
     l AS (SELECT array_agg(sha256('\x00'::bytea || x) ORDER BY i) AS a FROM v)
SELECT n, pg_temp.mth(a[1:n]) = decode(root, 'hex') AS root_ok
  FROM l, (VALUES
	(1, '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'),
	(2, 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'),
	(3, 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77'),
	(5, '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4'),
	(8, '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328')) r(n, root)
 ORDER BY n;

CREATE TABLE regress_seal (id int, note text);

-- audit.seal() seals everything committed and returns the newest block id;
-- with nothing new it returns the same id again.  (CREATE TABLE above is a
-- transaction of its own, so there is at least one block.)
SELECT audit.seal() AS b0 \gset
SELECT audit.seal() = :b0 AS nothing_new_same_id;

-- Transactions of 1, 2, 3 and 5 events, each sealed before the next one
-- commits: each is alone in the next block, whoever sealed it.
BEGIN;
INSERT INTO regress_seal VALUES (1, 'one');
SELECT pg_current_xact_id() AS x1 \gset
COMMIT;
SELECT audit.seal() AS b1 \gset
BEGIN;
INSERT INTO regress_seal VALUES (2, 'two');
UPDATE regress_seal SET note = 'two!' WHERE id = 2;
SELECT pg_current_xact_id() AS x2 \gset
COMMIT;
SELECT audit.seal() AS b2 \gset
BEGIN;
INSERT INTO regress_seal VALUES (3, 'three');
INSERT INTO regress_seal VALUES (4, 'three');
DELETE FROM regress_seal WHERE id = 4;
SELECT pg_current_xact_id() AS x3 \gset
COMMIT;
SELECT audit.seal() AS b3 \gset
BEGIN;
INSERT INTO regress_seal SELECT g, 'five' FROM generate_series(5, 9) g;
UPDATE regress_seal SET note = 'five!' WHERE id = 5;
DELETE FROM regress_seal WHERE id = 9;
CREATE INDEX regress_seal_id_idx ON regress_seal (id);
ALTER TABLE regress_seal ADD COLUMN extra int;
SELECT pg_current_xact_id() AS x5 \gset
COMMIT;
SELECT audit.seal() AS b5 \gset
-- Rolled-back savepoints lose their events, also when a savepoint inside
-- them was released; released savepoints keep theirs.  3 events remain.
BEGIN;
INSERT INTO regress_seal VALUES (10, 'kept');
SAVEPOINT a;
INSERT INTO regress_seal VALUES (11, 'rolled back');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO regress_seal VALUES (12, 'released');
RELEASE SAVEPOINT b;
SAVEPOINT c;
SAVEPOINT d;
INSERT INTO regress_seal VALUES (13, 'released inside rolled back');
RELEASE SAVEPOINT d;
ROLLBACK TO SAVEPOINT c;
SAVEPOINT e;
UPDATE regress_seal SET note = 'kept too' WHERE id = 10;
SAVEPOINT f;
DELETE FROM regress_seal WHERE id = 10;
ROLLBACK TO SAVEPOINT f;
RELEASE SAVEPOINT e;
SELECT pg_current_xact_id() AS xs \gset
COMMIT;
SELECT audit.seal() AS bs \gset
-- A rolled-back transaction leaves no digest.
BEGIN;
INSERT INTO regress_seal VALUES (14, 'rolled back');
SELECT pg_current_xact_id() AS xr \gset
ROLLBACK;
SELECT audit.seal() = :bs AS nothing_new_same_id;

SELECT :b1 - :b0 AS b1, :b2 - :b0 AS b2, :b3 - :b0 AS b3, :b5 - :b0 AS b5,
       :bs - :b0 AS bs;

-- Each digest is the Merkle root of the transaction's leaf hashes in event
-- id order; a single event's digest is its leaf hash.  Each transaction is
-- in the block seal() returned after it committed, and so are its events.
SELECT x.label, t.event_count,
       (SELECT count(*) FROM audit.events e WHERE e.txid = t.txid) AS events,
       t.digest = (SELECT pg_temp.mth(array_agg(e.leaf_hash ORDER BY e.event_id))
                     FROM audit.events e WHERE e.txid = t.txid) AS digest_ok,
       t.digest = (SELECT e.leaf_hash FROM audit.events e WHERE e.txid = t.txid
                    ORDER BY e.event_id LIMIT 1) AS digest_is_first_leaf,
       t.block_id = x.block AS in_block,
       (SELECT bool_and(e.block_id = x.block) FROM audit.events e
         WHERE e.txid = t.txid) AS events_in_block
  FROM (VALUES ('1 event', :'x1'::xid8, :b1::bigint), ('2 events', :'x2', :b2),
               ('3 events', :'x3', :b3), ('5 events', :'x5', :b5),
               ('savepoints', :'xs', :bs)) x(label, txid, block)
  JOIN audit.transactions t USING (txid)
 ORDER BY t.position;
SELECT statement FROM audit.events WHERE txid = :'xs' ORDER BY event_id;
SELECT count(*) AS rolled_back_rows FROM audit.transactions WHERE txid = :'xr';

-- Every block, recomputed: block_hash = SHA-256(0x02 || head) over a
-- 125-byte head; txn_root = Merkle root of its transactions' entry leaves
-- in position order; tree_root = Merkle root of the hashes of blocks 1..n;
-- prev_hash = the previous block_hash (zeros for block 1); positions
-- contiguous from 1; counts agree; ids from 1 without gaps.
WITH b AS (
	SELECT b.*, pg_temp.block_head(b) AS head,
	       lag(b.block_hash) OVER w AS prev_block_hash,
	       lag(b.last_position) OVER w AS prev_last,
	       array_agg(b.block_hash) OVER w AS hashes_so_far
	  FROM audit.block b WINDOW w AS (ORDER BY b.block_id))
SELECT count(*) = max(block_id) AND min(block_id) = 1 AS ids_from_1_no_gaps,
       bool_and(octet_length(head) = 125) AS heads_125_bytes,
       bool_and(block_hash = sha256('\x02'::bytea || head)) AS block_hashes_ok,
       bool_and(prev_hash = coalesce(prev_block_hash, '\x'::bytea || decode(repeat('00', 32), 'hex'))) AS prev_hash_links,
       bool_and(first_position = coalesce(prev_last, 0) + 1) AS positions_contiguous,
       bool_and(last_position >= first_position) AS ranges_not_empty,
       bool_and(tree_root = pg_temp.mth(hashes_so_far)) AS tree_roots_ok,
       bool_and(txn_root = (SELECT pg_temp.mth(array_agg(pg_temp.txn_leaf(t) ORDER BY t.position))
                              FROM audit.txn t
                             WHERE t.position BETWEEN b.first_position AND b.last_position)) AS txn_roots_ok,
       bool_and((txn_count, event_count) =
                (SELECT count(*)::int, sum(t.event_count)::bigint FROM audit.txn t
                  WHERE t.position BETWEEN b.first_position AND b.last_position)) AS counts_ok,
       bool_and(sealed_at >= (SELECT max(t.committed_at) FROM audit.txn t
                  WHERE t.position BETWEEN b.first_position AND b.last_position)) AS sealed_after_commit,
       bool_and(signature IS NULL AND key_id IS NULL) AS unsigned
  FROM b;
SELECT octet_length(pg_temp.txn_entry(t)) AS txn_entry_bytes
  FROM audit.txn t WHERE txid = :'x1';

-- After seal() every transaction, and every event, is in exactly one block.
SELECT count(*) FILTER (WHERE block_id IS NULL) AS unsealed_transactions,
       count(*) FILTER (WHERE (SELECT count(*) FROM audit.block b
                                WHERE t.position BETWEEN b.first_position AND b.last_position) <> 1) AS not_in_one_block
  FROM audit.transactions t;
SELECT count(*) FILTER (WHERE e.block_id IS NULL) AS unsealed_events,
       count(*) FILTER (WHERE e.block_id IS DISTINCT FROM t.block_id) AS event_block_differs
  FROM audit.events e JOIN audit.transactions t USING (txid);

-- verify(): ok, and it counted everything.
SELECT ok, problems, first_problem, unsealed_events,
       blocks_checked = (SELECT count(*) FROM audit.block) AS all_blocks,
       transactions_checked = (SELECT count(*) FROM audit.txn) AS all_transactions,
       events_checked = (SELECT count(*) FROM audit.event) AS all_events,
       last_verified_block = (SELECT max(block_id) FROM audit.block) AS last_block,
       head_hash = (SELECT block_hash FROM audit.block ORDER BY block_id DESC LIMIT 1) AS head_hash_ok
  FROM audit.verify();
SELECT count(*) AS problems FROM audit.verify_report();

-- verify(from, to): only the blocks of the range.  (from alone: to the end,
-- then the unsealed transactions; to alone: from block 1.)
SELECT r.label, v.ok, v.problems, v.blocks_checked = r.last - r.first + 1 AS blocks_ok,
       v.last_verified_block = r.last AS last_ok,
       v.transactions_checked = s.txns AS txns_ok, v.events_checked = s.events AS events_ok,
       v.head_hash = (SELECT block_hash FROM audit.block WHERE block_id = r.last) AS head_ok
  FROM (VALUES ('b1..b3', :b1::bigint, :b3::bigint, :b1::bigint, :b3::bigint),
               ('b2..b2', :b2, :b2, :b2, :b2),
               ('b5..', :b5, NULL, :b5, :bs),
               ('..b2', NULL, :b2, 1, :b2)) r(label, from_block, to_block, first, last)
  CROSS JOIN LATERAL audit.verify(r.from_block, r.to_block) v
  CROSS JOIN LATERAL (SELECT sum(txn_count) AS txns, sum(event_count) AS events
                        FROM audit.block WHERE block_id BETWEEN r.first AND r.last) s;
SELECT count(*) AS problems FROM audit.verify_report(:b1, :b3);

-- Reading the trail state in one snapshot: verify()'s unsealed events are
-- the events not yet in a block, whatever the sealer has done meanwhile.
INSERT INTO regress_seal VALUES (20, 'maybe unsealed');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT v.ok, v.unsealed_events = (SELECT count(*) FROM audit.events WHERE block_id IS NULL) AS unsealed_ok,
       v.unsealed_events = (SELECT coalesce(sum(event_count), 0) FROM audit.transactions
                             WHERE block_id IS NULL) AS unsealed_txns_ok
  FROM audit.verify() v;
COMMIT;

-- Sealing inside a transaction: its own (uncommitted) events are not
-- sealed, and a rolled-back seal leaves no block behind, its id unused.
SELECT audit.seal() AS b6 \gset
INSERT INTO regress_seal VALUES (21, 'committed before');
BEGIN;
INSERT INTO regress_seal VALUES (22, 'own, open');
SELECT pg_current_xact_id() AS xo \gset
SELECT audit.seal() = :b6 + 1 AS sealed_the_other;
SELECT count(*) FILTER (WHERE block_id IS NULL) AS own_unsealed
  FROM audit.events WHERE txid = :'xo';
ROLLBACK;
SELECT audit.seal() = :b6 + 1 AS same_id_after_rollback;
SELECT count(*) = :b6 + 1 AS no_extra_block FROM audit.block;
BEGIN;
INSERT INTO regress_seal VALUES (23, 'own, committed later');
SELECT pg_current_xact_id() AS xo \gset
SELECT audit.seal() = :b6 + 1 AS nothing_else_to_seal;
COMMIT;
SELECT audit.seal() = :b6 + 2 AS own_sealed_after_commit;
SELECT block_id = :b6 + 2 AS in_that_block FROM audit.transactions WHERE txid = :'xo';

-- A transaction that fails after PRE_COMMIT, when it already holds a commit
-- position, leaves a gap in the positions: committing a temporary table
-- that references an ON COMMIT DELETE ROWS one fails there.  The gap is
-- sealed over, the aborted transaction's statement appears nowhere (its
-- failure is an error event, in a transaction of the sealer's that takes
-- the next position), verify() is ok.
CREATE TEMP TABLE regress_oc_parent (id int PRIMARY KEY) ON COMMIT DELETE ROWS;
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT last_value AS pos_before FROM audit.txn_position_seq \gset
CREATE TEMP TABLE regress_oc_child (id int REFERENCES regress_oc_parent);
SELECT last_value AS pos_after FROM audit.txn_position_seq \gset
SELECT :pos_before + 1 AS pos_gap \gset
INSERT INTO regress_seal VALUES (30, 'after the gap');
SELECT audit.seal() IS NOT NULL AS sealed_over_gap;
-- The block over the gap (the sealer may have sealed it before us).
SELECT block_id AS b7 FROM audit.block
 WHERE :pos_gap BETWEEN first_position AND last_position \gset
SELECT :pos_after - :pos_before AS positions_taken,
       (SELECT count(*) FROM audit.txn WHERE position = :pos_gap) AS txn_at_gap,
       (SELECT count(*) FROM audit.block WHERE :pos_gap BETWEEN first_position AND last_position) AS blocks_over_gap,
       (SELECT count(*) FROM audit.events WHERE statement LIKE '%regress_oc_child%' AND kind = 'statement') AS aborted_events,
       (SELECT count(*) FROM audit.events WHERE statement LIKE '%regress_oc_child%' AND kind = 'error') AS error_events,
       to_regclass('regress_oc_child') IS NULL AS child_absent;
SELECT ok, problems, unsealed_events FROM audit.verify();
DROP TABLE regress_oc_parent;

-- Checkpoints: audit.digest() describes the newest block.
SELECT audit.seal() AS bd \gset
SELECT audit.digest() AS d \gset
SELECT array_agg(k ORDER BY k) AS keys FROM jsonb_object_keys(:'d'::jsonb) k;
SELECT (d->>'format')::int AS format,
       (d->>'block_id')::bigint = :bd AS block_id_ok,
       (d->>'tree_size')::bigint = :bd AS tree_size_ok,
       decode(d->>'root_hash', 'hex') = b.tree_root AS root_ok,
       decode(d->>'block_hash', 'hex') = b.block_hash AS block_hash_ok,
       decode(d->>'chain_id', 'hex') = (SELECT chain_id FROM audit.chain) AS chain_ok,
       d->>'database' = current_database() AS database_ok,
       d->>'system_identifier' = (SELECT system_identifier::text FROM pg_control_system()) AS sysid_ok,
       (d->>'sealed_at')::timestamptz = b.sealed_at AS sealed_at_ok,
       d->'signature' = 'null' AND d->'key_id' = 'null' AS unsigned
  FROM (SELECT :'d'::jsonb AS d) s, audit.block b WHERE b.block_id = :bd;
SELECT ok, problems FROM audit.verify(:'d'::jsonb);
-- The trail grows; the old checkpoint still holds, alone or with a newer
-- one (an array), and without the optional chain_id.
INSERT INTO regress_seal VALUES (40, 'after the checkpoint');
SELECT audit.seal() = :bd + 1 AS grew;
SELECT audit.digest() AS d2 \gset
SELECT ok, problems FROM audit.verify(jsonb_build_array(:'d'::jsonb, :'d2'::jsonb));
SELECT ok, problems FROM audit.verify(:'d'::jsonb - 'chain_id');
-- A checkpoint whose root the trail does not have, or of another trail.
SELECT ok, problems, first_problem LIKE 'block ' || :bd || ': %' AS at_its_block,
       regexp_replace(first_problem, '^block \d+|\\x[0-9a-f]{64}', 'N', 'g') AS first_problem
  FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', to_jsonb(encode(sha256('x'), 'hex'))));
SELECT ok, problems, regexp_replace(first_problem, '^block \d+', 'N') AS first_problem
  FROM audit.verify(jsonb_set(:'d'::jsonb, '{chain_id}', '"00000000000000000000000000000000"'));
-- A checkpoint beyond the head: the trail was truncated.
SELECT ok, problems, first_problem LIKE 'block ' || :bd + 5 || ': %' AS at_its_block,
       regexp_replace(first_problem, '\d+', 'N', 'g') AS first_problem
  FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', to_jsonb(:bd + 5)));
-- Deleting the newest block goes unnoticed by verify() alone (its
-- transactions simply look unsealed again); the checkpoint saved at that
-- block catches it.
BEGIN;
DELETE FROM audit.block WHERE block_id = :bd + 1;
SELECT ok, problems, unsealed_events > 0 AS unsealed_again FROM audit.verify();
SELECT ok, problems, regexp_replace(first_problem, '\d+', 'N', 'g') AS first_problem
  FROM audit.verify(:'d2'::jsonb);
SELECT ok, problems FROM audit.verify(:'d'::jsonb);
ROLLBACK;

-- Tampering, each inside a transaction that rolls back.  verify_report()
-- names every problem, in chain order, with where it is; shown here with
-- the labels of the blocks and transactions made above, and events
-- numbered within their transaction.
CREATE TEMP TABLE regress_marks (label text, block bigint, txid xid8);
INSERT INTO regress_marks VALUES
	('b1', :b1, :'x1'), ('b2', :b2, :'x2'), ('b3', :b3, :'x3'),
	('b5', :b5, :'x5'), ('bs', :bs, :'xs'), ('b7', :b7, NULL),
	('rolled back', NULL, :'xr');
CREATE FUNCTION pg_temp.report() RETURNS TABLE (problem text, block text, txn text, event bigint)
LANGUAGE sql AS $$
	SELECT r.problem,
	       CASE WHEN r.block_id IS NOT NULL
	            THEN coalesce((SELECT label FROM regress_marks WHERE block = r.block_id), 'other') END,
	       CASE WHEN r.txid IS NOT NULL
	            THEN coalesce((SELECT label FROM regress_marks WHERE txid = r.txid), 'other') END,
	       CASE WHEN r.event_id IS NOT NULL
	            THEN (SELECT count(*) FROM audit.event e
	                   WHERE e.txid = r.txid AND e.event_id <= r.event_id) END
	  FROM audit.verify_report() WITH ORDINALITY r(block_id, txid, event_id, problem, detail, n)
	 ORDER BY r.n $$;
-- Everything sealed, so that which block is the head does not depend on
-- the background sealer.
SELECT audit.seal() IS NOT NULL AS sealed;
-- The forging helper reproduces every stored leaf hash.
SELECT bool_and(pg_temp.event_leaf(e) = e.leaf_hash) AS leaf_function_ok FROM audit.event e;

-- An event altered: the third of the 5-event transaction.
BEGIN;
UPDATE audit.event SET rows_affected = rows_affected + 1
 WHERE event_id = (SELECT event_id FROM audit.event WHERE txid = :'x5' ORDER BY event_id OFFSET 2 LIMIT 1);
SELECT * FROM pg_temp.report();
ROLLBACK;
-- An event deleted.
BEGIN;
DELETE FROM audit.event
 WHERE event_id = (SELECT event_id FROM audit.event WHERE txid = :'x5' ORDER BY event_id OFFSET 1 LIMIT 1);
SELECT * FROM pg_temp.report();
ROLLBACK;
-- Events inserted, with well-formed leaf hashes: into a sealed transaction,
-- and as a transaction that rolled back (so has no digest).
BEGIN;
INSERT INTO audit.event
SELECT e.event_id + 1000000, e.format_version, x.txid, e.occurred_at, e.kind,
       e.command, e.object_name, e.session_role, e.effective_role, e.client_addr,
       e.client_port, e.application_name, e.backend_pid, e.database,
       'DELETE FROM regress_seal', 1, '\x'
  FROM audit.event e, (VALUES (:'x3'::xid8, 0), (:'xr', 1)) x(txid, n)
 WHERE e.event_id = (SELECT max(event_id) FROM audit.event WHERE txid = :'x3') + x.n;
UPDATE audit.event e SET leaf_hash = pg_temp.event_leaf(e) WHERE leaf_hash = '\x';
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A digest replaced by another transaction's: the transaction's events no
-- longer match it, and its block's transaction root no longer matches.
BEGIN;
UPDATE audit.txn SET digest = (SELECT digest FROM audit.txn WHERE txid = :'x1')
 WHERE txid = :'x2';
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A transaction's commit time changed: only its block's root notices.
BEGIN;
UPDATE audit.txn SET committed_at = committed_at - interval '1 hour' WHERE txid = :'x5';
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A transaction's count changed.
BEGIN;
UPDATE audit.txn SET event_count = 6 WHERE txid = :'x5';
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A transaction deleted: missing from its block, its events orphaned.
BEGIN;
DELETE FROM audit.txn WHERE txid = :'x3';
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A transaction inserted into the gap an aborted transaction left.
BEGIN;
INSERT INTO audit.txn VALUES (:'xr', :pos_gap, 1, now(), sha256('forged'));
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A block's count changed: its head no longer hashes to its hash, nor
-- does the tree of blocks match.
BEGIN;
UPDATE audit.block SET event_count = event_count + 1 WHERE block_id = :b3;
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A block hash replaced: the block, and the link from the next one.
BEGIN;
UPDATE audit.block SET block_hash = sha256(block_hash) WHERE block_id = :b2;
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A block's stored tree root replaced.
BEGIN;
UPDATE audit.block SET tree_root = sha256(tree_root) WHERE block_id = :b5;
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A block deleted from the middle: the chain is broken after it.
BEGIN;
DELETE FROM audit.block WHERE block_id = :b3;
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A block appended after the head, claiming a transaction at the next
-- position: its head, hash, link and tree root are all well-formed, but the
-- transaction it seals does not exist.
BEGIN;
INSERT INTO audit.block
SELECT block_id + 1, last_position + 1, last_position + 1, 1, 1, now(),
       sha256('forged'), block_hash, '\x', '\x', tree_frontier, NULL, NULL
  FROM audit.block ORDER BY block_id DESC LIMIT 1;
UPDATE audit.block b SET block_hash = sha256('\x02'::bytea || pg_temp.block_head(b))
 WHERE block_hash = '\x';
UPDATE audit.block SET tree_root = (SELECT pg_temp.mth(array_agg(block_hash ORDER BY block_id))
                                      FROM audit.block)
 WHERE tree_root = '\x';
INSERT INTO regress_marks SELECT 'appended', max(block_id), NULL FROM audit.block;
SELECT * FROM pg_temp.report();
ROLLBACK;
-- A range stops at its ends: a problem outside it is not reported.
BEGIN;
UPDATE audit.event SET statement = 'forged' WHERE txid = :'x1';
SELECT ok, problems FROM audit.verify(:b2, :b5);
SELECT ok, problems FROM audit.verify(:b1, :b1);
SELECT count(*) AS problems FROM audit.verify_report(:b1, :b1);
ROLLBACK;
SELECT ok, problems FROM audit.verify();

-- Argument errors.
SELECT * FROM audit.verify(0);
SELECT * FROM audit.verify(-1);
SELECT * FROM audit.verify(NULL, 0);
SELECT * FROM audit.verify(NULL, -7);
SELECT * FROM audit.verify(5, 4);
SELECT * FROM audit.verify(9223372036854775807);
SELECT * FROM audit.verify(9223372036854775807, 9223372036854775807);
SELECT * FROM audit.verify_report(0);
SELECT * FROM audit.verify_report(NULL, 0);
SELECT * FROM audit.verify_report(5, 4);
SELECT * FROM audit.verify_report(9223372036854775807);
-- Both ends of a range must exist: a block past the newest is refused too.
-- (Not just one past: each refusal is an error event, sealed in a block.)
SELECT max(block_id) + 100 AS past FROM audit.blocks \gset
\set VERBOSITY sqlstate
SELECT * FROM audit.verify(:past);
SELECT * FROM audit.verify(1, :past);
SELECT * FROM audit.verify_report(:past);
\set VERBOSITY terse
-- Saved checkpoints that are not checkpoints.
SELECT * FROM audit.verify('"a string"'::jsonb);
SELECT * FROM audit.verify('42'::jsonb);
SELECT * FROM audit.verify('null'::jsonb);
SELECT * FROM audit.verify('[[]]'::jsonb);
SELECT * FROM audit.verify(jsonb_build_array(:'d'::jsonb, 5));
SELECT * FROM audit.verify('{}'::jsonb);
SELECT * FROM audit.verify(:'d'::jsonb - 'root_hash');
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', 'null'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', '"zz"'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', to_jsonb(repeat('g', 64))));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', to_jsonb(repeat('0', 62))));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{chain_id}', '"abc"'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', to_jsonb(:'bd'::text)));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', '0'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', '-3'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', '1.5'));
SELECT * FROM audit.verify(jsonb_set(:'d'::jsonb, '{block_id}', '1e30'));
-- A root_hash with a \x prefix is accepted, and NULL gives NULL.
SELECT ok, problems FROM audit.verify(jsonb_set(:'d'::jsonb, '{root_hash}', to_jsonb('\x' || (:'d'::jsonb->>'root_hash'))));
SELECT audit.verify(NULL::jsonb) IS NULL AS null_in_null_out;

-- Two-phase commit of audited changes is refused (SQLSTATE 0A000), and the
-- transaction rolls back; a transaction with no events left may be prepared.
BEGIN;
INSERT INTO regress_seal VALUES (50, 'prepared');
\set VERBOSITY default
PREPARE TRANSACTION 'regress_seal_p1';
\set VERBOSITY sqlstate
BEGIN;
INSERT INTO regress_seal VALUES (51, 'prepared');
PREPARE TRANSACTION 'regress_seal_p1';
\set VERBOSITY terse
SELECT (SELECT count(*) FROM regress_seal WHERE id >= 50) AS rows,
       (SELECT count(*) FROM audit.events WHERE statement LIKE '%''prepared''%') AS events,
       (SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'regress_seal_p1') AS prepared;
BEGIN;
SAVEPOINT s;
INSERT INTO regress_seal VALUES (52, 'rolled back before prepare');
ROLLBACK TO SAVEPOINT s;
PREPARE TRANSACTION 'regress_seal_p2';
COMMIT PREPARED 'regress_seal_p2';
SELECT count(*) AS events FROM audit.events WHERE statement LIKE '%before prepare%';

-- Who may seal: audit_admin; not audit_reader (who may verify), nor PUBLIC.
CREATE ROLE regress_sealer IN ROLE audit_admin;
CREATE ROLE regress_reader IN ROLE audit_reader;
CREATE ROLE regress_nobody;
SELECT audit.seal() AS bz \gset
INSERT INTO regress_seal VALUES (60, 'sealed by an admin');
SET ROLE regress_sealer;
SELECT audit.seal() = :bz + 1 AS admin_seals;
SET ROLE regress_reader;
SELECT audit.seal();
SELECT audit._seal();
SELECT ok, problems FROM audit.verify();
-- (The refusals above are error events: sealed in blocks of their own.)
SELECT (audit.digest()->>'block_id')::bigint >= :bz + 1 AS reader_gets_digest;
SET ROLE regress_nobody;
SELECT audit.seal();
SELECT audit.digest();
RESET ROLE;
DROP ROLE regress_sealer;
DROP ROLE regress_reader;
DROP ROLE regress_nobody;

SELECT audit.seal() IS NOT NULL AS sealed;
SELECT ok, problems, unsealed_events FROM audit.verify();
DROP TABLE regress_seal;
