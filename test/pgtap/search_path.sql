-- pgTAP: search_path and object-shadowing attacks on the functions that
-- run with the extension owner's rights.  A role that may create objects
-- in public and in a schema of its own plants functions, operators and
-- tables named like what those functions use unqualified, in public, in
-- its schema and in pg_temp; an audit_admin then calls them with these
-- first in its search_path.  Every planted object writes to a log: the
-- log must stay empty, and the results be right.  A control first shows
-- that each planted object is reachable from an unqualified call, so the
-- test would fail if a function did not pin its search_path.  All in one
-- transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(23);

CREATE ROLE sp_mallory LOGIN;
CREATE ROLE sp_admin LOGIN IN ROLE audit_admin;
GRANT CREATE ON SCHEMA public TO sp_mallory;
CREATE SCHEMA evil AUTHORIZATION sp_mallory;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE SCHEMA app;
CREATE SCHEMA app2;
GRANT USAGE ON SCHEMA app, app2 TO sp_admin;
CREATE TABLE app.accounts (id int PRIMARY KEY, email text);
CREATE TABLE app2.orders (id int PRIMARY KEY, total numeric);

-- The attacker's objects.
SET ROLE sp_mallory;
CREATE TABLE evil.calls (what text);
GRANT INSERT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.log(what text) RETURNS void LANGUAGE sql
	AS $$ INSERT INTO evil.calls VALUES (what) $$;
-- Exact-typed overloads beat pg_catalog's polymorphic or variadic ones
-- wherever the schema is searched at all; same-signature ones win by
-- coming first.
CREATE FUNCTION evil.jsonb_build_object(text, jsonb, text, jsonb, text, boolean) RETURNS jsonb
	LANGUAGE sql AS $$ SELECT evil.log('jsonb_build_object/6'); SELECT '{"forged": true}'::jsonb $$;
CREATE FUNCTION evil.jsonb_build_object(text, jsonb, text, jsonb, text, jsonb, text, text, text, jsonb)
	RETURNS jsonb
	LANGUAGE sql AS $$ SELECT evil.log('jsonb_build_object/10'); SELECT '{"forged": true}'::jsonb $$;
CREATE FUNCTION evil.to_jsonb(text[]) RETURNS jsonb
	LANGUAGE sql AS $$ SELECT evil.log('to_jsonb'); SELECT '["forged"]'::jsonb $$;
CREATE FUNCTION evil.format(text, name, name) RETURNS text
	LANGUAGE sql AS $$ SELECT evil.log('format(text, name, name)'); SELECT 'evil.forged' $$;
CREATE FUNCTION evil.format(text, regclass) RETURNS text
	LANGUAGE sql AS $$ SELECT evil.log('format(text, regclass)'); SELECT 'SELECT 1' $$;
CREATE FUNCTION evil.quote_ident(name) RETURNS text
	LANGUAGE sql AS $$ SELECT evil.log('quote_ident'); SELECT 'forged' $$;
CREATE FUNCTION evil.now() RETURNS timestamptz
	LANGUAGE sql AS $$ SELECT evil.log('now'); SELECT '1999-01-01'::timestamptz $$;
CREATE FUNCTION evil.pg_partition_tree(regclass)
	RETURNS TABLE (relid regclass, parentrelid regclass, isleaf boolean, level integer)
	LANGUAGE sql AS $$ SELECT evil.log('pg_partition_tree'); SELECT NULL::regclass, NULL::regclass, true, 0 $$;
CREATE FUNCTION evil.regclass_eq(regclass, regclass) RETURNS boolean
	LANGUAGE sql AS $$ SELECT evil.log('= (regclass, regclass)'); SELECT false $$;
CREATE OPERATOR evil.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = evil.regclass_eq);
CREATE FUNCTION public.text_eq(text, text) RETURNS boolean
	LANGUAGE sql AS $$ SELECT evil.log('= (text, text)'); SELECT false $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
CREATE FUNCTION public.jsonb_build_object(text, jsonb, text, jsonb, text, boolean) RETURNS jsonb
	LANGUAGE sql AS $$ SELECT evil.log('public.jsonb_build_object'); SELECT '{"forged": true}'::jsonb $$;
