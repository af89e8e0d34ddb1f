-- Statement classes and audit.log; -class subtraction and invalid values;
-- audit.log_catalog; role and relation exclusions; changes of audit
-- settings recorded whatever audit.log says; nesting levels and statement
-- ids; prepared statements and parameters; the statement and parameter
-- caps; password redaction; the application user and context.
--
-- Only events newer than a saved max(event_id) are looked at, and no ids,
-- pids or times are printed (differences to the first id of a statement
-- are).  While audit.log records reads, the queries of audit.events would
-- be recorded themselves: audit.log is reset before each look.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
SELECT current_user AS superuser \gset

CREATE ROLE regress_sc_reader NOLOGIN;
CREATE ROLE regress_sc_quiet LOGIN;
CREATE ROLE "Regress_SC_Mixed" LOGIN;
CREATE SCHEMA sc;
CREATE TABLE sc.items (id int, label text);
CREATE TABLE sc.noisy (id int);
CREATE TABLE sc."Noisy Table" (id int);
GRANT USAGE, CREATE ON SCHEMA sc TO regress_sc_quiet, "Regress_SC_Mixed";
GRANT regress_sc_reader TO regress_sc_quiet;
GRANT ALL ON sc.items, sc.noisy TO regress_sc_quiet, "Regress_SC_Mixed";
CREATE FUNCTION sc.touch(v int) RETURNS int LANGUAGE plpgsql
	AS $$ BEGIN RETURN v; END $$;
CREATE PROCEDURE sc.nop() LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;

-- ---------------------------------------------------------------------------
-- 1. One fixed script with statements of every class, run under each value
--    of audit.log.  Transaction control and PREPARE/EXECUTE are never
--    recorded (the INSERT that EXECUTE runs is).  The SET and RESET of
--    audit.log around each run are recorded too (they change an audit
--    setting), as misc_set.
-- ---------------------------------------------------------------------------
SELECT $script$
CREATE TABLE sc.scratch (a int);
DROP TABLE sc.scratch;
INSERT INTO sc.items VALUES (1, 'one');
UPDATE sc.items SET label = 'uno' WHERE id = 1;
DELETE FROM sc.items WHERE id = 1;
TRUNCATE sc.items;
SELECT count(*) AS n FROM sc.items;
COPY sc.items TO STDOUT;
GRANT SELECT ON sc.items TO regress_sc_reader;
REVOKE SELECT ON sc.items FROM regress_sc_reader;
SET ROLE regress_sc_reader;
RESET ROLE;
SELECT sc.touch(1) AS touched;
DO $$ BEGIN NULL; END $$;
CALL sc.nop();
ANALYZE sc.items;
EXPLAIN (COSTS OFF) SELECT * FROM sc.items;
SET work_mem = '8MB';
SHOW work_mem;
RESET work_mem;
BEGIN;
COMMIT;
PREPARE ins AS INSERT INTO sc.items VALUES (2, 'two');
EXECUTE ins;
DEALLOCATE ins;
$script$ AS script \gset

-- all: the reference
SELECT max(event_id) AS s_all FROM audit.events \gset
SET audit.log = 'all';
:script
RESET audit.log;
SELECT max(event_id) AS e_all FROM audit.events \gset
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :s_all ORDER BY event_id;

-- ddl
SELECT max(event_id) AS s_ddl FROM audit.events \gset
SET audit.log = 'ddl';
:script
RESET audit.log;
SELECT max(event_id) AS e_ddl FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_ddl ORDER BY event_id;

-- write
SELECT max(event_id) AS s_write FROM audit.events \gset
SET audit.log = 'write';
:script
RESET audit.log;
SELECT max(event_id) AS e_write FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_write ORDER BY event_id;

-- read
SELECT max(event_id) AS s_read FROM audit.events \gset
SET audit.log = 'read';
:script
RESET audit.log;
SELECT max(event_id) AS e_read FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_read ORDER BY event_id;

-- role
SELECT max(event_id) AS s_role FROM audit.events \gset
SET audit.log = 'role';
:script
RESET audit.log;
SELECT max(event_id) AS e_role FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_role ORDER BY event_id;

-- function
SELECT max(event_id) AS s_function FROM audit.events \gset
SET audit.log = 'function';
:script
RESET audit.log;
SELECT max(event_id) AS e_function FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_function ORDER BY event_id;

