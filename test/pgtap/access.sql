-- pgTAP: least privilege in schema audit (sql/0.4/90_access.sql).
-- The catalog is enumerated: every relation, sequence and function of the
-- schema -- one added later too -- is tried by an ordinary role, by an
-- audit_reader and by an audit_admin, each call with NULL arguments of its
-- signature, in a subtransaction that is always rolled back.  What each
-- role may do is the lists below (the same as 90_access.sql's); everything
-- else must be refused with SQLSTATE 42501.  All in one transaction that
-- is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT * FROM no_plan();

CREATE ROLE access_nobody LOGIN;
CREATE ROLE access_reader LOGIN IN ROLE audit_reader;
CREATE ROLE access_admin LOGIN IN ROLE audit_admin;
CREATE SCHEMA access_test;

-- Who may call which function of schema audit, by name.
CREATE TABLE access_test.allowed (name name PRIMARY KEY, grantee text NOT NULL);
INSERT INTO access_test.allowed
SELECT unnest('{set_context}'::name[]), 'public'
UNION ALL
SELECT unnest('{verify, verify_report, digest, public_key, inclusion_proof,
	consistency_proof, verify_inclusion_proof, verify_consistency_proof,
	merkle_root, merkle_inclusion_path, merkle_consistency_path,
	merkle_verify_inclusion, merkle_verify_consistency,
	export, history, row_as_of, table_as_of, transaction, activity,
	_row_key_columns, row_end_check}'::name[]), 'audit_reader'
UNION ALL
SELECT unnest('{seal, track, untrack, track_schema, untrack_schema,
	archive, redact, alert_rule_set}'::name[]), 'audit_admin';

-- The SQLSTATE of running sql as role ('00000' if it succeeded); whatever
-- it did is rolled back, the role switch with it.
CREATE FUNCTION access_test.sqlstate_as(role name, sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', role);
	EXECUTE sql;
	RAISE EXCEPTION 'rolled back' USING ERRCODE = 'AT000';
EXCEPTION WHEN OTHERS THEN
	RETURN CASE SQLSTATE WHEN 'AT000' THEN '00000' ELSE SQLSTATE END;
END
$$;

-- Every function of schema audit, a call of it with NULL arguments (as
-- sub-selects: the planner would fold a STRICT function of NULL constants
-- to NULL without ever checking the privilege to call it), and who may
-- call it (NULL: none but the owner).
CREATE VIEW access_test.functions AS
	SELECT p.oid::regprocedure::text AS label,
	       format('%s audit.%I(%s)', CASE p.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT' END,
	              p.proname,
	              (SELECT string_agg(format('(SELECT NULL::%s)', format_type(t, NULL)), ', ' ORDER BY i)
	                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, i))) AS call,
	       a.grantee
	  FROM pg_proc p
	  LEFT JOIN access_test.allowed a ON a.name = p.proname
	 WHERE p.pronamespace = 'audit'::regnamespace
	 ORDER BY 1;

-- Every relation and sequence of schema audit.
CREATE VIEW access_test.relations AS
	SELECT c.oid::regclass::text AS label, c.relkind,
	       (pg_relation_is_updatable(c.oid, false) & 28) = 28 AS updatable,
	       (SELECT quote_ident(attname) FROM pg_attribute
	         WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
	         ORDER BY attnum LIMIT 1) AS first_column
	  FROM pg_class c
	 WHERE c.relnamespace = 'audit'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
	 ORDER BY 1;

-- The catalog has what the lists speak of (a vacuous loop proves nothing).
SELECT cmp_ok((SELECT count(*) FROM access_test.functions), '>=', 35::bigint,
	'schema audit has its functions');
SELECT cmp_ok((SELECT count(*) FROM access_test.relations WHERE relkind = 'v'), '>=', 5::bigint,
	'schema audit has its views');
SELECT set_eq(
	$$SELECT DISTINCT a.name FROM access_test.allowed a JOIN pg_proc p ON p.proname = a.name
	   WHERE p.pronamespace = 'audit'::regnamespace$$,
	$$SELECT name FROM access_test.allowed$$,
	'every function named in the lists exists');

-- Functions.  An ordinary role may call set_context() only.
SELECT is(access_test.sqlstate_as('access_nobody', call) = '42501', grantee IS DISTINCT FROM 'public',
	'ordinary role: ' || label || CASE WHEN grantee = 'public' THEN ' callable' ELSE ' refused' END)
  FROM access_test.functions;
-- audit_reader: the read functions too.
SELECT is(access_test.sqlstate_as('access_reader', call) = '42501',
	grantee IS NULL OR grantee = 'audit_admin',
	'audit_reader: ' || label || CASE WHEN grantee IN ('public', 'audit_reader') THEN ' callable' ELSE ' refused' END)
  FROM access_test.functions;
-- audit_admin: the admin functions too; trigger functions and internals
-- for nobody.
SELECT is(access_test.sqlstate_as('access_admin', call) = '42501', grantee IS NULL,
	'audit_admin: ' || label || CASE WHEN grantee IS NOT NULL THEN ' callable' ELSE ' refused' END)
  FROM access_test.functions;

-- Relations: nobody reads a table, a sequence or (but the two roles) a view.
SELECT is(access_test.sqlstate_as('access_nobody', format('SELECT 1 FROM %s LIMIT 1', label)), '42501',
	'ordinary role: SELECT from ' || label || ' refused')
  FROM access_test.relations;
SELECT is(access_test.sqlstate_as(r, format('SELECT 1 FROM %s LIMIT 1', label)),
	CASE WHEN relkind = 'v' OR label = 'audit.chain' THEN '00000' ELSE '42501' END,
	r || ': SELECT from ' || label || CASE WHEN relkind = 'v' OR label = 'audit.chain'
	                                      THEN ' allowed' ELSE ' refused' END)
  FROM access_test.relations, unnest('{access_reader, access_admin}'::name[]) r;
-- Nobody writes: INSERT, UPDATE, DELETE on every table and view (a view
-- that cannot be updated at all refuses with 55000 before privileges are
-- checked), TRUNCATE on every table, nextval and setval on every sequence.
SELECT is(CASE WHEN s = '55000' AND NOT updatable THEN '42501' ELSE s END, '42501',
	r || ': ' || verb || ' ' || label || ' refused')
  FROM access_test.relations,
       unnest('{access_nobody, access_reader, access_admin}'::name[]) r,
       LATERAL (VALUES ('INSERT INTO', format('INSERT INTO %s DEFAULT VALUES', label)),
                       ('UPDATE', format('UPDATE %s SET %s = NULL', label, first_column)),
                       ('DELETE FROM', format('DELETE FROM %s', label)),
                       ('TRUNCATE', format('TRUNCATE %s', label))) v(verb, sql),
       LATERAL access_test.sqlstate_as(r, sql) s
 WHERE relkind IN ('r', 'p', 'v') AND NOT (verb = 'TRUNCATE' AND relkind = 'v');
SELECT is(access_test.sqlstate_as(r, sql), '42501', r || ': ' || verb || ' on ' || label || ' refused')
  FROM access_test.relations,
       unnest('{access_nobody, access_reader, access_admin}'::name[]) r,
       LATERAL (VALUES ('nextval', format('SELECT nextval(%L)', label)),
                       ('setval', format('SELECT setval(%L, 1)', label))) v(verb, sql)
 WHERE relkind = 'S';

-- The schema: usage for everyone (audit.set_context()), CREATE for nobody.
SELECT schema_privs_are('audit', 'public', ARRAY['USAGE']);
SELECT schema_privs_are('audit', 'audit_reader', ARRAY['USAGE']);
SELECT schema_privs_are('audit', 'audit_admin', ARRAY['USAGE']);
SELECT is(access_test.sqlstate_as(r, 'CREATE TABLE audit.intruder ()'), '42501',
	r || ': CREATE in schema audit refused')
  FROM unnest('{access_nobody, access_reader, access_admin}'::name[]) r;

-- The calls that are allowed do what they say.
SELECT is(access_test.sqlstate_as('access_nobody', $$SELECT audit.set_context('alice')$$), '00000',
	'ordinary role: set_context() runs');
SELECT is(access_test.sqlstate_as('access_reader', $$SELECT FROM audit.verify() WHERE ok$$), '00000',
	'audit_reader: verify() runs');
SELECT is(access_test.sqlstate_as('access_admin', $$SELECT audit.seal()$$), '00000',
	'audit_admin: seal() runs');

-- SECURITY DEFINER functions run as the extension's owner: each pins
-- search_path with pg_catalog first and pg_temp last (unnamed, pg_temp
-- would be searched first), and nothing another role can create in.
SELECT cmp_ok((SELECT count(*) FROM pg_proc
                WHERE pronamespace = 'audit'::regnamespace AND prosecdef), '>=', 7::bigint,
	'schema audit has its SECURITY DEFINER functions');
SELECT is(
	CASE WHEN path IS NULL THEN 'search_path not set'
	     WHEN path[1] IS DISTINCT FROM 'pg_catalog' THEN 'pg_catalog not first'
	     WHEN path[cardinality(path)] IS DISTINCT FROM 'pg_temp' THEN 'pg_temp not last'
	     WHEN NOT path <@ '{pg_catalog, audit, pg_temp}' THEN 'a schema others may create in'
	     ELSE 'pinned' END,
	'pinned', p.oid::regprocedure || ' pins search_path')
  FROM pg_proc p
  LEFT JOIN LATERAL (SELECT string_to_array(replace(substr(c, 13), ' ', ''), ',') AS path
                       FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%') s ON true
 WHERE p.pronamespace = 'audit'::regnamespace AND p.prosecdef;

SELECT * FROM finish();
ROLLBACK;