CREATE TABLE public.tracked_table (relid regclass);
CREATE TABLE evil.tracked_table (relid regclass);
RESET ROLE;

-- In the admin's own session: pg_temp objects, then the hostile path.
SET ROLE sp_admin;
CREATE TEMP TABLE pg_trigger (tgrelid oid, tgname name, tgfoid oid, tgenabled "char");
INSERT INTO pg_temp.pg_trigger VALUES (0, 'planted', 0, 'D');
CREATE TEMP TABLE pg_class (oid oid, relname name, relkind "char");
CREATE TEMP TABLE tracked_table (relid regclass);
CREATE FUNCTION pg_temp.format(text, name, name) RETURNS text
	LANGUAGE sql AS $$ SELECT evil.log('pg_temp.format'); SELECT 'forged' $$;

-- (From here on, this session's temp tables shadow the catalogs for every
-- query that does not name pg_catalog: pg_temp is searched first.)

-- Control: unqualified, a name resolves to the planted object.  (Results
-- are taken with \gset and checked under a clean path: pgTAP's own
-- functions do not pin theirs.)
SET search_path = pg_temp, evil, public, pg_catalog;
SELECT jsonb_build_object('a', '1'::jsonb, 'b', '2'::jsonb, 'c', true) AS c_jsonb,
       format('%I.%I', 'a'::name, 'b'::name) AS c_format, quote_ident('x'::name) AS c_quote,
       'app.accounts'::regclass = 'app.accounts'::regclass AS c_regclass_eq,
       'a'::text = 'a'::text AS c_text_eq, now() AS c_now,
       (SELECT count(*) FROM pg_trigger WHERE tgname = 'planted') AS c_pg_trigger \gset
RESET search_path;
RESET ROLE;
SELECT is(:'c_jsonb'::jsonb, '{"forged": true}', 'control: jsonb_build_object resolves to the planted one');
SELECT is(:'c_format'::text, 'evil.forged', 'control: format resolves to the planted one');
SELECT is(:'c_quote'::text, 'forged', 'control: quote_ident resolves to the planted one');
SELECT is(:'c_regclass_eq'::boolean, false, 'control: = on regclass resolves to the planted operator');
SELECT is(:'c_text_eq'::boolean, false, 'control: = on text resolves to the planted operator');
SELECT is(:'c_now'::timestamptz, '1999-01-01'::timestamptz, 'control: now() resolves to the planted one');
SELECT is(:'c_pg_trigger'::bigint, 1::bigint, 'control: pg_trigger resolves to the temp table');
SELECT is((SELECT count(*) FROM evil.calls), 6::bigint, 'control: the planted functions log their calls');
TRUNCATE evil.calls;

-- The attack: the functions that run as the owner, under the hostile path.
GRANT CREATE ON SCHEMA app2 TO sp_admin;
SET ROLE sp_admin;
SET search_path = pg_temp, evil, public, pg_catalog;
SELECT audit.track('app.accounts', mask_columns => '{email}') IS NULL AS track1 \gset
SELECT audit.track('app.accounts', mask_columns => '{email}') IS NULL AS track2 \gset
SELECT audit.track_schema('app2', include_future => true) AS tracked_in_schema \gset
CREATE TABLE app2.refunds (id int PRIMARY KEY);
SELECT coalesce(audit.seal(), 0) AS sealed \gset
RESET search_path;
RESET ROLE;
INSERT INTO app.accounts VALUES (1, 'alice@example.com');

SELECT is(:tracked_in_schema, 1, 'track_schema() tracks the one table');
SELECT is(:sealed::bigint, (SELECT coalesce(max(block_id), 0) FROM audit.blocks),
	'seal() returns the newest block');
SELECT set_eq($$SELECT table_name::text, mask_columns::text, via_schema::text
                 FROM audit.tracked_tables$$,
	$$VALUES ('app.accounts', '{email}', NULL), ('app2.orders', '{}', 'app2'),
	         ('app2.refunds', '{}', 'app2')$$,
	'the tables are tracked as asked, the one created later included');