-- misc
SELECT max(event_id) AS s_misc FROM audit.events \gset
SET audit.log = 'misc';
:script
RESET audit.log;
SELECT max(event_id) AS e_misc FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_misc ORDER BY event_id;

-- misc_set
SELECT max(event_id) AS s_misc_set FROM audit.events \gset
SET audit.log = 'misc_set';
:script
RESET audit.log;
SELECT max(event_id) AS e_misc_set FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_misc_set ORDER BY event_id;

-- all, -read
SELECT max(event_id) AS s_noread FROM audit.events \gset
SET audit.log = 'all, -read';
:script
RESET audit.log;
SELECT max(event_id) AS e_noread FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_noread ORDER BY event_id;

-- none
SELECT max(event_id) AS s_none FROM audit.events \gset
SET audit.log = 'none';
:script
RESET audit.log;
SELECT max(event_id) AS e_none FROM audit.events \gset
SELECT class, command, object_name FROM audit.events
 WHERE event_id > :s_none ORDER BY event_id;

-- Each run, leaving out the SET and RESET of audit.log, is exactly the
-- share of the "all" run that its classes select, in the same order.
WITH runs(setting, lo, hi, classes) AS (VALUES
	('ddl', :s_ddl, :e_ddl, '{ddl}'::text[]),
	('write', :s_write, :e_write, '{write}'),
	('read', :s_read, :e_read, '{read}'),
	('role', :s_role, :e_role, '{role}'),
	('function', :s_function, :e_function, '{function}'),
	('misc', :s_misc, :e_misc, '{misc}'),
	('misc_set', :s_misc_set, :e_misc_set, '{misc_set}'),
	('all, -read', :s_noread, :e_noread,
	 '{ddl,write,role,function,misc,misc_set}'),
	('none', :s_none, :e_none, '{}')),
ev AS (
	SELECT event_id, format('%s|%s|%s', class, command, object_name) AS row, class
	  FROM audit.events
	 WHERE event_id > :s_all AND statement !~* '^(SET|RESET) audit\.log\M')
SELECT r.setting,
       (SELECT count(*) FROM ev WHERE event_id > r.lo AND event_id <= r.hi) AS events,
       (SELECT coalesce(array_agg(row ORDER BY event_id), '{}') FROM ev
         WHERE event_id > r.lo AND event_id <= r.hi)
       = (SELECT coalesce(array_agg(row ORDER BY event_id), '{}') FROM ev
          WHERE event_id > :s_all AND event_id <= :e_all
            AND class = ANY (r.classes)) AS same_as_in_all
  FROM runs r;

-- Subtraction applies in order; class names are case-insensitive.
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.log = 'Write, DDL, -ddl';
SHOW audit.log;
CREATE TABLE sc.not_recorded (a int);
INSERT INTO sc.items VALUES (3, 'recorded');
DROP TABLE sc.not_recorded;
SET audit.log = '-ddl';
CREATE TABLE sc.not_recorded (a int);
INSERT INTO sc.items VALUES (4, 'not recorded');
DROP TABLE sc.not_recorded;
RESET audit.log;
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :start ORDER BY event_id;

-- Invalid values are refused with the reason, and change nothing.
\set VERBOSITY default
SET audit.log = 'ddl, bogus';
SET audit.log = 'ddl write';
SET audit.log = 'writes';
SHOW audit.log;
SET audit.exclude_roles = 'a.b';
SET audit.exclude_relations = 'a.b.c';
SHOW audit.exclude_relations;
SET audit.log_parameter_max_bytes = -1;
SET audit.statement_max_bytes = -1;
\set VERBOSITY terse

