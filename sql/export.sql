-- Export for log platforms (0.4): audit.export() returns one JSON document
-- per event, in event_id order, resumable from the last event.id; its
-- fields are compared with the event's columns (audit.events).  Events are
-- named by what they are, never by id.  test/t/070_log_to_server.pl checks
-- that audit.log_to_server logs the same documents.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_ex;
SET search_path = regress_ex;
CREATE TABLE item (id int PRIMARY KEY, label text);
SELECT audit.track('regress_ex.item');
SELECT audit.set_context('ex-user@example.org', '{"request": "r-1"}', false);
INSERT INTO item VALUES (1, 'quote " and \ backslash');
UPDATE item SET label = NULL WHERE id = 1;
SELECT 1/0;
SELECT audit.seal() IS NOT NULL AS sealed;

SELECT max(event_id) FILTER (WHERE kind = 'statement' AND command = 'INSERT'
                             AND object_name = 'regress_ex.item') AS ins_stmt,
       max(event_id) FILTER (WHERE kind = 'row' AND command = 'UPDATE'
                             AND object_name = 'regress_ex.item') AS upd_row,
       max(event_id) FILTER (WHERE kind = 'error' AND statement = 'SELECT 1/0') AS err
  FROM audit.events \gset
CREATE TEMP TABLE doc AS
	SELECT (d -> 'audit' ->> 'event_id')::bigint AS event_id, d
	  FROM audit.export(:ins_stmt - 1, 1000) d;

-- A statement event: every field against its column.
SELECT (d ->> '@timestamp')::timestamptz = e.occurred_at
         AND d ->> '@timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS ts,
       d -> 'event' = jsonb_build_object('id', e.event_id::text, 'kind', 'event',
                                         'action', 'INSERT', 'category', '["database"]'::jsonb,
                                         'outcome', 'success') AS event,
       d -> 'user' = jsonb_build_object('name', e.session_role,
                                        'effective', jsonb_build_object('name', e.effective_role)) AS "user",
       d -> 'source' ->> 'ip' = host(e.client_addr)
         AND (d -> 'source' ->> 'port')::int = e.client_port AS source,
       (d -> 'process' ->> 'pid')::int = pg_backend_pid() AS pid,
       d -> 'db' = jsonb_build_object('system', 'postgresql', 'name', current_database(),
                                      'operation', 'INSERT', 'statement', e.statement,
                                      'sql', jsonb_build_object('table', 'regress_ex.item')) AS db,
       d -> 'error' IS NULL AS no_error,
       (d -> 'audit') - '{block_id, leaf_hash, txid, statement_id, application_name}'::text[]
         = jsonb_build_object('event_id', e.event_id, 'kind', 'statement', 'class', 'write',
                              'nesting_level', 0, 'format_version', 3,
                              'app_user', 'ex-user@example.org', 'rows_affected', 1,
                              'context', '{"request": "r-1"}'::jsonb) AS audit,
       d #>> '{audit,leaf_hash}' = encode(e.leaf_hash, 'hex') AS leaf_hash,
       (d #>> '{audit,block_id}')::bigint = e.block_id AS block_id,
       (d #>> '{audit,txid}')::text = e.txid::text AS txid,
       (d #>> '{audit,statement_id}')::bigint = e.statement_id AS statement_id,
       d #>> '{audit,application_name}' = current_setting('application_name') AS application_name
  FROM doc JOIN audit.events e USING (event_id)
 WHERE event_id = :ins_stmt;
SELECT d -> 'db' ->> 'statement' AS statement FROM doc WHERE event_id = :ins_stmt;

-- A row event: the images as recorded, NULL values kept inside them.
SELECT d -> 'event' ->> 'action' AS action, d -> 'db' -> 'sql' ->> 'table' AS "table",
       d -> 'user' IS NULL AS no_user, d -> 'source' IS NULL AS no_source,
       d #> '{audit,row_key}' AS row_key, d #> '{audit,old_row}' AS old_row,
       d #> '{audit,new_row}' AS new_row, d #> '{audit,changed_columns}' AS changed,
       (d #>> '{audit,statement_id}')::bigint = e.statement_id AS statement_id
  FROM doc JOIN audit.events e USING (event_id)
 WHERE event_id = :upd_row;

-- An error event (written by the sealer from the event queue): a failure.
SELECT d #> '{event,outcome}' AS outcome, d -> 'error' AS error,
       d #>> '{db,statement}' AS statement, d #>> '{audit,kind}' AS kind,
       d #>> '{user,name}' = session_user AS "user"
  FROM doc WHERE event_id = :err;

-- In event_id order; resuming after an event starts right after it.
SELECT bool_and(event_id > :ins_stmt - 1) AND count(*) = count(DISTINCT event_id) AS after,
       (SELECT array_agg(event_id ORDER BY o) = array_agg(event_id ORDER BY event_id)
          FROM (SELECT (d #>> '{audit,event_id}')::bigint, o
                  FROM audit.export(0, 1000000) WITH ORDINALITY x(d, o)) y(event_id, o)) AS ordered
  FROM doc;
SELECT (SELECT (d #>> '{audit,event_id}')::bigint FROM audit.export(:upd_row, 1) d)
       = (SELECT min(event_id) FROM audit.event WHERE event_id > :upd_row) AS resumes,
       (SELECT count(*) FROM audit.export(:ins_stmt, 2)) AS two,
       (SELECT count(*) FROM audit.export(:err, 1000000) d
         WHERE (d #>> '{audit,event_id}')::bigint <= :err) AS none_before;

-- Bad input.
SELECT * FROM audit.export(NULL);
SELECT * FROM audit.export(0, NULL);
SELECT * FROM audit.export(-1);
SELECT * FROM audit.export(0, 0);
SELECT * FROM audit.export(0, 1000001);

SELECT audit.untrack('regress_ex.item');
SELECT audit.set_context('', '{}', false);
DROP SCHEMA regress_ex CASCADE;
