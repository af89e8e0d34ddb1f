-- Leaf hashes: recomputed independently in SQL from docs/FORMAT.md, and
-- verify() catching an altered event.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE TABLE regress_v (id int, s text);
INSERT INTO regress_v VALUES (1, 'plain'), (2, 'ünïcødé ✓'), (3, NULL);
UPDATE regress_v SET s = s || '!' WHERE id = 1;
DELETE FROM regress_v WHERE id = 3;

-- Events with format 2's columns filled: an application user and a
-- request context (jsonb) set for the transaction.
BEGIN;
SELECT audit.set_context('regress_app', '{"trace": "t-1", "n": [1, 2.50], "ü": null}');
UPDATE regress_v SET s = s || '?' WHERE id = 2;
COMMIT;

-- The encoding of docs/FORMAT.md, both format versions, written in SQL
-- with no help from the extension's C code.  leaf() takes a row of
-- audit.events or audit.event (any type with their columns); it is NULL for
-- an event the extension cannot have written: a format version not known,
-- or a format 1 event with values in the columns format 2 added.
CREATE FUNCTION pg_temp.f_bytes(tag bytea, b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN b IS NULL THEN '\x00'::bytea
	       ELSE tag || int4send(octet_length(b)) || b END $$;
CREATE FUNCTION pg_temp.f_int(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x01', int8send(v)) $$;
CREATE FUNCTION pg_temp.f_text(v text) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT pg_temp.f_bytes('\x02', convert_to(v, current_setting('server_encoding'))) $$;
CREATE FUNCTION pg_temp.f_ts(v timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x03',
	       int8send(((extract(epoch FROM v) - 946684800) * 1000000)::bigint)) $$;
CREATE FUNCTION pg_temp.f_inet(v inet) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x04', convert_to(CASE WHEN v IS NOT NULL THEN format('%s', v) END,
	                                          'SQL_ASCII')) $$;
CREATE FUNCTION pg_temp.f_json(v jsonb) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT pg_temp.f_bytes('\x05', convert_to(v::text, current_setting('server_encoding'))) $$;
CREATE FUNCTION pg_temp.leaf(e anyelement) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT sha256('\x00'::bytea
		|| CASE WHEN e.format_version = 2 THEN '\x0219'::bytea
		        WHEN e.format_version = 1
		         AND num_nonnulls(e.class, e.statement_id, e.nesting_level, e.app_user,
		                          e.context, e.parameters, e.objects, e.sqlstate,
		                          e.message, e.detail) = 0 THEN '\x010f'::bytea END
		|| pg_temp.f_int(e.event_id)
		|| pg_temp.f_int(e.txid::text::bigint)
		|| pg_temp.f_ts(e.occurred_at)
		|| pg_temp.f_text(e.kind)
		|| pg_temp.f_text(e.command)
		|| pg_temp.f_text(e.object_name)
		|| pg_temp.f_text(e.session_role)
		|| pg_temp.f_text(e.effective_role)
		|| pg_temp.f_inet(e.client_addr)
		|| pg_temp.f_int(e.client_port)
		|| pg_temp.f_text(e.application_name)
		|| pg_temp.f_int(e.backend_pid)
		|| pg_temp.f_text(e.database)
		|| pg_temp.f_text(e.statement)
		|| pg_temp.f_int(e.rows_affected)
		|| CASE WHEN e.format_version = 1 THEN ''::bytea ELSE
		      pg_temp.f_text(e.class)
		   || pg_temp.f_int(e.statement_id)
		   || pg_temp.f_int(e.nesting_level)
		   || pg_temp.f_text(e.app_user)
		   || pg_temp.f_json(e.context)
		   || pg_temp.f_json(e.parameters)
		   || pg_temp.f_json(e.objects)
		   || pg_temp.f_text(e.sqlstate)
		   || pg_temp.f_text(e.message)
		   || pg_temp.f_json(e.detail) END) $$;

