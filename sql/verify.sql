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

-- The encoding of docs/FORMAT.md, written in SQL with no help from the
-- extension's C code.
CREATE FUNCTION pg_temp.f_int(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE '\x01'::bytea || int4send(8) || int8send(v) END $$;
CREATE FUNCTION pg_temp.f_text(v text) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE '\x02'::bytea
	            || int4send(octet_length(convert_to(v, current_setting('server_encoding'))))
	            || convert_to(v, current_setting('server_encoding')) END $$;
CREATE FUNCTION pg_temp.f_ts(v timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE '\x03'::bytea || int4send(8)
	            || int8send(((extract(epoch FROM v) - 946684800) * 1000000)::bigint) END $$;
CREATE FUNCTION pg_temp.f_inet(v inet) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
	       ELSE '\x04'::bytea || int4send(octet_length(format('%s', v)))
	            || convert_to(format('%s', v), 'SQL_ASCII') END $$;
CREATE FUNCTION pg_temp.leaf(e audit.events) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT sha256('\x00'::bytea || '\x01'::bytea || '\x0f'::bytea
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
		|| pg_temp.f_int(e.rows_affected)) $$;

-- The test vector of docs/FORMAT.md.
SELECT encode(pg_temp.leaf(ROW(
	42, '1000'::xid8, '2026-01-02 03:04:05.678901+00'::timestamptz,
	'statement', 'UPDATE', 'public.accounts', 'alice', 'bob',
	'127.0.0.1'::inet, 54321, 'psql', 4242, 'shop',
	'UPDATE accounts SET balance = 0 WHERE id = 1', 1, 1::smallint, NULL, NULL
)::audit.events), 'hex') AS test_vector_leaf;

-- Every stored hash matches the specification, whatever the session's
-- TimeZone or DateStyle.
SET TimeZone = 'Pacific/Auckland';
SET DateStyle = 'SQL, DMY';
SELECT count(*) > 5 AS enough_events,
       count(*) FILTER (WHERE leaf_hash <> pg_temp.leaf(e)) AS mismatches,
       count(*) FILTER (WHERE format_version <> 1) AS other_versions,
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
