-- Statement capture: what is recorded, with which who-and-where.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
SELECT current_user AS superuser \gset

-- The CREATE EXTENSION itself is recorded, its script's statements are not.
SELECT count(*) FILTER (WHERE command = 'CREATE EXTENSION' AND object_name = 'audit_ext') >= 1 AS create_recorded,
       count(*) FILTER (WHERE statement LIKE 'CREATE SCHEMA audit%') AS script_statements
  FROM audit.events;

CREATE ROLE regress_alice LOGIN;
CREATE ROLE regress_bob NOLOGIN;
GRANT regress_bob TO regress_alice;
CREATE SCHEMA regress_app AUTHORIZATION regress_alice;
GRANT CREATE, USAGE ON SCHEMA regress_app TO regress_bob;
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- An ordinary role, over TCP from 127.0.0.1, with no privilege on audit.
\c - regress_alice
SET application_name = 'regress_capture';
SET search_path = regress_app;
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'ben', 50), (3, 'cy', 0);
UPDATE accounts SET balance = balance + 10 WHERE id < 3;
DELETE FROM accounts WHERE id = 3;
MERGE INTO accounts a USING (VALUES (2, 5), (4, 7)) v(id, amt) ON a.id = v.id
  WHEN MATCHED THEN UPDATE SET balance = balance - v.amt
  WHEN NOT MATCHED THEN INSERT VALUES (v.id, 'dee', v.amt);
SELECT inet_client_addr() AS my_addr, inet_client_port() AS my_port,
       pg_backend_pid() AS my_pid \gset
\c - :superuser
SELECT command, object_name, rows_affected, statement,
       session_role, effective_role, application_name,
       client_addr, client_addr = :'my_addr'::inet AS addr_ok,
       client_port = :my_port AS port_ok, backend_pid = :my_pid AS pid_ok,
       database = current_database() AS db_ok, kind
  FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id ORDER BY event_id;

-- Each statement's transaction id; one transaction can hold several events.
SELECT count(DISTINCT txid) AS transactions, count(*) AS events
  FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id;
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- The effective role follows SET ROLE; the session role does not.
\c - regress_alice
SET ROLE regress_bob;
CREATE TABLE regress_app.bobs (n int);
INSERT INTO regress_app.bobs VALUES (1);
RESET ROLE;
-- txid is the transaction that wrote the change.
BEGIN;
INSERT INTO regress_app.accounts VALUES (10, 'eve', 1);
SELECT pg_current_xact_id() AS my_xid \gset
COMMIT;
\c - :superuser
SELECT command, object_name, session_role, effective_role
  FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id ORDER BY event_id;
SELECT txid = :'my_xid'::xid8 AS txid_ok, statement
  FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id AND command = 'INSERT'
       AND object_name = 'regress_app.accounts';
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- Rolled back work leaves no events; a rolled-back savepoint only loses
-- its own.
BEGIN;
INSERT INTO regress_app.accounts VALUES (20, 'rolled back', 0);
CREATE TABLE regress_app.never (a int);
ROLLBACK;
BEGIN;
INSERT INTO regress_app.accounts VALUES (21, 'kept', 0);
SAVEPOINT s1;
INSERT INTO regress_app.accounts VALUES (22, 'undone', 0);
ROLLBACK TO s1;
INSERT INTO regress_app.accounts VALUES (23, 'kept too', 0);
COMMIT;
-- A failing statement leaves no statement event: it is recorded as an error
-- (through the event queue, committed before the session goes on).
INSERT INTO regress_app.accounts VALUES (21, 'duplicate', 0);
SELECT kind, command, sqlstate, statement FROM audit.events
 WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id ORDER BY event_id;
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- Several statements in one query string are recorded one by one, each
-- with its own text; nested statements are recorded with their own text.
SELECT 1 AS one \; INSERT INTO regress_app.accounts VALUES (30, 'x', 0) \; UPDATE regress_app.accounts SET owner = 'y' WHERE id = 30;
DO $$
BEGIN
	EXECUTE 'CREATE TABLE regress_app.dynamic (a int)';
	INSERT INTO regress_app.dynamic SELECT generate_series(1, 3);
END
$$;
-- EXPLAIN plans an UPDATE without running it: not a write.  EXPLAIN
-- ANALYZE runs it.
EXPLAIN (COSTS OFF) UPDATE regress_app.accounts SET balance = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) DELETE FROM regress_app.dynamic WHERE a = 1;
-- A data-modifying WITH is recorded under its data-modifying command.
WITH gone AS (DELETE FROM regress_app.dynamic WHERE a = 2 RETURNING a)
SELECT count(*) FROM gone;
-- Prepared statements record the statement that ran, once.
PREPARE upd(int) AS UPDATE regress_app.accounts SET balance = $1 WHERE id = 30;
EXECUTE upd(5);
DEALLOCATE upd;
-- Utility writes: COPY FROM with its row count, TRUNCATE with its tables.
COPY regress_app.dynamic FROM STDIN;
7
8
\.
TRUNCATE regress_app.dynamic;
SELECT command, object_name, rows_affected, statement FROM audit.events
 WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id ORDER BY event_id;
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- DDL names its object schema-qualified, also when dropped.
SET search_path = regress_app;
ALTER TABLE accounts ADD COLUMN note text;
CREATE INDEX accounts_owner_idx ON accounts (owner);
CREATE VIEW rich AS SELECT * FROM accounts WHERE balance > 50;
CREATE SEQUENCE tickets;
ALTER TABLE accounts RENAME COLUMN note TO remark;
DROP VIEW rich;
DROP TABLE dynamic, bobs;
DROP TABLE IF EXISTS no_such_table;
CREATE TEMP TABLE scratch (a int);
CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT 2 * $1';
DROP FUNCTION twice(int);
DROP FUNCTION IF EXISTS no_such_function(int);
RESET search_path;
SELECT command, regexp_replace(object_name, 'pg_temp_\d+', 'pg_temp_N') AS object_name
  FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id ORDER BY event_id;

-- Reads are not recorded by the foundation.
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset
SELECT count(*) FROM regress_app.accounts;
SELECT count(*) AS new_events FROM audit.events WHERE kind NOT IN ('login', 'logout') AND event_id > :start_id;

SELECT ok, problems, first_problem FROM audit.verify();

DROP SCHEMA regress_app CASCADE;
DROP ROLE regress_bob;
DROP ROLE regress_alice;