SELECT set_eq($$SELECT tgrelid::regclass::text, tgname::text FROM pg_catalog.pg_trigger
                 WHERE tgfoid IN ('audit._capture_row()'::regprocedure, 'audit._capture_truncate()'::regprocedure)$$,
	$$VALUES ('app.accounts', 'audit_ext_row'), ('app.accounts', 'audit_ext_truncate'),
	         ('app2.orders', 'audit_ext_row'), ('app2.orders', 'audit_ext_truncate'),
	         ('app2.refunds', 'audit_ext_row'), ('app2.refunds', 'audit_ext_truncate')$$,
	'the triggers are in place');
SELECT results_eq($$SELECT command, object_name, detail - 'previously' - 'row_key'
                     FROM audit.events WHERE kind = 'config' ORDER BY event_id$$,
	$$VALUES ('TRACK', 'app.accounts',
	          '{"mask_columns": ["email"], "via_schema": null, "exclude_columns": []}'::jsonb),
	         ('TRACK SCHEMA', 'app2',
	          '{"mask_columns": [], "include_future": true, "exclude_columns": []}'),
	         ('TRACK', 'app2.orders',
	          '{"mask_columns": [], "via_schema": "app2", "exclude_columns": []}'),
	         ('TRACK', 'app2.refunds',
	          '{"mask_columns": [], "via_schema": "app2", "exclude_columns": []}')$$,
	'the config events are recorded with the true options, once');
SELECT results_eq($$SELECT operation, row_key, new_row - 'email', new_row ->> 'email' LIKE 'sha256:%'
                     FROM audit.row_changes ORDER BY event_id$$,
	$$VALUES ('INSERT', '{"id": 1}'::jsonb, '{"id": 1}'::jsonb, true)$$,
	'the row is captured, its email masked');

SET ROLE sp_admin;
SET search_path = pg_temp, evil, public, pg_catalog;
SELECT audit.untrack_schema('app2') AS untracked_in_schema \gset
SELECT audit.untrack('app.accounts') IS NULL AS untrack \gset
SELECT problems AS verify_problems FROM audit.verify() \gset
SELECT count(*) AS report_rows FROM audit.verify_report() \gset
SELECT coalesce(audit.digest()::text, 'none') AS hostile_digest \gset
RESET search_path;
RESET ROLE;

SELECT is(:untracked_in_schema, 2, 'untrack_schema() untracks both tables');
SELECT is((SELECT count(*) FROM audit.tracked_tables), 0::bigint, 'nothing is tracked any more');
SELECT is((SELECT count(*) FROM pg_catalog.pg_trigger
            WHERE tgfoid IN ('audit._capture_row()'::regprocedure, 'audit._capture_truncate()'::regprocedure)),
	0::bigint, 'every trigger of ours is gone');
SELECT results_eq($$SELECT command, object_name FROM audit.events
                     WHERE kind = 'config' AND command LIKE 'UNTRACK%' ORDER BY object_name COLLATE "C"$$,
	$$VALUES ('UNTRACK', 'app.accounts'), ('UNTRACK SCHEMA', 'app2'), ('UNTRACK', 'app2.orders'),
	         ('UNTRACK', 'app2.refunds')$$,
	'the untrack events name the true tables');
-- The read functions answer as under a clean path.
SELECT is(:verify_problems::bigint, 0::bigint, 'verify() finds nothing wrong');
SELECT is(:report_rows::bigint, 0::bigint, 'verify_report() reports nothing');
SELECT is(:'hostile_digest'::text, coalesce(audit.digest()::text, 'none'),
	'digest() is the same as under a clean search_path');

-- Nothing planted ran or was written.
SELECT is((SELECT count(*) FROM evil.calls), 0::bigint, 'no planted function or operator ran');
SELECT is((SELECT count(*) FROM pg_temp.tracked_table) + (SELECT count(*) FROM public.tracked_table)
          + (SELECT count(*) FROM evil.tracked_table) + (SELECT count(*) FROM pg_temp.pg_class),
	0::bigint, 'no planted table was written');

SELECT * FROM finish();
ROLLBACK;