-- ---------------------------------------------------------------------------
-- 2. audit.log_catalog = off leaves out reads of system catalogs only:
--    not a read that also reads a user table, nor one that reads no table.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.log = 'read';
SELECT count(*) > 0 AS has_classes FROM pg_catalog.pg_class;
SET audit.log_catalog = off;
SELECT count(*) > 0 AS has_classes FROM pg_catalog.pg_class;
SELECT count(*) > 0 AS has_schemata FROM information_schema.schemata;
SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN sc.items i ON i.label = c.relname;
SELECT 1 AS one;
RESET audit.log_catalog;
RESET audit.log;
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :start ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- 3. Exclusions.  audit.exclude_roles names login roles: a session that
--    logged in as one records no read/write/function/misc statements, but
--    its DDL and role statements; SET ROLE to an excluded role silences
--    nothing.  (The setting is put on the roles so that it holds at login.)
-- ---------------------------------------------------------------------------
ALTER ROLE regress_sc_quiet SET audit.exclude_roles = 'regress_sc_quiet, "Regress_SC_Mixed"';
ALTER ROLE "Regress_SC_Mixed" SET audit.exclude_roles = 'regress_sc_quiet, "Regress_SC_Mixed"';
SELECT max(event_id) AS start FROM audit.events \gset
\c - regress_sc_quiet
SHOW audit.exclude_roles;
INSERT INTO sc.items VALUES (10, 'quiet');
UPDATE sc.items SET label = 'quieter' WHERE id = 10;
CREATE TABLE sc.quiet_table (a int);
ANALYZE sc.quiet_table;
GRANT SELECT ON sc.quiet_table TO regress_sc_reader;
SET ROLE regress_sc_reader;
RESET ROLE;
DROP TABLE sc.quiet_table;
-- A role whose name needs quotes is excluded the same way.
\c - "Regress_SC_Mixed"
INSERT INTO sc.items VALUES (11, 'mixed case');
\c - :superuser
SET audit.exclude_roles = 'regress_sc_quiet';
SET ROLE regress_sc_quiet;
INSERT INTO sc.items VALUES (12, 'set role is not a login');
RESET ROLE;
RESET audit.exclude_roles;
SELECT class, command, object_name,
       CASE session_role WHEN :'superuser' THEN 'SUPERUSER' ELSE session_role END AS session_role,
       CASE effective_role WHEN :'superuser' THEN 'SUPERUSER' ELSE effective_role END AS effective_role,
       statement
  FROM audit.events WHERE event_id > :start AND kind = 'statement' ORDER BY event_id;
ALTER ROLE regress_sc_quiet RESET audit.exclude_roles;
ALTER ROLE "Regress_SC_Mixed" RESET audit.exclude_roles;

-- audit.exclude_relations: a statement is skipped only when every relation
-- it names is listed (qualified or not); DDL on a listed table is recorded.
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.exclude_relations = 'sc.noisy';
INSERT INTO sc.noisy VALUES (1);
UPDATE sc.noisy SET id = 2;
TRUNCATE sc.noisy;
INSERT INTO sc.items SELECT id, 'from noisy' FROM sc.noisy;
INSERT INTO sc.noisy SELECT id FROM sc.items WHERE id = 3;
TRUNCATE sc.noisy, sc.items;
ALTER TABLE sc.noisy ADD COLUMN note text;
SET audit.exclude_relations = 'noisy, other_schema.items';
DELETE FROM sc.noisy;
INSERT INTO sc.items VALUES (13, 'other schema');
-- A name that needs quotes is listed quoted, as in search_path.
SET audit.exclude_relations = 'sc."Noisy Table"';
INSERT INTO sc."Noisy Table" VALUES (1);
RESET audit.exclude_relations;
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :start AND kind = 'statement' ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- 4. A change of an audit setting is recorded whatever audit.log says:
--    SET, SET LOCAL, RESET, RESET ALL, set_config(), ALTER ROLE / DATABASE
--    ... SET, ALTER SYSTEM.  Other settings are not.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.log = 'none';
SET work_mem = '5MB';
SELECT set_config('work_mem', '6MB', false) AS work_mem;
INSERT INTO sc.items VALUES (20, 'not recorded');
SET audit.log_catalog = off;
SELECT set_config('audit.log_parameters', 'on', false) AS log_parameters;
SELECT set_config('audit.statement_max_bytes', '2000', false) AS statement_max_bytes;
BEGIN;
SET LOCAL audit.exclude_roles = 'nobody';
COMMIT;
ALTER ROLE regress_sc_reader SET audit.log = 'all';
ALTER ROLE regress_sc_reader RESET audit.log;
ALTER DATABASE :"DBNAME" SET audit.log_catalog = off;
ALTER DATABASE :"DBNAME" RESET audit.log_catalog;
ALTER SYSTEM SET audit.exclude_relations = 'sc.noisy';
ALTER SYSTEM RESET audit.exclude_relations;
RESET audit.log_parameters;
RESET ALL;
SHOW audit.log;
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :start ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- 5. Nesting levels and statement ids.  A DO block (level 0) runs PERFORM
--    (a SELECT, level 1) of a PL/pgSQL function (its call: level 1) that
--    inserts (level 2): one statement id for all, the id of the first
--    event; the next statement has its own.
-- ---------------------------------------------------------------------------
CREATE FUNCTION sc.add_item(v int) RETURNS void LANGUAGE plpgsql
	AS $$ BEGIN INSERT INTO sc.items VALUES (v, 'added'); END $$;
