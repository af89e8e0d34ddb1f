-- DDL events name their objects: what event triggers see (src/ddl_objects.c).
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;

-- Two event triggers of the extension, firing also for replicas.
SELECT evtname, evtevent, evtenabled, evtfoid::regprocedure AS function,
       has_function_privilege('public', evtfoid, 'EXECUTE') AS public_execute
  FROM pg_event_trigger WHERE evtname LIKE 'audit\_ext\_%' ORDER BY evtname;

-- One row per object of each event after mark, in recorded order.  OIDs in
-- identities (pg_toast_NNNNN) are masked.
CREATE FUNCTION regress_ddl_objects(mark bigint)
	RETURNS TABLE (event_id bigint, n bigint, command text, nesting int,
				   ocommand text, type text, schema text, identity text,
				   original boolean, normal boolean)
	LANGUAGE sql AS $$
	SELECT e.event_id, x.n, e.command, e.nesting_level,
	       x.o->>'command', x.o->>'type', x.o->>'schema',
	       regexp_replace(x.o->>'identity', '[0-9]{4,}', 'N', 'g'),
	       (x.o->>'original')::boolean, (x.o->>'normal')::boolean
	  FROM audit.events e, jsonb_array_elements(e.objects) WITH ORDINALITY x(o, n)
	 WHERE e.event_id > mark
$$;
CREATE ROLE regress_ddl_user;
CREATE SCHEMA regress_ddl_own AUTHORIZATION regress_ddl_user;

-- CREATE TABLE with a serial primary key: the table, its sequence and index.
SELECT max(event_id) AS mark FROM audit.events \gset
CREATE TABLE regress_ddl_t (id serial PRIMARY KEY, v text);
ALTER TABLE regress_ddl_t ADD COLUMN w int;
ALTER TABLE regress_ddl_t DROP COLUMN w;
CREATE FUNCTION regress_ddl_f(a int, b text, VARIADIC c numeric[]) RETURNS int
	LANGUAGE sql AS 'SELECT 1';
CREATE INDEX regress_ddl_t_v ON regress_ddl_t (v);
SELECT command, nesting, ocommand, type, schema, identity, original, normal
  FROM regress_ddl_objects(:mark) ORDER BY event_id, n;
-- The JSON layout of one element, exactly.
SELECT objects FROM audit.events
 WHERE event_id > :mark AND command = 'CREATE INDEX';

-- DROP TABLE: the table (named in the DROP), and what went with it
-- automatically (neither original nor normal).
SELECT max(event_id) AS mark FROM audit.events \gset
DROP TABLE regress_ddl_t;
SELECT command, ocommand, type, schema, identity, original, normal
  FROM regress_ddl_objects(:mark) ORDER BY event_id, type, identity;

-- DROP SCHEMA ... CASCADE names every object dropped: the schema is
-- original, what CASCADE reached is normal, its dependents neither.
CREATE SCHEMA regress_ddl_s;
CREATE TABLE regress_ddl_s.a (id int PRIMARY KEY);
CREATE VIEW regress_ddl_s.va AS SELECT id FROM regress_ddl_s.a;
CREATE FUNCTION regress_ddl_s.g(regress_ddl_s.a) RETURNS int
	LANGUAGE sql AS 'SELECT 1';
SELECT max(event_id) AS mark FROM audit.events \gset
SET client_min_messages = warning;
DROP SCHEMA regress_ddl_s CASCADE;
RESET client_min_messages;
SELECT command, ocommand, type, schema, identity, original, normal
  FROM regress_ddl_objects(:mark) ORDER BY event_id, type, identity;

-- DDL inside a DO block and a function: each nested statement has its own
-- objects; the statement that ran them has none.  Every class is recorded
-- here, so that the DO and the SELECT are too, and would show audit_ext's
-- own queries of the event trigger functions (they must not).
SELECT max(event_id) AS mark FROM audit.events \gset
SET audit.log = 'all';
DO $$
BEGIN
	CREATE TABLE regress_ddl_n (x int);
	ALTER TABLE regress_ddl_n ADD COLUMN y int;
END
$$;
CREATE FUNCTION regress_ddl_mk() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	CREATE TABLE regress_ddl_m (x int);
	EXECUTE 'DROP TABLE regress_ddl_n';
END
$$;
SELECT regress_ddl_mk();
RESET audit.log;
SELECT command, nesting, ocommand, type, schema, identity, original, normal
  FROM regress_ddl_objects(:mark)
 WHERE type IN ('table', 'function')
 ORDER BY event_id, n;
SELECT command, nesting_level, objects FROM audit.events
 WHERE event_id > :mark AND command IN ('DO', 'SELECT') ORDER BY event_id;
SELECT count(*) AS internal_queries FROM audit.events
 WHERE event_id > :mark AND statement LIKE '%pg_event_trigger%';

-- A DDL statement that fails after audit_ext's trigger collected its
-- objects (a later trigger raises) leaves nothing for the next statement:
-- at top level, in a savepoint, and in an exception block.
CREATE FUNCTION regress_ddl_refuse() RETURNS event_trigger
	LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused %', tg_tag; END $$;
CREATE EVENT TRIGGER regress_ddl_refuse ON ddl_command_end
	WHEN TAG IN ('CREATE VIEW') EXECUTE FUNCTION regress_ddl_refuse();
