-- Erasure (0.4): audit.redact() removes values from the row images of
-- INSERT, UPDATE and DELETE events, keeps their commitments (and the salts
-- of the members that stay) in audit.event.erasure, drops row_salt, and
-- every hash still verifies; the redaction is itself an event.  Tampering
-- after an erasure is still found.  Events are named by what they are,
-- never by id.  test/t/061_redact.pl checks audit_verify (live, bundle,
-- proof) on erased events.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_rd;
SET search_path = regress_rd;
CREATE TABLE person (id int PRIMARY KEY, name text, email text, born date);
SELECT audit.track('regress_rd.person');
INSERT INTO person VALUES (1, 'Ann', 'ann@example.com', '1980-02-03'),
                          (2, 'Ben', 'ben@example.com', '1990-04-05');
UPDATE person SET email = 'ann@new.example' WHERE id = 1;
DELETE FROM person WHERE id = 2;
SELECT audit.seal() IS NOT NULL AS sealed;

SELECT max(event_id) FILTER (WHERE command = 'INSERT' AND row_key = '{"id": 1}') AS ins_ann,
       max(event_id) FILTER (WHERE command = 'UPDATE') AS upd_ann,
       max(event_id) FILTER (WHERE command = 'INSERT' AND row_key = '{"id": 2}') AS ins_ben,
       max(event_id) FILTER (WHERE command = 'DELETE') AS del_ben
  FROM audit.event WHERE kind = 'row' AND object_name = 'regress_rd.person' \gset
CREATE TEMP TABLE before AS
	SELECT event_id, leaf_hash FROM audit.event WHERE object_name = 'regress_rd.person';

