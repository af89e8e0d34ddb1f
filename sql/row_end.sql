-- audit.row_end (0.6): the row capture notes each TRUNCATE and each UPDATE
-- that changed a row's key, so audit.row_as_of() finds "gone since" in an
-- index instead of reading the table's events in between.  Checked here:
-- what is noted (and what is not), that it is exactly what the trail says
-- (the same query the 0.6 update script fills it with), subtransactions,
-- partitions, and erasure removing a noted key.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_re;
SET search_path = regress_re;
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset

-- What the trail says row_end must hold (sql/0.6/10_row_end.sql's fill).
CREATE FUNCTION pg_temp.expected() RETURNS TABLE (event_id bigint, object_name text,
	partition text, row_key jsonb, occurred_at timestamptz)
LANGUAGE sql AS $$
	SELECT e.event_id, e.object_name, e.detail ->> 'partition',
		   CASE WHEN e.command = 'UPDATE' THEN audit._old_row_key(e.row_key, e.old_row) END,
		   e.occurred_at
	  FROM audit.event e
	 WHERE e.kind = 'row'
	   AND (e.command = 'TRUNCATE'
			OR (e.command = 'UPDATE' AND audit._old_row_key(e.row_key, e.old_row) <> e.row_key))
$$;
CREATE VIEW pg_temp.noted AS
	SELECT g.event_id - :mark AS event, e.command, g.object_name, g.partition, g.row_key
	  FROM audit.row_end g JOIN audit.event e USING (event_id)
	 WHERE g.event_id > :mark ORDER BY g.event_id;

CREATE TABLE acct (id numeric PRIMARY KEY, region text, owner text);
SELECT audit.track('regress_re.acct') IS NULL AS tracked;
INSERT INTO acct VALUES (1, 'eu', 'ann'), (2, 'eu', 'ben'), (3, 'us', 'cid');
UPDATE acct SET owner = 'anna' WHERE id = 1;           -- not the key: nothing
UPDATE acct SET id = 1.00 WHERE id = 1;                -- the same key as jsonb: nothing
UPDATE acct SET id = 20 WHERE id = 2;                  -- key 2 ends
BEGIN;
SAVEPOINT s;
UPDATE acct SET id = 30 WHERE id = 3;                  -- rolled back: nothing
ROLLBACK TO SAVEPOINT s;
UPDATE acct SET id = 3.5, owner = 'cy' WHERE id = 3;   -- key 3 ends
COMMIT;
BEGIN;
UPDATE acct SET id = 99 WHERE id = 20;                 -- whole transaction rolled back
ROLLBACK;
TRUNCATE acct;                                         -- every key ends
SELECT * FROM pg_temp.noted;

-- Partitions: the partition is noted; TRUNCATE of the parent notes each.
CREATE TABLE part (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE part_eu PARTITION OF part FOR VALUES IN ('eu');
CREATE TABLE part_us PARTITION OF part FOR VALUES IN ('us');
SELECT audit.track('regress_re.part') IS NULL AS tracked;
INSERT INTO part VALUES (1, 'eu'), (2, 'us');
UPDATE part SET id = 5 WHERE id = 1;                   -- in place: key ends
UPDATE part SET region = 'eu' WHERE id = 2;            -- moves: DELETE + INSERT, nothing
TRUNCATE part_us;
TRUNCATE part;
SELECT * FROM pg_temp.noted WHERE object_name = 'regress_re.part';

-- Exactly what the trail says, both ways.
SELECT count(*) AS missing FROM (SELECT * FROM pg_temp.expected() EXCEPT SELECT * FROM audit.row_end) x;
SELECT count(*) AS extra FROM (SELECT * FROM audit.row_end EXCEPT SELECT * FROM pg_temp.expected()) x;
-- audit.row_end_check() says so too; and names what an attacker past the
-- guard changed (rolled back).
SELECT count(*) AS problems FROM audit.row_end_check();
BEGIN;
DELETE FROM audit.row_end WHERE event_id = :mark + 13;
UPDATE audit.row_end SET row_key = '{"id": 7}' WHERE event_id = :mark + 17;
SELECT problem, event_id - :mark AS event FROM audit.row_end_check();
ROLLBACK;

-- row_as_of() answers from it: key 2 is gone after its UPDATE, 20 exists.
CREATE TABLE k (id int PRIMARY KEY, v text);
SELECT audit.track('regress_re.k') IS NULL AS tracked;
INSERT INTO k VALUES (1, 'one'), (2, 'two');
SELECT clock_timestamp() AS t1 \gset
UPDATE k SET id = 3 WHERE id = 2;
SELECT clock_timestamp() AS t2 \gset
TRUNCATE k;
SELECT clock_timestamp() AS t3 \gset
SELECT audit.row_as_of('k', '{"id": 2}', :'t1') ->> 'v' AS two_at_t1,
       audit.row_as_of('k', '{"id": 2}', :'t2') AS two_at_t2,
       audit.row_as_of('k', '{"id": 3}', :'t2') ->> 'v' AS three_at_t2,
       audit.row_as_of('k', '{"id": 1}', :'t2') ->> 'v' AS one_at_t2,
       audit.row_as_of('k', '{"id": 1}', :'t3') AS one_at_t3;

-- Erasing the key column of a key-changing UPDATE removes the noted key.
CREATE TABLE person (email text PRIMARY KEY, name text);
SELECT audit.track('regress_re.person') IS NULL AS tracked;
INSERT INTO person VALUES ('a@example.com', 'ann');
UPDATE person SET email = 'b@example.com' WHERE email = 'a@example.com';
SELECT row_key FROM audit.row_end WHERE object_name = 'regress_re.person';
SELECT event_id AS upd FROM audit.event
 WHERE object_name = 'regress_re.person' AND kind = 'row' AND command = 'UPDATE' \gset
SELECT audit.redact(:upd, '{email}', 'erasure request') > 0 AS erased;
SELECT count(*) AS noted_after_erasure FROM audit.row_end WHERE object_name = 'regress_re.person';
SELECT ok FROM audit.verify();

-- Nobody but the extension's own functions reads or writes it.
SET ROLE audit_reader;
SELECT count(*) FROM audit.row_end;
RESET ROLE;

DROP SCHEMA regress_re CASCADE;
