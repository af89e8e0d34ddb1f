-- pgTAP: per-tenant reading, the example of README "Per-tenant reading"
-- exactly: a security_barrier view in schema tenant_audit, owned by a role
-- that is a member of audit_reader, shows a tenant the row changes of its
-- own tables only.  The tenant cannot read audit.* itself, and a leaky
-- function of its own in the WHERE clause sees no hidden row -- which it
-- does through the same view without security_barrier.  All in one
-- transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(9);

-- Tracked tables of two tenants.
CREATE SCHEMA sales;
CREATE SCHEMA hr;
CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric);
CREATE TABLE sales.customers (id int PRIMARY KEY, name text);
CREATE TABLE hr.salaries (id int PRIMARY KEY, amount numeric);
SELECT count(audit.track(t)) AS tracked FROM unnest('{sales.orders, sales.customers, hr.salaries}'::regclass[]) t \gset
INSERT INTO sales.orders VALUES (1, 10), (2, 20);
INSERT INTO sales.customers VALUES (7, 'Ada');
INSERT INTO hr.salaries VALUES (1, 99000);
UPDATE hr.salaries SET amount = 120000;

-- README "Per-tenant reading", as a superuser:
CREATE ROLE tenant_audit_owner NOLOGIN IN ROLE audit_reader;
CREATE SCHEMA tenant_audit AUTHORIZATION tenant_audit_owner;
CREATE VIEW tenant_audit.sales_changes WITH (security_barrier) AS
	SELECT event_id, occurred_at, operation, table_name, row_key, old_row,
	       new_row, changed_columns, session_role, app_user, statement
	  FROM audit.row_changes
	 WHERE table_name IN ('sales.orders', 'sales.customers');
ALTER VIEW tenant_audit.sales_changes OWNER TO tenant_audit_owner;
CREATE ROLE tenant_sales LOGIN;
GRANT USAGE ON SCHEMA tenant_audit TO tenant_sales;
GRANT SELECT ON tenant_audit.sales_changes TO tenant_sales;
-- (end of the example)

-- The same view without the barrier, to show what the barrier is for.
CREATE VIEW tenant_audit.sales_changes_leaky AS
	SELECT * FROM audit.row_changes WHERE table_name IN ('sales.orders', 'sales.customers');
ALTER VIEW tenant_audit.sales_changes_leaky OWNER TO tenant_audit_owner;
GRANT SELECT ON tenant_audit.sales_changes_leaky TO tenant_sales;

SELECT is((SELECT count(*) FROM audit.row_changes WHERE table_name = 'hr.salaries'), 2::bigint,
	'the trail holds the other tenant''s rows');

SET LOCAL ROLE tenant_sales;
SELECT set_eq($$SELECT table_name, operation, row_key::text FROM tenant_audit.sales_changes$$,
	$$VALUES ('sales.orders', 'INSERT', '{"id": 1}'), ('sales.orders', 'INSERT', '{"id": 2}'),
	         ('sales.customers', 'INSERT', '{"id": 7}')$$,
	'the tenant sees the changes of its own tables, all of them');
SELECT throws_ok($$SELECT FROM audit.row_changes$$, '42501', NULL,
	'the tenant cannot read audit.row_changes');
SELECT throws_ok($$SELECT FROM audit.events$$, '42501', NULL, 'the tenant cannot read audit.events');
SELECT throws_ok($$SELECT FROM audit.event$$, '42501', NULL, 'the tenant cannot read audit.event');
SELECT throws_ok($$SELECT audit.verify()$$, '42501', NULL, 'the tenant cannot call audit.verify()');

-- A leaky function of the tenant's, cheap enough to run first: it keeps
-- every row it is shown.
CREATE TEMP TABLE seen (table_name text, new_row jsonb);
CREATE FUNCTION pg_temp.leak(t text, r jsonb) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	INSERT INTO pg_temp.seen VALUES (t, r);
	RETURN true;
END
$$;
SELECT count(*) AS through_barrier FROM tenant_audit.sales_changes
 WHERE pg_temp.leak(table_name, new_row) \gset
SELECT set_eq($$SELECT DISTINCT table_name FROM pg_temp.seen$$,
	ARRAY['sales.orders', 'sales.customers'],
	'through the security_barrier view, a leaky function sees the tenant''s rows only');
SELECT is(:through_barrier, 3, 'and the query returns them');
TRUNCATE pg_temp.seen;
SELECT count(*) AS through_leaky FROM tenant_audit.sales_changes_leaky
 WHERE pg_temp.leak(table_name, new_row) \gset
SELECT ok((SELECT count(*) FROM pg_temp.seen WHERE table_name = 'hr.salaries') > 0,
	'without security_barrier, the same function sees the hidden rows');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