-- Erase from an INSERT: the values are gone, their commitments stay, the
-- salts of the other members are kept, row_salt is gone.
SELECT audit.redact(:ins_ann, '{email, born}', 'erasure request 17') AS erased;
SELECT new_row, row_salt, jsonb_object_keys(erasure -> 'erased') AS erased_side,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(erasure #> '{erased,n}') k) AS erased_keys,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(erasure #> '{salts,n}') k) AS salted_keys,
       erasure #> '{salts,k}' = jsonb_build_object('id', erasure #>> '{salts,k,id}') AS key_salt_kept,
       erasure #>> '{erased,n,email}' ~ '^[0-9a-f]{64}$' AS commitment_hex,
       erasure #>> '{salts,n,id}' ~ '^[0-9a-f]{32}$' AS salt_hex
  FROM audit.event WHERE event_id = :ins_ann;
SELECT r ->> 'reason' AS reason, r -> 'columns' AS columns, r ->> 'by' = session_user AS by_me,
       (r ->> 'at')::timestamptz BETWEEN now() - interval '1 hour' AND now() AS at_recent
  FROM audit.event, jsonb_array_elements(erasure -> 'redactions') r WHERE event_id = :ins_ann;

-- Erase from an UPDATE (the changed email is in old_row and new_row) and,
-- by table and row key, from every event of Ben's row (INSERT, DELETE).
SELECT audit.redact(:upd_ann, '{email}', 'erasure request 17') AS erased;
SELECT old_row, new_row, (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(erasure -> 'erased') k) AS sides
  FROM audit.event WHERE event_id = :upd_ann;
SELECT audit.redact('regress_rd.person', '{"id": 2}', '{name, email}', 'erasure request 18') AS erased;
SELECT command, row_key, old_row, new_row, erasure #> '{redactions,0,columns}' AS columns
  FROM audit.event WHERE event_id IN (:ins_ben, :del_ben) ORDER BY event_id;

-- A second erasure of the same event merges with the first.
SELECT audit.redact(:ins_ann, '{name}', 'erasure request 19') AS erased;
SELECT new_row, (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(erasure #> '{erased,n}') k) AS erased_keys,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(erasure #> '{salts,n}') k) AS salted_keys,
       jsonb_path_query_array(erasure, '$.redactions[*].reason') AS reasons
  FROM audit.event WHERE event_id = :ins_ann;

-- No erased value is left in any row event (every email, Ben's name);
-- row_changes shows erased members as absent.  (The statements' own text
-- still has the literals: see README, "Erasure".)
SELECT count(*) AS row_events_with_erased_values FROM audit.event
 WHERE kind = 'row' AND (row_key::text || coalesce(old_row::text, '') || coalesce(new_row::text, ''))
       ~ '(@|"Ben")';
SELECT operation, row_key, old_row, new_row FROM audit.row_changes
 WHERE table_name = 'regress_rd.person' ORDER BY event_id;

-- Every hash still holds: the leaves are unchanged, verify() passes, and
-- so does the inclusion proof of an erased event (it carries erasure).
SELECT count(*) AS leaves_changed FROM audit.event e JOIN before b USING (event_id)
 WHERE e.leaf_hash IS DISTINCT FROM b.leaf_hash;
SELECT ok, problems FROM audit.verify();
SELECT audit.inclusion_proof(:ins_ann) AS proof \gset
SELECT :'proof'::jsonb #>> '{event,erasure}' = erasure::text AS carries_erasure,
       :'proof'::jsonb #> '{event,row_salt}' AS row_salt,
       audit.verify_inclusion_proof(:'proof') AS proof_holds,
       audit.verify_inclusion_proof(:'proof'::jsonb #- '{event,erasure}') AS without_erasure,
       audit.verify_inclusion_proof(jsonb_set(:'proof', '{event,erasure}',
           to_jsonb(replace(erasure::text, erasure #>> '{erased,n,email}', encode(sha256('x'), 'hex'))))) AS other_commitment
  FROM audit.event WHERE event_id = :ins_ann;

-- The test vector of docs/FORMAT.md, "Erasure": the format-3 vector event
-- with new_row's "note" erased, row_salt gone, still hashes to its leaf;
-- without the erasure record it cannot be encoded.
CREATE TEMP TABLE vector AS SELECT jsonb_populate_record(NULL::audit.event, '{
	"event_id": 42, "format_version": 3, "txid": "1000",
	"occurred_at": "2026-01-02 03:04:05.678901+00", "kind": "statement",
	"command": "UPDATE", "object_name": "public.accounts", "session_role": "alice",
	"effective_role": "bob", "client_addr": "127.0.0.1", "client_port": 54321,
	"application_name": "psql", "backend_pid": 4242, "database": "shop",
	"statement": "UPDATE accounts SET balance = 0 WHERE id = 1", "rows_affected": 1,
	"class": "write", "statement_id": 42, "nesting_level": 0, "app_user": "carol",
	"context": {"tenant": 7, "request": "r-17", "user": "zoë"},
	"row_key": {"id": 1}, "old_row": {"balance": 100}, "new_row": {"id": 1, "balance": 0},
	"changed_columns": ["balance"],
	"leaf_hash": "\\x4e6e6f1aac60ea34d58fac99cd20ba9ae17629070488c0bb21e69d497c53e94b",
	"erasure": {"salts": {"k": {"id": "c7985ab88614516a8ccd6dbc421abdc1"},
	                      "n": {"id": "da2ce89d07d92671a6401bdafd639031",
	                            "balance": "25c85b616e77a929fe09a0f3079d385b"},
	                      "o": {"balance": "1c7d47e096eb07077cb5574301e915f6"}},
	            "erased": {"n": {"note": "2c4969907b47f627eb231477bc25ab7d6c6411fd178eec7dfb41ac87635573a9"}},
	            "redactions": []}}') AS e;
SELECT audit._event_leaf_holds(e) AS erased_vector_holds,
       audit._event_leaf_holds(jsonb_populate_record(e, '{"erasure": null}')) AS without_erasure,
       audit._event_leaf_holds(jsonb_populate_record(e, '{"erasure": null,
           "row_salt": "\\x000102030405060708090a0b0c0d0e0f",
           "new_row": {"id": 1, "balance": 0, "note": "zoë"}}')) AS unerased_vector_holds
  FROM vector;

-- Each redaction is a config event: REDACT, what and why.
SELECT command, object_name, jsonb_array_length(detail -> 'event_ids') AS events, detail - 'event_ids' AS detail
  FROM audit.event WHERE kind = 'config' AND command = 'REDACT' ORDER BY event_id;

-- Bad input: each refused with its SQLSTATE (event ids shown as N).
CREATE FUNCTION pg_temp.refused(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'SELECT ' || call;
	RETURN 'not refused';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'event -?\d+', 'event N', 'g');
END $$;
SELECT pg_temp.refused(c) AS error FROM unnest(ARRAY[
	$$audit.redact(NULL, '{email}', 'r')$$,
	format($$audit.redact(%s, NULL, 'r')$$, :ins_ann),
	format($$audit.redact(%s, '{email, NULL}', 'r')$$, :ins_ann),
	format($$audit.redact(%s, '{}', 'r')$$, :ins_ann),
	format($$audit.redact(%s, '{email}', NULL)$$, :ins_ann),
	format($$audit.redact(%s, '{email}', '  ')$$, :ins_ann),
	$$audit.redact(-1, '{email}', 'r')$$,
	$$audit.redact((SELECT max(event_id) FROM audit.event WHERE kind = 'config'), '{email}', 'r')$$,
	format($$audit.redact(%s, '{nope}', 'r')$$, :upd_ann),
	format($$audit.redact(%s, '{email}', 'again')$$, :ins_ann),
	$$audit.redact(NULL, '{"id": 1}', '{email}', 'r')$$,
	$$audit.redact('regress_rd.person', '{"id": 3}', '{email}', 'r')$$,
	$$audit.redact('regress_rd.person', '{"id": 1}', '{nope}', 'r')$$]) c;
-- An archived event, an altered one; a role that is not audit_admin.
BEGIN;
UPDATE audit.event SET archive_id = 1 WHERE event_id = :upd_ann;
SELECT pg_temp.refused(format($$audit.redact(%s, '{name}', 'r')$$, :upd_ann)) AS error;
ROLLBACK;
BEGIN;
UPDATE audit.event SET new_row = new_row || '{"name": "Eve"}' WHERE event_id = :upd_ann;
SELECT pg_temp.refused(format($$audit.redact(%s, '{name}', 'r')$$, :upd_ann)) AS error;
ROLLBACK;
CREATE ROLE regress_rd_nobody;
SET ROLE regress_rd_nobody;
SELECT pg_temp.refused(format($$audit.redact(%s, '{name}', 'r')$$, :upd_ann)) AS error;
RESET ROLE;
DROP ROLE regress_rd_nobody;

-- Tampering after an erasure is still found: a value that stays, an
-- erased commitment, row_salt put back, a salt removed, an erased member
-- given a value again.
CREATE FUNCTION pg_temp.tampered(change text) RETURNS TABLE (problem text, detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('UPDATE audit.event SET %s WHERE event_id = %s', change,
				   current_setting('regress.ins_ann'));
	RETURN QUERY SELECT r.problem, regexp_replace(r.detail, '\\x[0-9a-f]{64}', 'H', 'g')
	  FROM audit.verify_report() r WHERE r.event_id = current_setting('regress.ins_ann')::bigint;
	RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'undo';
EXCEPTION WHEN assert_failure THEN
	RETURN;
END $$;
SET regress.ins_ann = :ins_ann;
SELECT c.change, t.problem, t.detail
  FROM unnest(ARRAY[
         $$new_row = jsonb_set(new_row, '{id}', '7')$$,
         $$erasure = jsonb_set(erasure, '{erased,n,email}', to_jsonb(encode(sha256('x'), 'hex')))$$,
         $$row_salt = '\x000102030405060708090a0b0c0d0e0f'$$,
         $$erasure = erasure #- '{salts,n,id}'$$,
         $$new_row = new_row || '{"email": "x"}'$$,
         $$erasure = erasure #- '{erased,n,born}'$$,
         $$erasure = NULL$$]) WITH ORDINALITY c(change, n),
       LATERAL pg_temp.tampered(c.change) t
 ORDER BY c.n;
SELECT ok, problems FROM audit.verify();

SELECT audit.untrack('regress_rd.person');
DROP SCHEMA regress_rd CASCADE;