SELECT max(event_id) AS mark FROM audit.events \gset
CREATE VIEW regress_ddl_v1 AS SELECT 1 AS one;
CREATE TABLE regress_ddl_after1 (x int);
BEGIN;
SAVEPOINT s;
CREATE VIEW regress_ddl_v2 AS SELECT 1 AS one;
ROLLBACK TO s;
CREATE TABLE regress_ddl_after2 (x int);
COMMIT;
DO $$
BEGIN
	BEGIN
		CREATE VIEW regress_ddl_v3 AS SELECT 1 AS one;
	EXCEPTION WHEN raise_exception THEN
		RAISE NOTICE 'caught: %', sqlerrm;
	END;
	CREATE TABLE regress_ddl_after3 (x int);
END
$$;
DROP EVENT TRIGGER regress_ddl_refuse;
SELECT command, nesting, ocommand, type, schema, identity
  FROM regress_ddl_objects(:mark) ORDER BY event_id, n;
SELECT count(*) AS view_events FROM audit.events
 WHERE event_id > :mark AND command = 'CREATE VIEW';

-- GRANT and REVOKE name each object they cover (ON ALL TABLES IN SCHEMA
-- too).  Statements event triggers do not see have no objects: GRANT on a
-- database, GRANT of a role, TRUNCATE.
CREATE TABLE regress_ddl_own.g1 (x int);
CREATE TABLE regress_ddl_own.g2 (x int);
SELECT max(event_id) AS mark FROM audit.events \gset
GRANT SELECT ON regress_ddl_m TO regress_ddl_user;
REVOKE SELECT ON regress_ddl_m FROM regress_ddl_user;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_ddl_own TO PUBLIC;
GRANT USAGE ON SCHEMA regress_ddl_own TO PUBLIC;
GRANT EXECUTE ON FUNCTION regress_ddl_f(int, text, numeric[]) TO regress_ddl_user;
SELECT command, ocommand, type, schema, identity
  FROM regress_ddl_objects(:mark) ORDER BY event_id, identity;
SELECT max(event_id) AS mark FROM audit.events \gset
GRANT CONNECT ON DATABASE contrib_regression TO regress_ddl_user;
GRANT regress_ddl_user TO CURRENT_USER;
TRUNCATE regress_ddl_m;
SELECT command, objects FROM audit.events WHERE event_id > :mark ORDER BY event_id;

-- A role without privileges on audit: its DDL is named as well.
SELECT max(event_id) AS mark FROM audit.events \gset
SET ROLE regress_ddl_user;
CREATE TABLE regress_ddl_own.mine (x int);
DROP TABLE regress_ddl_own.mine;
RESET ROLE;
-- And with session_replication_role = replica (ENABLE ALWAYS).
SET session_replication_role = replica;
CREATE SEQUENCE regress_ddl_own.q;
RESET session_replication_role;
SELECT command, ocommand, type, schema, identity, original, normal
  FROM regress_ddl_objects(:mark)
 WHERE type IN ('table', 'sequence') ORDER BY event_id, n;

-- Temporary objects are marked so when dropped.
SELECT max(event_id) AS mark FROM audit.events \gset
CREATE TEMP TABLE regress_ddl_tmp (x int);
DROP TABLE regress_ddl_tmp;
SELECT jsonb_array_elements(objects) AS dropped FROM audit.events
 WHERE event_id > :mark AND command = 'DROP TABLE';
SELECT jsonb_path_query(objects, '$[*] ? (@.type == "table")') AS created
  FROM audit.events WHERE event_id > :mark AND command = 'CREATE TABLE';

-- The functions serve only the events they were made for.
CREATE EVENT TRIGGER regress_ddl_wrong ON ddl_command_start
	EXECUTE FUNCTION audit._ddl_command_end();
CREATE TABLE regress_ddl_never (x int);
DROP EVENT TRIGGER regress_ddl_wrong;

-- At most 1000 objects per statement, then a count of the rest:
-- 400 tables, each with its row type and array type, and the schema.
CREATE SCHEMA regress_ddl_big;
DO $$
BEGIN
	FOR i IN 1..400 LOOP
		EXECUTE format('CREATE TABLE regress_ddl_big.t%s ()', i);
	END LOOP;
END
$$;
SELECT max(event_id) AS mark FROM audit.events \gset
DROP SCHEMA regress_ddl_big CASCADE;
SELECT jsonb_array_length(objects) AS elements,
       objects->-1 AS last,
       (SELECT count(*) FROM jsonb_array_elements(objects) o
         WHERE o ? 'identity') AS named,
       objects->0->>'identity' AS first_identity
  FROM audit.events WHERE event_id > :mark AND command = 'DROP SCHEMA';

-- Recorded events still verify.
SELECT audit.seal() > 0 AS sealed;
SELECT ok FROM audit.verify();

DROP SCHEMA regress_ddl_own CASCADE;
DROP TABLE regress_ddl_m, regress_ddl_after1, regress_ddl_after2, regress_ddl_after3;
DROP FUNCTION regress_ddl_f(int, text, numeric[]), regress_ddl_mk(),
	regress_ddl_refuse(), regress_ddl_objects(bigint);
REVOKE CONNECT ON DATABASE contrib_regression FROM regress_ddl_user;
REVOKE regress_ddl_user FROM CURRENT_USER;
DROP ROLE regress_ddl_user;
