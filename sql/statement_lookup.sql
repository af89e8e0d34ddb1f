-- Finding the statement of a row change (0.5: event_statement_idx on
-- (statement_id, kind COLLATE "C", event_id)).  A bulk statement's row events all share its
-- statement_id; its statement event is the last event of kind 'statement'
-- with that id.  audit.row_changes and audit.history() must find it in one
-- index step per row whatever plan the planner picks, not by reading every
-- row event of the statement for each of its rows (the square of the load).
-- Checked by the heap tuples fetched through indexes on audit.event within
-- one transaction (pg_stat_xact_user_tables), with memoization off so that
-- no cache hides a per-row cost.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_stmt;
SET search_path = regress_stmt;

CREATE TABLE bulk (id int PRIMARY KEY, note text);
SELECT audit.track('regress_stmt.bulk') IS NULL AS tracked;
INSERT INTO bulk SELECT g, 'row ' || g FROM generate_series(1, 2000) g;
UPDATE bulk SET note = 'changed' WHERE id <= 1500;

SELECT pg_get_indexdef('audit.event_statement_idx'::regclass);

BEGIN;
SET LOCAL enable_memoize = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
SELECT idx_tup_fetch AS before FROM pg_stat_xact_user_tables
 WHERE relid = 'audit.event'::regclass \gset
-- Every row change of the table, each with its statement's text.
SELECT operation, count(*) AS changes, count(DISTINCT statement) AS statements,
       min(statement) AS statement
  FROM audit.row_changes WHERE table_name = 'regress_stmt.bulk'
 GROUP BY operation ORDER BY operation;
-- 3,500 row changes: a few index fetches each (the lookup of the statement,
-- the row itself, its transaction), not thousands each.
SELECT idx_tup_fetch - :before < 10 * 3500 AS bounded_fetches
  FROM pg_stat_xact_user_tables WHERE relid = 'audit.event'::regclass;
COMMIT;

-- history() of one row names both statements.
SELECT operation, statement FROM audit.history('regress_stmt.bulk', '{"id": 7}')
 ORDER BY event_id;

DROP SCHEMA regress_stmt CASCADE;