-- The test vectors of docs/FORMAT.md: one event in format 1, and in format
-- 2 with its columns (a jsonb context whose keys jsonb reorders).
SELECT encode(pg_temp.leaf(ROW(
	42, '1000'::xid8, '2026-01-02 03:04:05.678901+00'::timestamptz,
	'statement', 'UPDATE', 'public.accounts', 'alice', 'bob',
	'127.0.0.1'::inet, 54321, 'psql', 4242, 'shop',
	'UPDATE accounts SET balance = 0 WHERE id = 1', 1, 1::smallint, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
)::audit.events), 'hex') AS test_vector_leaf_v1;
SELECT encode(pg_temp.leaf(ROW(
	42, '1000'::xid8, '2026-01-02 03:04:05.678901+00'::timestamptz,
	'statement', 'UPDATE', 'public.accounts', 'alice', 'bob',
	'127.0.0.1'::inet, 54321, 'psql', 4242, 'shop',
	'UPDATE accounts SET balance = 0 WHERE id = 1', 1, 2::smallint, NULL, NULL,
	'write', 42, 0, 'carol', '{"tenant": 7, "request": "r-17", "user": "zoë"}',
	NULL, NULL, NULL, NULL, NULL
)::audit.events), 'hex') AS test_vector_leaf_v2;

-- Every stored hash matches the specification, whatever the session's
-- TimeZone or DateStyle.
SET TimeZone = 'Pacific/Auckland';
SET DateStyle = 'SQL, DMY';
SELECT count(*) > 5 AS enough_events,
       count(*) FILTER (WHERE leaf_hash IS DISTINCT FROM pg_temp.leaf(e)) AS mismatches,
       count(*) FILTER (WHERE format_version = 2) = count(*) AS all_format_2,
       count(*) FILTER (WHERE context IS NOT NULL AND app_user = 'regress_app') > 0 AS with_context,
       count(*) FILTER (WHERE octet_length(leaf_hash) <> 32) AS bad_lengths
  FROM audit.events e;
RESET TimeZone;
RESET DateStyle;

SELECT ok, problems, first_problem, events_checked = (SELECT count(*) FROM audit.event) AS all_checked
  FROM audit.verify();

-- An altered event is reported, by id, with the expected and found hash;
-- the earliest altered event is the first problem.
SELECT min(event_id) AS first_id, max(event_id) AS last_id
  FROM audit.events WHERE object_name = 'public.regress_v' \gset
BEGIN;
UPDATE audit.event SET statement = 'SELECT 1' WHERE event_id = :last_id;
UPDATE audit.event SET rows_affected = 99 WHERE event_id = :first_id;
SELECT ok, problems,
       first_problem ~ ('^event ' || :first_id || ': event altered: stored leaf hash \\x[0-9a-f]{64}, computed \\x[0-9a-f]{64}$') AS names_first
  FROM audit.verify();
ROLLBACK;

-- A forged hash (well-formed, or not even 32 bytes); a changed format
-- version.
BEGIN;
UPDATE audit.event SET leaf_hash = sha256('forged') WHERE event_id = :first_id;
SELECT ok, problems,
       first_problem ~ ('^event ' || :first_id || ': event altered: stored leaf hash \\x' || encode(sha256('forged'), 'hex') || ', computed \\x[0-9a-f]{64}$') AS names_first
  FROM audit.verify();
-- The forged leaf no longer fits its transaction's digest either.
SELECT problem, event_id = :first_id AS the_event,
       txid = (SELECT txid FROM audit.event WHERE event_id = :first_id) AS its_txn
  FROM audit.verify_report();
ROLLBACK;
BEGIN;
UPDATE audit.event SET leaf_hash = '\x00' WHERE event_id = :first_id;
SELECT ok, problems, replace(first_problem, :'first_id', 'N') AS first_problem FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET format_version = 7 WHERE event_id = :first_id;
SELECT ok, problems, replace(first_problem, :'first_id', 'N') AS first_problem FROM audit.verify();
ROLLBACK;
-- The columns format 2 added are covered: an edited context, an event
-- passed off as format 1 (which would not hash them).
SELECT max(event_id) AS ctx_id FROM audit.events WHERE app_user = 'regress_app' \gset
BEGIN;
UPDATE audit.event SET context = context || '{"trace": "t-2"}' WHERE event_id = :ctx_id;
SELECT ok, problems, first_problem ~ ('^event ' || :ctx_id || ': event altered: stored leaf hash') AS names_it
  FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET format_version = 1, app_user = NULL, context = NULL,
       class = NULL, statement_id = NULL, nesting_level = NULL
 WHERE event_id = :ctx_id;
SELECT ok, problems, first_problem ~ ('^event ' || :ctx_id || ': event altered: stored leaf hash') AS names_it
  FROM audit.verify();
