-- Found in review: passwords in bodies and error details, unreadable
-- passwords, a poisoned audit.context, EXPLAIN's function calls,
-- log_min_messages.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
SET audit.log = 'all';
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset

-- A password inside a DO block or a function body is redacted.
DO $$ BEGIN EXECUTE 'CREATE ROLE regress_h1 PASSWORD ''dosecret1'''; END $$;
CREATE FUNCTION pg_temp.mkrole() RETURNS void LANGUAGE plpgsql AS
$body$ BEGIN CREATE ROLE regress_h2 PASSWORD 'fnsecret2'; END $body$;
SELECT pg_temp.mkrole();
-- A function's statement that fails is quoted in the error's CONTEXT:
-- the role exists now.
SELECT pg_temp.mkrole();
-- A failed statement's password cannot be told from the junk after it
-- ('it's secret3' is the string 'it', then a syntax error): all the rest
-- goes.  (The trailing '' closes the quote for psql.)
CREATE ROLE regress_h3 PASSWORD 'it's secret3'';
SELECT count(*) AS leaks FROM audit.event
 WHERE event_id > :start_id
   AND (event::text LIKE '%dosecret1%' OR event::text LIKE '%fnsecret2%'
        OR event::text LIKE '%secret3%');
SELECT kind, command, statement FROM audit.events
 WHERE event_id > :start_id AND (statement LIKE '%PASSWORD%' OR statement LIKE '%password%')
 ORDER BY event_id;
SELECT sqlstate, detail FROM audit.events
 WHERE event_id > :start_id AND kind = 'error' ORDER BY event_id;

-- audit.context that jsonb would refuse is refused up front.
SET audit.context = '{"s": "\u0000"}';
SET audit.context = '{"s": "\\u0000 is text here"}';
SHOW audit.context;
RESET audit.context;

-- EXPLAIN without ANALYZE sets up the plan but calls nothing.
CREATE FUNCTION pg_temp.f_h(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
CREATE FUNCTION public.f_h2(int) RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN $1 + 1; END';
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset
EXPLAIN (COSTS OFF) SELECT public.f_h2(1);
SELECT public.f_h2(1);
SELECT command, object_name, statement FROM audit.events
 WHERE event_id > :start_id AND class = 'function' ORDER BY event_id;
DROP FUNCTION public.f_h2(int);

-- log_min_messages decides whether errors are seen: changing it is
-- recorded whatever audit.log says.
SET audit.log = 'none';
SELECT coalesce(max(event_id), 0) AS start_id FROM audit.events \gset
SET log_min_messages = warning;
RESET log_min_messages;
SET work_mem = '5MB';
SELECT command, statement FROM audit.events
 WHERE event_id > :start_id AND kind = 'statement' ORDER BY event_id;
RESET audit.log;
DROP ROLE IF EXISTS regress_h1;
DROP ROLE IF EXISTS regress_h2;
DROP ROLE IF EXISTS regress_h3;
SELECT ok FROM audit.verify();
