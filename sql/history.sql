-- History and point-in-time reading (sql/0.4/50_history.sql): history(),
-- row_as_of(), table_as_of(), transaction(), activity() and the views
-- ddl_history, logins, errors, role_changes, sessions.  Each change below
-- is its own transaction, and the moment after it is kept in :tN, so
-- point-in-time answers are checked against fixed moments without
-- printing any.  Event ids and txids are shown relative to a mark.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_hist;
SET search_path = regress_hist;
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset

CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric, secret text);
SELECT audit.track('regress_hist.accounts', mask_columns => '{secret}') IS NULL AS tracked;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO accounts VALUES (1, 'ann', 100, 's1'), (2, 'ben', 50, 's2');
SELECT clock_timestamp() AS t1 \gset
BEGIN;
SELECT audit.set_context('alice@example.com') IS NULL AS context_set;
UPDATE accounts SET balance = 150 WHERE id = 1;
SELECT txid_current() AS update_txid \gset
COMMIT;
SELECT clock_timestamp() AS t2 \gset
UPDATE accounts SET id = 10 WHERE id = 2;              -- the key changes
SELECT clock_timestamp() AS t3 \gset
DELETE FROM accounts WHERE id = 1;
SELECT clock_timestamp() AS t4 \gset
INSERT INTO accounts VALUES (2, 'carl', 5, 's3');      -- the old key again, another row
SELECT clock_timestamp() AS t5 \gset
UPDATE accounts SET balance = 60 WHERE id = 10;
SELECT clock_timestamp() AS t6 \gset
TRUNCATE accounts;
SELECT clock_timestamp() AS t7 \gset
INSERT INTO accounts VALUES (3, 'dora', 1, 's1');
SELECT clock_timestamp() AS t8 \gset