ROLLBACK;
SELECT ok FROM audit.verify();

-- A table altered behind the extension's back is refused, not written.
BEGIN;
ALTER TABLE audit.event ADD COLUMN extra int;
ROLLBACK;
BEGIN;
ALTER TABLE audit.event RENAME COLUMN statement TO query;
ROLLBACK;
SELECT ok FROM audit.verify();

DROP TABLE regress_v;

-- Both format versions in one trail.  The extension created at 0.1 writes
-- format 1 into 0.1's table layout (the library is 0.2's); proofs read
-- rows of that layout.  After ALTER EXTENSION UPDATE, format 2.
SET client_min_messages = warning;
DROP EXTENSION audit_ext;
CREATE EXTENSION audit_ext VERSION '0.1';
RESET client_min_messages;
CREATE TABLE regress_u (id int, note text);
INSERT INTO regress_u VALUES (1, 'one'), (2, NULL);
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT count(*) AS event_columns FROM pg_attribute
 WHERE attrelid = 'audit.event'::regclass AND attnum > 0 AND NOT attisdropped;
-- (Proofs of the sealed events: events that come through the event queue,
-- e.g. logins, may commit after the seal.)
SELECT bool_and(format_version = 1) AS all_format_1,
       bool_and(CASE WHEN block_id IS NOT NULL
                THEN audit.verify_inclusion_proof(audit.inclusion_proof(event_id)) END) AS proofs_hold
  FROM audit.events;
SELECT ok, problems FROM audit.verify();
ALTER EXTENSION audit_ext UPDATE;
BEGIN;
SELECT audit.set_context('regress_app', '{"trace": "t-3"}');
UPDATE regress_u SET note = 'uno' WHERE id = 1;
COMMIT;
DELETE FROM regress_u WHERE id = 2;
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT format_version, count(*) > 1 AS several,
       count(*) FILTER (WHERE leaf_hash IS DISTINCT FROM pg_temp.leaf(e)) AS mismatches,
       count(*) FILTER (WHERE num_nonnulls(class, statement_id, nesting_level, app_user,
                                           context, parameters, objects, sqlstate,
                                           message, detail) > 0) > 0 AS with_format_2_columns,
       bool_and(CASE WHEN block_id IS NOT NULL
                THEN audit.verify_inclusion_proof(audit.inclusion_proof(event_id)) END) AS proofs_hold
  FROM audit.events e GROUP BY format_version ORDER BY format_version;
SELECT ok, problems FROM audit.verify();
-- Tampering with an event of either version is caught.
SELECT min(event_id) FILTER (WHERE format_version = 1) AS v1_id,
       min(event_id) FILTER (WHERE format_version = 2) AS v2_id
  FROM audit.events WHERE object_name = 'public.regress_u' \gset
BEGIN;
UPDATE audit.event SET statement = 'SELECT 1' WHERE event_id IN (:v1_id, :v2_id);
SELECT problem, event_id = :v1_id AS v1, event_id = :v2_id AS v2 FROM audit.verify_report();
ROLLBACK;
-- A value in a column format 1 does not hash: no hash covers it; verify()
-- reports it, and the proof of that event no longer holds.
BEGIN;
UPDATE audit.event SET app_user = 'mallory' WHERE event_id = :v1_id;
SELECT problem, detail, event_id = :v1_id AS v1 FROM audit.verify_report();
ROLLBACK;
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:v1_id),
       '{event,app_user}', '"mallory"')) AS v1_with_app_user;
-- Proofs made by 0.1 have no keys for format 2's columns: fine for an
-- event of format 1, malformed for one of format 2.
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v1_id) #- '{event,app_user}'
       #- '{event,context}' #- '{event,detail}') AS v1_without_format_2_keys;
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v2_id) #- '{event,app_user}');
-- jsonb travels as its canonical text: other spacing does not hold, text
-- that is not JSON is malformed.
SELECT max(event_id) AS ctx_id FROM audit.events WHERE context IS NOT NULL \gset
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}',
       to_jsonb(replace(context::text, ': ', ':')))) AS other_spacing,
       audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}',
       to_jsonb(context::text))) AS canonical
  FROM audit.event WHERE event_id = :ctx_id;
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}', '"{"'));
DROP TABLE regress_u;