CREATE TABLE sc.orders (id int);
CREATE TABLE sc.orders_log (id int, op text);
CREATE FUNCTION sc.log_order() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN INSERT INTO sc.orders_log VALUES (NEW.id, TG_OP); RETURN NEW; END $$;
CREATE TRIGGER orders_log AFTER INSERT ON sc.orders
	FOR EACH ROW EXECUTE FUNCTION sc.log_order();
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.log = 'all';
DO $$ BEGIN PERFORM sc.add_item(7); END $$;
INSERT INTO sc.items VALUES (8, 'next');
RESET audit.log;
SELECT min(event_id) AS first_id FROM audit.events
 WHERE event_id > :start AND statement NOT LIKE 'SET audit.log%' \gset
SELECT event_id - :first_id AS event, class, command, object_name,
       nesting_level, statement_id - :first_id AS statement, statement AS text
  FROM audit.events WHERE event_id > :start ORDER BY event_id;

-- A trigger's INSERT is nested in the INSERT that fired it, and shares its
-- statement id.
SELECT max(event_id) AS start FROM audit.events \gset
INSERT INTO sc.orders VALUES (1), (2);
SELECT min(event_id) AS first_id FROM audit.events WHERE event_id > :start \gset
SELECT event_id - :first_id AS event, class, command, object_name,
       rows_affected, nesting_level, statement_id - :first_id AS statement
  FROM audit.events WHERE event_id > :start ORDER BY event_id;

-- A parallel query is recorded once, by the leader; so is the call of a
-- parallel-safe function that the workers run too.
CREATE FUNCTION sc.safe_touch(v int) RETURNS int LANGUAGE plpgsql
	PARALLEL SAFE AS $$ BEGIN RETURN v; END $$;
INSERT INTO sc.items SELECT g, 'bulk' FROM generate_series(100, 1099) g;
ANALYZE sc.items;
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.log = 'read, function';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
SELECT count(*) AS n, sum(sc.safe_touch(id)) AS total FROM sc.items WHERE id >= 100;
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET audit.log;
SELECT class, command, object_name, nesting_level, statement FROM audit.events
 WHERE event_id > :start AND statement NOT LIKE '%audit.log%' ORDER BY event_id;
DELETE FROM sc.items WHERE id >= 100;

-- ---------------------------------------------------------------------------
-- 6. Prepared statements: PREPARE and EXECUTE are not recorded, the
--    INSERT that runs is, once per EXECUTE, with its parameters when
--    audit.log_parameters is on; a long parameter is cut and marked.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
PREPARE ins(int, text) AS INSERT INTO sc.items VALUES ($1, $2);
EXECUTE ins(30, 'no parameters recorded');
SET audit.log_parameters = on;
EXECUTE ins(31, 'thirty-one');
EXECUTE ins(NULL, NULL);
SET audit.log_parameter_max_bytes = 10;
EXECUTE ins(32, repeat('x', 50));
EXECUTE ins(33, repeat('é', 10));
EXECUTE ins(34, 'ten bytes!');
DEALLOCATE ins;
RESET audit.log_parameter_max_bytes;
RESET audit.log_parameters;
SELECT class, command, object_name, rows_affected, parameters,
       statement LIKE '%INSERT INTO sc.items VALUES ($1, $2)' AS is_the_insert
  FROM audit.events WHERE event_id > :start ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- 7. The statement cap: the text is cut at audit.statement_max_bytes, on a