-- A masked value shown as the value it masks.
CREATE FUNCTION pg_temp.unmask(j jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN j ? 'secret' THEN j || jsonb_build_object('secret',
	       (SELECT 'mask(' || v || ')' FROM unnest('{s1,s2,s3}'::text[]) v
	         WHERE 'sha256:' || encode(sha256('\x05'::bytea || t.mask_salt
	               || convert_to(to_jsonb(v)::text, 'UTF8')), 'hex') = j ->> 'secret'))
	       ELSE j END
	  FROM audit.tracked_table t WHERE t.relid = 'regress_hist.accounts'::regclass $$;

-- history(): row 1, oldest first, the whole previous row, who and how.
SELECT operation, key, pg_temp.unmask(old_row) AS old_row, pg_temp.unmask(new_row) AS new_row,
       changed_columns, session_role = current_user AS by_me, app_user, client_addr,
       statement, statement_id - :mark > 0 AS has_statement, sealed IS NOT NULL AS has_sealed
  FROM audit.history('accounts', '{"id": 1}');
-- The txid is the transaction's, and event ids increase.
SELECT txid = :'update_txid'::xid8 AS same_txid FROM audit.history('accounts', '{"id": 1}')
 WHERE operation = 'UPDATE';
SELECT bool_and(event_id > :mark) AND count(DISTINCT event_id) = count(*) AS ids_ok
  FROM audit.history('accounts', '{"id": 1}');
-- Row 10 was row 2 before its key changed: followed back, not forward.
SELECT operation, key, old_row ->> 'id' AS old_id, new_row ->> 'balance' AS balance
  FROM audit.history('accounts', '{"id": 10}');
-- Key 2: ben's insert and carl's; ben's move to 10 is under key 10.
SELECT operation, key, new_row ->> 'owner' AS owner FROM audit.history('accounts', '{"id": 2}');
-- A key never seen: no rows.
SELECT count(*) AS never FROM audit.history('accounts', '{"id": 99}');

-- row_as_of(): the row with that key at each moment.
SELECT t, pg_temp.unmask(audit.row_as_of('accounts', '{"id": 1}', at)) AS row_1,
       audit.row_as_of('accounts', '{"id": 2}', at) ->> 'owner' AS owner_2,
       audit.row_as_of('accounts', '{"id": 10}', at) ->> 'balance' AS balance_10
  FROM (VALUES ('t0', :'t0'::timestamptz), ('t1', :'t1'), ('t2', :'t2'), ('t3', :'t3'),
               ('t4', :'t4'), ('t5', :'t5'), ('t6', :'t6'), ('t7', :'t7'), ('t8', :'t8')) m(t, at)
 ORDER BY t;

-- table_as_of(): the whole table at each moment (TRUNCATE empties).
SELECT m.t, string_agg(format('%s:%s:%s', r.row_key ->> 'id', r.row ->> 'owner', r.row ->> 'balance'),
                       ' ' ORDER BY (r.row_key ->> 'id')::int) AS rows
  FROM (VALUES ('t0', :'t0'::timestamptz), ('t1', :'t1'), ('t2', :'t2'), ('t3', :'t3'),
               ('t4', :'t4'), ('t5', :'t5'), ('t6', :'t6'), ('t7', :'t7'), ('t8', :'t8')) m(t, at)
  LEFT JOIN LATERAL audit.table_as_of('accounts', m.at) r ON true
 GROUP BY m.t ORDER BY m.t;
-- Masked columns appear as recorded.
SELECT pg_temp.unmask(row) AS dora FROM audit.table_as_of('accounts', :'t8');

-- transaction(): the UPDATE's transaction, statements and rows in order.
SELECT kind, class, command, object_name, nesting_level, statement,
       row_key, old_row ->> 'balance' AS old_balance, new_row ->> 'balance' AS new_balance, app_user
  FROM audit.transaction(:'update_txid');
SELECT count(*) AS nothing FROM audit.transaction('1');

-- activity(): alice's timeline between t1 and t2; mine since t0, by kind.
SELECT kind, command, object_name, app_user, statement
  FROM audit.activity(app_user => 'alice@example.com', since => :'t1', until => :'t2');
SELECT kind, command, count(*)
  FROM audit.activity(role => current_user, since => :'t0', until => :'t8')
 WHERE object_name = 'regress_hist.accounts' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS nobody FROM audit.activity(role => 'regress_hist_nobody', since => :'t0');
SELECT count(*) AS no_client FROM audit.activity(client_addr => '192.0.2.1', since => :'t0');

-- A table tracked once and untracked since keeps its history; a partition
-- is read through the tracked table it belongs to.
CREATE TABLE orders (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
SELECT audit.track('orders') IS NULL AS tracked;
INSERT INTO orders VALUES (1, 'eu'), (1, 'us');
UPDATE orders SET id = 2 WHERE region = 'us';
SELECT operation, key, partition FROM audit.history('orders_us', '{"id": 2, "region": "us"}');
SELECT row_key, row ->> 'region' AS region FROM audit.table_as_of('orders', now()) ORDER BY 1;
SELECT row_key FROM audit.table_as_of('orders_eu', now());
SELECT count(*) AS untracked FROM (SELECT audit.untrack('orders')) u;
SELECT operation, key FROM audit.history('orders', '{"id": 1, "region": "eu"}');

-- The views, on the events just made.
SELECT command, object_name, jsonb_array_length(objects) AS objects, statement, sealed IS NOT NULL AS has_sealed
  FROM audit.ddl_history WHERE event_id > :mark AND object_name LIKE 'regress_hist.%' ORDER BY event_id;
CREATE ROLE regress_hist_role;
GRANT USAGE ON SCHEMA regress_hist TO regress_hist_role;
REVOKE USAGE ON SCHEMA regress_hist FROM regress_hist_role;
DROP ROLE regress_hist_role;
SELECT command, statement, session_role = current_user AS by_me
  FROM audit.role_changes WHERE event_id > :mark ORDER BY event_id;
SELECT 1 / 0;
CREATE ROLE regress_hist_nobody;
SET ROLE regress_hist_nobody;
SELECT * FROM regress_hist.accounts;
RESET ROLE;
DROP ROLE regress_hist_nobody;
SELECT sqlstate, message, statement, refused, guard_refusal
  FROM audit.errors WHERE event_id > :mark ORDER BY event_id;

-- logins and sessions: fixed events, written and rolled back (the
-- pg_regress cluster runs with audit.guard off).  Two sessions of pid
-- 4242000 (the pid reused), one of pid 4242001 still running, a failed
-- login; a statement of 4242000 after its first logout belongs to no session.
BEGIN;
INSERT INTO audit.event (event_id, format_version, txid, occurred_at, kind, command, session_role,
                         client_addr, client_port, application_name, backend_pid, database,
                         statement, nesting_level, sqlstate, message, detail, leaf_hash, app_user)
VALUES
 (9000000000000001, 3, '1', '2026-01-05 10:00', 'login', NULL, 'alice', '192.0.2.7', 5001, 'psql', 4242000, 'db', NULL, NULL, NULL, NULL, '{"auth_method": "scram-sha-256"}', '\x00', NULL),
 (9000000000000002, 3, '1', '2026-01-05 10:01', 'statement', 'SELECT', 'alice', '192.0.2.7', 5001, 'psql', 4242000, 'db', 'SELECT 1', 0, NULL, NULL, NULL, '\x00', 'a@x'),
 (9000000000000003, 3, '1', '2026-01-05 10:01', 'statement', 'SELECT', 'alice', '192.0.2.7', 5001, 'psql', 4242000, 'db', 'SELECT 2', 1, NULL, NULL, NULL, '\x00', 'a@x'),
 (9000000000000004, 3, '1', '2026-01-05 10:02', 'error', NULL, 'alice', '192.0.2.7', 5001, 'psql', 4242000, 'db', 'DELETE FROM audit.event', 0, '42501', 'audit_ext guard: audit.event is append-only', NULL, '\x00', NULL),
 (9000000000000006, 3, '1', '2026-01-05 10:05', 'logout', NULL, 'alice', '192.0.2.7', 5001, 'psql', 4242000, 'db', NULL, NULL, NULL, NULL, '{"session_duration_ms": 300000}', '\x00', NULL),
 (9000000000000005, 3, '1', '2026-01-05 10:06', 'statement', 'SELECT', 'ghost', NULL, NULL, 'x', 4242000, 'db', 'SELECT 3', 0, NULL, NULL, NULL, '\x00', NULL),
 (9000000000000007, 3, '1', '2026-01-05 11:00', 'login_failed', NULL, 'mallory', '198.51.100.9', 6001, 'evil', 4242002, 'db', NULL, NULL, '28P01', 'password authentication failed for user "mallory"', '{"auth_method": "scram-sha-256"}', '\x00', NULL),
 (9000000000000008, 3, '1', '2026-01-05 12:00', 'login', NULL, 'bob', NULL, NULL, 'app', 4242000, 'db', NULL, NULL, NULL, NULL, '{"auth_method": "trust"}', '\x00', NULL),
 (9000000000000009, 3, '1', '2026-01-05 12:01', 'statement', 'UPDATE', 'bob', NULL, NULL, 'app', 4242000, 'db', 'UPDATE t SET x = 1', 0, NULL, NULL, NULL, '\x00', 'b@x'),
 (9000000000000010, 3, '1', '2026-01-05 12:30', 'logout', NULL, 'bob', NULL, NULL, 'app', 4242000, 'db', NULL, NULL, NULL, NULL, '{"session_duration_ms": 1800000}', '\x00', NULL),
 (9000000000000011, 3, '1', '2026-01-05 12:10', 'login', NULL, 'carol', '192.0.2.8', 5002, 'psql', 4242001, 'db', NULL, NULL, NULL, NULL, '{"auth_method": "md5"}', '\x00', NULL);
SELECT occurred_at, succeeded, session_role, client_addr, client_port, application_name,
       auth_method, sqlstate, message
  FROM audit.logins WHERE event_id > 9000000000000000 ORDER BY occurred_at;
SELECT backend_pid, login_at, logout_at, duration, session_role, database, client_addr,
       client_port, application_name, auth_method, statements, errors, app_users
  FROM audit.sessions WHERE backend_pid BETWEEN 4242000 AND 4242009 ORDER BY login_at;
SELECT sqlstate, statement, refused, guard_refusal
  FROM audit.errors WHERE event_id > 9000000000000000;
ROLLBACK;

-- Every refusal: SQLSTATE, message and detail.
CREATE FUNCTION pg_temp.refusal(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(nullif(' / ' || d, ' / '), '');
END $$;
CREATE TABLE untracked (id int PRIMARY KEY);
CREATE TABLE keyless (v int);
SELECT audit.track('keyless') IS NULL AS tracked;
SELECT pg_temp.refusal(sql) FROM (VALUES
	($$SELECT audit.history(NULL, '{"id": 1}')$$),
	($$SELECT audit.history('accounts', NULL)$$),
	($$SELECT audit.history(4294967295::oid::regclass, '{"id": 1}')$$),
	($$SELECT audit.history('untracked', '{"id": 1}')$$),
	($$SELECT audit.history('accounts', '{"owner": "ann"}')$$),
	($$SELECT audit.history('accounts', '{"id": 1, "owner": "ann"}')$$),
	($$SELECT audit.history('accounts', '[1]')$$),
	($$SELECT audit.history('keyless', '{"v": 1}')$$),
	($$SELECT audit.row_as_of('accounts', '{"id": 1}', NULL)$$),
	($$SELECT audit.row_as_of(NULL, '{"id": 1}', now())$$),
	($$SELECT audit.row_as_of('untracked', '{"id": 1}', now())$$),
	($$SELECT audit.row_as_of('accounts', '{}', now())$$),
	($$SELECT audit.table_as_of('accounts', NULL)$$),
	($$SELECT audit.table_as_of(NULL, now())$$),
	($$SELECT audit.table_as_of(4294967295::oid::regclass, now())$$),
	($$SELECT audit.table_as_of('untracked', now())$$),
	($$SELECT audit.table_as_of('keyless', now())$$),
	($$SELECT audit.transaction(NULL)$$),
	($$SELECT audit.activity(since => '2026-01-02', until => '2026-01-01')$$),
	($$SELECT audit.activity(since => NULL)$$),
	($$SELECT audit.activity(until => NULL)$$)) v(sql);
-- An unknown name is the server's own error, before the function runs.
SELECT * FROM audit.history('no_such_table', '{"id": 1}');

SELECT count(*) AS untracked FROM (SELECT audit.untrack('accounts'), audit.untrack('keyless')) u;
DROP SCHEMA regress_hist CASCADE;
