-- pgTAP: the public surface of audit_ext and what a statement leaves in it.
-- Runs in a database where the harness created pgtap and audit_ext; all in
-- one transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(65);

-- The schema, the read interface and the roles.
SELECT has_schema('audit');
SELECT has_view('audit', 'events', 'audit.events is the public read interface');
SELECT columns_are('audit', 'events', ARRAY[
	'event_id', 'txid', 'occurred_at', 'kind', 'command', 'object_name',
	'session_role', 'effective_role', 'client_addr', 'client_port',
	'application_name', 'backend_pid', 'database', 'statement',
	'rows_affected', 'format_version', 'leaf_hash', 'block_id',
	'class', 'statement_id', 'nesting_level', 'app_user', 'context',
	'parameters', 'objects', 'sqlstate', 'message', 'detail',
	'row_key', 'old_row', 'new_row', 'changed_columns', 'row_salt',
	'archive_id', 'erasure']);
SELECT col_type_is('audit', 'events', 'txid', 'xid8', 'txid is xid8');
SELECT col_type_is('audit', 'events', 'client_addr', 'inet', 'client_addr is inet');
SELECT col_type_is('audit', 'events', 'occurred_at', 'timestamp with time zone', 'occurred_at is timestamp with time zone');
SELECT col_type_is('audit', 'events', 'leaf_hash', 'bytea', 'leaf_hash is bytea');
SELECT col_type_is('audit', 'events', 'block_id', 'bigint', 'block_id is bigint');
SELECT has_view('audit', 'transactions', 'audit.transactions shows transaction digests');
SELECT columns_are('audit', 'transactions', ARRAY[
	'txid', 'position', 'event_count', 'committed_at', 'digest', 'block_id']);
SELECT has_view('audit', 'blocks', 'audit.blocks shows sealed blocks');
SELECT columns_are('audit', 'blocks', ARRAY[
	'block_id', 'first_position', 'last_position', 'txn_count', 'event_count',
	'sealed_at', 'txn_root', 'prev_hash', 'block_hash', 'tree_root',
	'signature', 'key_id']);
SELECT has_function('audit', 'verify', ARRAY['bigint', 'bigint']);
SELECT has_function('audit', 'verify', ARRAY['jsonb']);
SELECT has_function('audit', 'verify_report', ARRAY['bigint', 'bigint']);
SELECT has_function('audit', 'seal', ARRAY[]::text[]);
SELECT has_function('audit', 'digest', ARRAY[]::text[]);
SELECT is_definer('audit', 'seal', ARRAY[]::text[], 'audit.seal() is SECURITY DEFINER');
SELECT has_role('audit_reader');
SELECT has_role('audit_admin');
SELECT isnt(rolcanlogin, true, rolname || ' cannot log in')
  FROM pg_roles WHERE rolname IN ('audit_admin', 'audit_reader') ORDER BY rolname;
SELECT is_member_of('audit_reader', 'audit_admin');

-- Privileges: audit_reader reads the view only; PUBLIC gets nothing.
SELECT table_privs_are('audit', 'events', 'audit_reader', ARRAY['SELECT']);
SELECT table_privs_are('audit', 'event', 'audit_reader', ARRAY[]::text[]);
SELECT table_privs_are('audit', 'events', 'public', ARRAY[]::text[]);
SELECT table_privs_are('audit', 'event', 'public', ARRAY[]::text[]);
-- USAGE only, for audit.set_context(); every object in it is closed.
SELECT schema_privs_are('audit', 'public', ARRAY['USAGE']);
SELECT function_privs_are('audit', 'verify', ARRAY['bigint', 'bigint'], 'audit_reader', ARRAY['EXECUTE']);
SELECT function_privs_are('audit', 'verify', ARRAY['bigint', 'bigint'], 'public', ARRAY[]::text[]);
SELECT function_privs_are('audit', 'verify', ARRAY['jsonb'], 'audit_reader', ARRAY['EXECUTE']);
SELECT function_privs_are('audit', 'verify_report', ARRAY['bigint', 'bigint'], 'audit_reader', ARRAY['EXECUTE']);
SELECT table_privs_are('audit', 'transactions', 'audit_reader', ARRAY['SELECT']);
SELECT table_privs_are('audit', 'blocks', 'audit_reader', ARRAY['SELECT']);
-- Only audit_admin seals.
SELECT function_privs_are('audit', 'seal', ARRAY[]::text[], 'audit_admin', ARRAY['EXECUTE']);
SELECT function_privs_are('audit', 'seal', ARRAY[]::text[], 'audit_reader', ARRAY[]::text[]);
SELECT function_privs_are('audit', 'seal', ARRAY[]::text[], 'public', ARRAY[]::text[]);