--    character boundary, and says how long it was.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
SET audit.statement_max_bytes = 100;
INSERT INTO sc.items SELECT 40, 'a statement of more than one hundred bytes, ' || 'which is cut after its first one hundred';
INSERT INTO sc.items VALUES (41, 'a short one');
SET audit.statement_max_bytes = 39;
INSERT INTO sc.items VALUES (42, 'éééééé');
RESET audit.statement_max_bytes;
SELECT command, octet_length(statement) AS bytes, statement FROM audit.events
 WHERE event_id > :start ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- 8. Passwords never reach the trail: not in the statement, nor anywhere
--    else in the row.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
CREATE ROLE regress_sc_pw PASSWORD 'hunter2_create';
ALTER ROLE regress_sc_pw ENCRYPTED PASSWORD 'hunter2_y''z';
ALTER USER regress_sc_pw WITH LOGIN PASSWORD E'hunter2_\x65scaped' VALID UNTIL 'infinity';
CREATE FOREIGN DATA WRAPPER regress_sc_wrapper;
CREATE SERVER regress_sc_server FOREIGN DATA WRAPPER regress_sc_wrapper
	OPTIONS (host 'h', password 'hunter2_server');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_sc_server
	OPTIONS (user 'u', password 'hunter2_mapping');
ALTER USER MAPPING FOR CURRENT_USER SERVER regress_sc_server
	OPTIONS (SET password 'hunter2_set');
ALTER SERVER regress_sc_server OPTIONS (DROP password, ADD password $pw$hunter2_dollar$pw$);
-- Cut by the statement cap inside the password: still not recorded.
SET audit.statement_max_bytes = 40;
ALTER ROLE regress_sc_pw PASSWORD 'hunter2_cut_in_the_middle';
RESET audit.statement_max_bytes;
SELECT class, command, object_name, statement FROM audit.events
 WHERE event_id > :start ORDER BY event_id;
SELECT count(*) AS rows_holding_a_password
  FROM audit.event e WHERE e.event_id > :start AND e::text ~ 'hunte|y''+z';
DROP USER MAPPING FOR CURRENT_USER SERVER regress_sc_server;
DROP SERVER regress_sc_server;
DROP FOREIGN DATA WRAPPER regress_sc_wrapper;
DROP ROLE regress_sc_pw;

-- ---------------------------------------------------------------------------
-- 9. The application user and context.  audit.set_context() is
--    transaction-local by default: after COMMIT nothing is left.  With
--    is_local = false it holds for the session.  Outside a transaction
--    block the local form warns and changes nothing.  The context must be
--    a JSON object.
-- ---------------------------------------------------------------------------
SELECT max(event_id) AS start FROM audit.events \gset
BEGIN;
SELECT audit.set_context('alice', '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}');
INSERT INTO sc.items VALUES (50, 'by alice');
UPDATE sc.items SET label = 'by alice, again' WHERE id = 50;
COMMIT;
SHOW audit.app_user;
INSERT INTO sc.items VALUES (51, 'after commit');
BEGIN;
SELECT audit.set_context('rolled back');
ROLLBACK;
INSERT INTO sc.items VALUES (52, 'after rollback');
SELECT audit.set_context('bob', '{"request": 7}', false);
INSERT INTO sc.items VALUES (53, 'by bob');
BEGIN;
INSERT INTO sc.items VALUES (54, 'by bob in a transaction');
COMMIT;
SELECT audit.set_context('carol');
INSERT INTO sc.items VALUES (55, 'still bob');
SELECT audit.set_context(NULL, NULL, false);
INSERT INTO sc.items VALUES (56, 'nobody');
SELECT audit.set_context('erin', is_local => false);
INSERT INTO sc.items VALUES (57, 'by erin');
\set VERBOSITY default
SELECT audit.set_context('frank', '[1, 2]', false);
SELECT audit.set_context('frank', '"a string"', false);
SET audit.context = 'not json';
SET audit.context = '[1, 2]';
\set VERBOSITY terse
SHOW audit.app_user;
SHOW audit.context;
INSERT INTO sc.items VALUES (58, 'still erin');
SELECT audit.set_context(NULL, NULL, false);
SELECT statement, app_user, context FROM audit.events
 WHERE event_id > :start AND kind = 'statement' ORDER BY event_id;

-- ---------------------------------------------------------------------------
DROP SCHEMA sc CASCADE;
DROP ROLE regress_sc_reader;
DROP OWNED BY regress_sc_quiet, "Regress_SC_Mixed";
DROP ROLE regress_sc_quiet;
DROP ROLE "Regress_SC_Mixed";