-- A statement in this transaction is recorded in it, with its context.
-- (pgTAP's own temporary tables are DDL too, and are recorded as well.)
CREATE TABLE tap_orders (id int PRIMARY KEY, qty int);
INSERT INTO tap_orders SELECT g, g FROM generate_series(1, 4) g;
UPDATE tap_orders SET qty = qty * 2 WHERE id % 2 = 0;
DELETE FROM tap_orders WHERE id = 1;

SELECT results_eq(
	$$SELECT command, object_name, rows_affected FROM audit.events
	   WHERE txid = pg_current_xact_id() AND object_name = 'public.tap_orders'
	   ORDER BY event_id$$,
	$$VALUES ('CREATE TABLE', 'public.tap_orders', NULL::bigint),
	         ('INSERT', 'public.tap_orders', 4::bigint),
	         ('UPDATE', 'public.tap_orders', 2::bigint),
	         ('DELETE', 'public.tap_orders', 1::bigint)$$,
	'each statement of this transaction is an event, in order, with its row count');
SELECT is(
	(SELECT count(DISTINCT (session_role, effective_role, backend_pid, database))
	   FROM audit.events WHERE txid = pg_current_xact_id()),
	1::bigint, 'all events of the transaction carry the same session context');
SELECT is(
	(SELECT backend_pid FROM audit.events WHERE txid = pg_current_xact_id() LIMIT 1),
	pg_backend_pid(), 'backend_pid is this backend');
SELECT is(
	(SELECT session_role FROM audit.events WHERE txid = pg_current_xact_id() LIMIT 1),
	session_user::text, 'session_role is session_user');
SELECT is(
	(SELECT client_addr FROM audit.events WHERE txid = pg_current_xact_id() LIMIT 1),
	inet_client_addr(), 'client_addr is inet_client_addr()');
SELECT is(
	(SELECT client_port FROM audit.events WHERE txid = pg_current_xact_id() LIMIT 1),
	inet_client_port(), 'client_port is inet_client_port()');
SELECT is(
	(SELECT statement FROM audit.events
	  WHERE txid = pg_current_xact_id() AND command = 'DELETE'),
	'DELETE FROM tap_orders WHERE id = 1', 'statement holds the SQL text');
SELECT ok(
	(SELECT bool_and(event_id > 0 AND octet_length(leaf_hash) = 32 AND format_version = 3)
	   FROM audit.events WHERE txid = pg_current_xact_id()),
	'events have ids, 32-byte leaf hashes and format version 3');
SELECT is(
	(SELECT count(*) FROM audit.transactions WHERE txid = pg_current_xact_id()),
	0::bigint, 'the transaction digest is written at commit, not before');
SELECT results_eq(
	$$SELECT ok, problems FROM audit.verify()$$,
	$$VALUES (true, 0::bigint)$$,
	'verify() finds nothing wrong');

-- Row capture: the tracking API is for audit_admin, runs with the owner's
-- rights and a pinned search_path; the views are for audit_reader.
SELECT has_function('audit', 'track', ARRAY['regclass', 'text[]', 'text[]']);
SELECT has_function('audit', 'untrack', ARRAY['regclass']);
SELECT has_function('audit', 'track_schema', ARRAY['name', 'text[]', 'text[]', 'boolean']);
SELECT has_function('audit', 'untrack_schema', ARRAY['name']);
SELECT is_definer('audit', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'audit.track() is SECURITY DEFINER');
SELECT is_definer('audit', 'untrack', ARRAY['regclass'], 'audit.untrack() is SECURITY DEFINER');
SELECT function_privs_are('audit', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'audit_admin', ARRAY['EXECUTE']);
SELECT function_privs_are('audit', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'public', ARRAY[]::text[]);
SELECT function_privs_are('audit', 'track', ARRAY['regclass', 'text[]', 'text[]'], 'audit_reader', ARRAY[]::text[]);
SELECT table_privs_are('audit', 'tracked_tables', 'audit_reader', ARRAY['SELECT']);
SELECT table_privs_are('audit', 'row_changes', 'audit_reader', ARRAY['SELECT']);
SELECT table_privs_are('audit', 'tracked_table', 'audit_reader', ARRAY[]::text[]);

CREATE TABLE tap_tracked (id int PRIMARY KEY, v text, pin text);
SELECT audit.track('tap_tracked', '{}', '{pin}');
INSERT INTO tap_tracked VALUES (1, 'one', '1234');
UPDATE tap_tracked SET v = 'uno' WHERE id = 1;
SELECT results_eq(
	$$SELECT operation, row_key, old_row - 'pin', new_row - 'pin', changed_columns
	    FROM audit.row_changes WHERE table_name = 'public.tap_tracked' ORDER BY event_id$$,
	$$VALUES ('INSERT', '{"id": 1}'::jsonb, NULL::jsonb, '{"id": 1, "v": "one"}'::jsonb, NULL::jsonb),
	         ('UPDATE', '{"id": 1}', '{"id": 1, "v": "one"}', '{"id": 1, "v": "uno"}', '["v"]')$$,
	'row_changes shows each change with its images and changed columns');
SELECT ok(
	(SELECT bool_and(new_row ->> 'pin' ~ '^sha256:[0-9a-f]{64}$') FROM audit.row_changes
	  WHERE table_name = 'public.tap_tracked'),
	'a masked column shows as sha256:<hex>');
SELECT is(
	(SELECT statement FROM audit.row_changes
	  WHERE table_name = 'public.tap_tracked' AND operation = 'UPDATE'),
	'UPDATE tap_tracked SET v = ''uno'' WHERE id = 1',
	'a row change shows the statement that made it');
SELECT is(
	(SELECT row_trigger::text FROM audit.tracked_tables WHERE table_name = 'tap_tracked'::regclass),
	'A', 'the row trigger fires always (session_replication_role cannot silence it)');

SET LOCAL ROLE audit_reader;
SELECT lives_ok($$SELECT * FROM audit.tracked_tables$$,
	'audit_reader reads every column of audit.tracked_tables');
RESET ROLE;
CREATE TABLE tap_fake (id int PRIMARY KEY);
CREATE FUNCTION tap_noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER audit_ext_row AFTER INSERT ON tap_fake FOR EACH ROW EXECUTE FUNCTION tap_noop();
SELECT throws_ok($$SELECT audit.track('tap_fake')$$, '42710',
	'cannot track public.tap_fake: it has a trigger named "audit_ext_row" that is not audit_ext''s',
	'a trigger of another function that is named audit_ext_row is refused');

SELECT * FROM finish();
ROLLBACK;
