-- Row capture (0.3): audit.track() and friends, and the row events of
-- every kind of write to a tracked table.  Row events are shown by their
-- rank among the row events after a mark (never by event id), with masked
-- values shown as mask("value") once checked against the mask formula
-- (sha256 of 0x05, the table's mask salt and the value's jsonb text).
-- sql/row_types.sql covers the conversion of each data type;
-- test/t/040_row_capture.pl what needs other sessions or a restart.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
SELECT current_user AS superuser \gset
CREATE SCHEMA regress_rc;
SET search_path = regress_rc;

-- The mask of a jsonb value in a tracked table, as row capture makes it.
CREATE FUNCTION pg_temp.mask_of(rel regclass, v jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT 'sha256:' || encode(sha256('\x05'::bytea || t.mask_salt || convert_to(v::text, 'UTF8')), 'hex')
	  FROM audit.tracked_table t WHERE t.relid = rel $$;
-- Values masked in this test, to show a mask as the value it masks.
CREATE TEMP TABLE masked_values (v jsonb);
INSERT INTO masked_values VALUES ('"ann-secret"'), ('"ben-secret"'), ('"ann-new"'), ('"same"'),
	('"s1"'), ('"s2"'), ('"s3"'), ('"1"'), ('"2"'), ('"2x"'), ('"3"'), ('"5"');
-- An image with each mask shown as mask(<value>); a mask of no value of
-- masked_values is shown as it is (and would stand out).
CREATE FUNCTION pg_temp.show(j jsonb, rel regclass) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN j IS NULL OR jsonb_typeof(j) <> 'object' THEN j ELSE
	       coalesce((SELECT jsonb_object_agg(e.key,
	                          coalesce((SELECT to_jsonb('mask(' || m.v::text || ')') FROM masked_values m
	                                     WHERE pg_temp.mask_of(rel, m.v) = e.value #>> '{}'), e.value))
	                   FROM jsonb_each(j) e), '{}') END $$;
-- The row events after a mark, in the order they were recorded.
CREATE FUNCTION pg_temp.rows(since bigint)
RETURNS TABLE (n bigint, op text, tbl text, part text, row_key jsonb, old_row jsonb,
               new_row jsonb, changed jsonb, nrows bigint)
LANGUAGE sql STABLE AS $$
	SELECT row_number() OVER (ORDER BY event_id), command, object_name, detail ->> 'partition',
	       pg_temp.show(row_key, to_regclass(object_name)), pg_temp.show(old_row, to_regclass(object_name)),
	       pg_temp.show(new_row, to_regclass(object_name)), changed_columns, rows_affected
	  FROM audit.event WHERE kind = 'row' AND event_id > since ORDER BY event_id $$;
-- The config events after a mark.
CREATE FUNCTION pg_temp.configs(since bigint)
RETURNS TABLE (command text, object_name text, detail jsonb, statement text)
LANGUAGE sql STABLE AS $$
	SELECT command, object_name, detail, statement FROM audit.event
	 WHERE kind = 'config' AND event_id > since ORDER BY event_id $$;
-- Row events after a mark whose statement is not recorded with them
-- (same statement_id, same transaction).
CREATE FUNCTION pg_temp.orphans(since bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT count(*) FROM audit.event r
	 WHERE r.kind = 'row' AND r.event_id > since
	   AND NOT EXISTS (SELECT FROM audit.event s WHERE s.kind = 'statement'
	                      AND s.statement_id = r.statement_id AND s.txid = r.txid) $$;
-- What audit.tracked_tables says of the tables of this test.
CREATE FUNCTION pg_temp.tracked()
RETURNS TABLE (table_name text, exclude_columns text[], mask_columns text[], key_columns text[],
               key_source text, partitioned boolean, via_schema text, row_trigger "char", note text)
LANGUAGE sql STABLE AS $$
	SELECT table_name::text, exclude_columns, mask_columns, key_columns, key_source,
	       partitioned, via_schema::text, row_trigger, note
	  FROM audit.tracked_tables ORDER BY 1 $$;
-- audit_ext's triggers on the tables of this test.
CREATE FUNCTION pg_temp.triggers() RETURNS TABLE (rel text, tgname name, tgenabled "char", cloned boolean)
LANGUAGE sql STABLE AS $$
	SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled, t.tgparentid <> 0
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE t.tgname LIKE 'audit\_ext\_%'
	   AND c.relnamespace IN ('regress_rc'::regnamespace, 'public'::regnamespace)
	 ORDER BY 1, 2 $$;

-- ---------------------------------------------------------------------------
-- Tracking a table: its triggers (ENABLE ALWAYS), its options, a config
-- event.  Rows written before are not captured.  What track() runs itself
-- (writing audit.tracked_table, CREATE TRIGGER, ALTER TABLE ... ENABLE
-- ALWAYS) is no statement event, even with audit.log = 'all'.
-- ---------------------------------------------------------------------------
CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2), pin text, secret text);
INSERT INTO acct VALUES (0, 'before', 0, '0000', 'old');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET audit.log = 'all';
SELECT audit.track('acct', exclude_columns => '{pin}', mask_columns => '{secret}');
RESET audit.log;
SELECT * FROM pg_temp.tracked();
SELECT * FROM pg_temp.triggers();
SELECT * FROM pg_temp.configs(:mark);
SELECT count(*) AS row_events FROM pg_temp.rows(:mark);
SELECT kind, command, class, nesting_level, statement FROM audit.event
 WHERE event_id > :mark AND class IS DISTINCT FROM 'read' ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- INSERT, UPDATE, DELETE.  An UPDATE stores the new row whole and the
-- previous values of the changed columns only; changing nothing (or only
-- an excluded column) is recorded with changed_columns [].  row_key is
-- the primary key, of the new row for an UPDATE.
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO acct VALUES (1, 'ann', 100, '1111', 'ann-secret'), (2, 'ben', 50, '2222', 'ben-secret');
UPDATE acct SET balance = balance + 10.5 WHERE id = 1;
UPDATE acct SET owner = 'ben', balance = 50 WHERE id = 2;
UPDATE acct SET pin = '9999' WHERE id = 2;
UPDATE acct SET secret = 'ann-new', owner = NULL WHERE id = 1;
UPDATE acct SET id = 3 WHERE id = 2;
DELETE FROM acct WHERE id = 3;
UPDATE acct SET balance = 0 WHERE id = 42;
SELECT n, op, tbl, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
-- audit.row_changes rebuilds the whole previous row, and names the
-- statement and who ran it.
SELECT row_number() OVER (ORDER BY event_id) AS n, operation, table_name, partition,
       pg_temp.show(old_row, 'acct') AS old_row, statement,
       session_role = :'superuser' AS by_me, effective_role = :'superuser' AS as_me
  FROM audit.row_changes WHERE event_id > :mark ORDER BY event_id;
-- Every row event has its statement's event; each statement its count.
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT command, rows_affected, statement FROM audit.event s
 WHERE s.kind = 'statement' AND s.event_id > :mark
   AND EXISTS (SELECT FROM audit.event r WHERE r.kind = 'row' AND r.statement_id = s.statement_id
                  AND r.txid = s.txid)
 ORDER BY s.event_id;
-- The raw values of the excluded and masked columns appear nowhere.
SELECT count(*) FILTER (WHERE new_row ? 'pin' OR old_row ? 'pin' OR row_key ? 'pin') AS with_pin,
       count(*) FILTER (WHERE concat(old_row, new_row, row_key, changed_columns) ~ '1111|2222|9999|-secret|ann-new') AS raw_values,
       count(*) FILTER (WHERE new_row ->> 'secret' ~ '^sha256:[0-9a-f]{64}$') AS masked_new,
       count(*) FILTER (WHERE old_row ->> 'secret' ~ '^sha256:[0-9a-f]{64}$') AS masked_old
  FROM audit.event WHERE kind = 'row' AND event_id > :mark;

-- ---------------------------------------------------------------------------
-- TRUNCATE: one event with the number of rows the table had; a table
-- truncated with it that is not tracked has none; an empty one has 0.
-- ---------------------------------------------------------------------------
CREATE TABLE untracked (a int);
INSERT INTO untracked VALUES (1), (2);
INSERT INTO acct VALUES (4, 'dee', 1, '4444', 's1'), (5, 'eve', 2, '5555', 's2');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
TRUNCATE acct, untracked;
TRUNCATE acct;
SELECT n, op, tbl, row_key, old_row, new_row, nrows FROM pg_temp.rows(:mark);
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT row_number() OVER (ORDER BY event_id) AS n, operation, rows_affected, statement
  FROM audit.row_changes WHERE event_id > :mark ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- Masks: equal values mask equally within a table, and differently in
-- another table (its own salt); NULL stays null; a masked key column is
-- masked in row_key too.
-- ---------------------------------------------------------------------------
CREATE TABLE badge (code text PRIMARY KEY, holder text, secret text);
SELECT audit.track('badge', mask_columns => '{code,secret}');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO acct VALUES (6, 'fay', 0, '6666', 'same'), (7, 'gus', 0, '7777', 'same'), (8, 'hal', 0, '8888', NULL);
INSERT INTO badge VALUES ('1', 'fay', 'same'), ('2', 'gus', NULL);
UPDATE badge SET code = '2x' WHERE code = '2';
SELECT n, op, tbl, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT count(DISTINCT new_row ->> 'secret') FILTER (WHERE object_name = 'regress_rc.acct') AS acct_masks_of_same,
       count(DISTINCT new_row ->> 'secret') FILTER (WHERE new_row ->> 'secret' LIKE 'sha256:%') AS masks_of_same_in_both
  FROM audit.event WHERE kind = 'row' AND event_id > :mark AND new_row ->> 'secret' IS NOT NULL;
SELECT pg_temp.show(row_key, 'badge') AS row_key, row_key ->> 'code' ~ '^sha256:[0-9a-f]{64}$' AS masked
  FROM audit.event WHERE kind = 'row' AND event_id > :mark AND object_name = 'regress_rc.badge'
 ORDER BY event_id;
SELECT * FROM pg_temp.tracked() WHERE table_name = 'badge';

-- ---------------------------------------------------------------------------
-- The row key: primary key (several columns, in column order), else the
-- replica identity index; none: row_key NULL, and tracked_tables says so.
-- A key added later is used from then on.
-- ---------------------------------------------------------------------------
CREATE TABLE twokey (b int, a int, v text, PRIMARY KEY (a, b));
CREATE TABLE ident (u int NOT NULL, v text);
CREATE UNIQUE INDEX ident_u ON ident (u);
ALTER TABLE ident REPLICA IDENTITY USING INDEX ident_u;
CREATE TABLE nokey (v text);
SELECT audit.track('twokey'), audit.track('ident'), audit.track('nokey');
SELECT * FROM pg_temp.tracked() WHERE table_name IN ('twokey', 'ident', 'nokey');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO twokey VALUES (1, 2, 'x');
INSERT INTO ident VALUES (3, 'y');
INSERT INTO nokey VALUES ('z');
UPDATE nokey SET v = 'zz';
ALTER TABLE nokey ADD COLUMN id int;
UPDATE nokey SET id = 1;
ALTER TABLE nokey ADD PRIMARY KEY (id);
DELETE FROM nokey;
SELECT n, op, tbl, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT key_columns, key_source, note FROM pg_temp.tracked() WHERE table_name = 'nokey';

-- ---------------------------------------------------------------------------
-- track() again with the same options changes nothing and records
-- nothing; with other options it records them and what they replace,
-- keeping the mask salt (masks stay comparable).  untrack() drops the
-- triggers and records it; again, it does nothing.  Untracked, nothing
-- is captured; tracked again, capture resumes (with a new mask salt).
-- ---------------------------------------------------------------------------
SELECT mask_salt AS badge_salt FROM audit.tracked_table WHERE relid = 'badge'::regclass \gset
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT audit.track('badge', '{}', '{code,secret}');
SELECT audit.track('badge', mask_columns => '{code,secret}');
SELECT count(*) AS config_events FROM pg_temp.configs(:mark);
SELECT audit.track('badge', '{holder}', '{code}');
SELECT audit.track('badge', '{holder}', '{code}');
SELECT command, object_name, detail FROM pg_temp.configs(:mark);
SELECT mask_salt = :'badge_salt' AS same_salt FROM audit.tracked_table WHERE relid = 'badge'::regclass;
INSERT INTO badge VALUES ('3', 'ida', 'same');
SELECT n, op, row_key, new_row FROM pg_temp.rows(:mark);
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT audit.untrack('badge');
SELECT audit.untrack('badge');
SELECT command, object_name, detail FROM pg_temp.configs(:mark);
SELECT * FROM pg_temp.triggers() WHERE rel = 'badge';
SELECT count(*) AS tracked FROM pg_temp.tracked() WHERE table_name = 'badge';
INSERT INTO badge VALUES ('4', 'jo', 'not captured');
TRUNCATE badge;
SELECT count(*) AS row_events FROM pg_temp.rows(:mark);
SELECT audit.track('badge', '{}', '{code,secret}');
SELECT mask_salt = :'badge_salt' AS same_salt FROM audit.tracked_table WHERE relid = 'badge'::regclass;
INSERT INTO badge VALUES ('5', 'kim', 's3');
SELECT n, op, row_key, new_row FROM pg_temp.rows(:mark);
-- A row trigger dropped or disabled behind track()'s back shows in
-- tracked_tables, and track() puts it back.
DROP TRIGGER audit_ext_row ON badge;
SELECT table_name, row_trigger FROM pg_temp.tracked() WHERE table_name = 'badge';
SELECT audit.track('badge', '{}', '{code,secret}');
SELECT table_name, row_trigger FROM pg_temp.tracked() WHERE table_name = 'badge';
ALTER TABLE badge DISABLE TRIGGER audit_ext_row;
SELECT table_name, row_trigger FROM pg_temp.tracked() WHERE table_name = 'badge';
SELECT audit.track('badge', '{}', '{code,secret}');
SELECT table_name, row_trigger FROM pg_temp.tracked() WHERE table_name = 'badge';

-- ---------------------------------------------------------------------------
-- What cannot be tracked: each refused with a clear error, leaving no
-- trace (no tracked_tables entry, no trigger, no config event).
-- ---------------------------------------------------------------------------
CREATE VIEW a_view AS SELECT * FROM acct;
CREATE MATERIALIZED VIEW a_matview AS SELECT 1 AS one;
CREATE SEQUENCE a_seq;
CREATE FOREIGN DATA WRAPPER regress_rc_dummy;
CREATE SERVER regress_rc_server FOREIGN DATA WRAPPER regress_rc_dummy;
CREATE FOREIGN TABLE a_foreign (a int) SERVER regress_rc_server;
CREATE TEMP TABLE a_temp (a int PRIMARY KEY);
CREATE TABLE plain (id int PRIMARY KEY, a text, b text);
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT count(*) AS tracked_before FROM audit.tracked_tables \gset
SELECT audit.track('a_view');
SELECT audit.track('a_matview');
SELECT audit.track('a_seq');
SELECT audit.track('a_foreign');
-- (The message names the session's own temporary schema: pg_temp_N here.)
DO $$
BEGIN
	PERFORM audit.track('a_temp');
EXCEPTION WHEN feature_not_supported THEN
	RAISE NOTICE '%', regexp_replace(SQLERRM, 'pg_temp_\d+', 'pg_temp_N');
END $$;
SELECT audit.track('audit.event');
SELECT audit.track('audit.tracked_table');
SELECT audit.track('pg_catalog.pg_class');
SELECT audit.track('no_such_table');
SELECT audit.track(NULL);
SELECT audit.track('plain', NULL);
SELECT audit.track('plain', '{}', NULL);
SELECT audit.track('plain', '{nope}');
SELECT audit.track('plain', '{}', '{nope}');
SELECT audit.track('plain', '{a}', '{a}');
SELECT audit.track('plain', '{a,b}', '{b}');
SELECT audit.track('plain', '{id}');
SELECT audit.track('ident', '{u}');
SELECT audit.track('plain', '{ctid}');
SELECT audit.track('plain', '{a,NULL}');
SELECT audit.track('plain', '{}', '{NULL}');
SELECT audit.untrack(NULL);
SELECT audit.untrack('no_such_table');
SELECT count(*) = :tracked_before AS nothing_tracked FROM audit.tracked_tables;
SELECT count(*) AS plain_tracked FROM audit.tracked_table WHERE relid = 'plain'::regclass;
SELECT count(*) AS stray_triggers FROM pg_trigger
 WHERE tgname LIKE 'audit\_ext\_%'
   AND tgrelid IN ('a_view'::regclass, 'a_matview'::regclass, 'a_foreign'::regclass,
                   'a_temp'::regclass, 'plain'::regclass, 'audit.event'::regclass);
SELECT count(*) AS config_events FROM pg_temp.configs(:mark);
-- 'ident' kept its options through the refused call.
SELECT table_name, exclude_columns, mask_columns FROM pg_temp.tracked() WHERE table_name = 'ident';
-- Untracking what is not tracked is no error and records nothing (a NOTICE says so).
SELECT audit.untrack('plain'), audit.untrack('a_view');
SELECT count(*) AS config_events FROM pg_temp.configs(:mark);

-- ---------------------------------------------------------------------------
-- Only audit_admin tracks; audit_reader reads tracked_tables,
-- row_changes and the row salts in audit.events, but not the table behind
-- tracked_tables (it holds the mask salts).
-- ---------------------------------------------------------------------------
CREATE ROLE regress_rc_admin IN ROLE audit_admin;
CREATE ROLE regress_rc_reader IN ROLE audit_reader;
CREATE ROLE regress_rc_nobody;
GRANT USAGE ON SCHEMA regress_rc TO regress_rc_admin, regress_rc_reader, regress_rc_nobody;
SET ROLE regress_rc_nobody;
SELECT audit.track('plain');
SELECT audit.untrack('acct');
SELECT count(*) FROM audit.tracked_tables;
SET ROLE regress_rc_reader;
SELECT audit.track('plain');
SELECT count(*) > 0 AS reads_tracked_tables FROM audit.tracked_tables;
SELECT count(*) > 0 AS reads_row_changes FROM audit.row_changes;
-- audit.events shows the row salts, which verifying row events needs.
SELECT count(*) > 0 AS reads_row_salts,
       bool_and(octet_length(row_salt) = 16) AS salted
  FROM audit.events WHERE kind = 'row';
SELECT mask_salt FROM audit.tracked_table;
SET ROLE regress_rc_admin;
SELECT audit.track('plain');
-- tracked_by: the session's user, not the role set (nor the extension's owner).
SELECT table_name, row_trigger, tracked_by = session_user AS by_session_user,
       tracked_by = current_user AS by_current_user
  FROM audit.tracked_tables WHERE table_name = 'plain'::regclass;
SELECT audit.untrack('plain');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The statement that changed tracked rows is recorded whatever audit.log
-- and the exclusions say; other statements follow them.
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET audit.log = 'none';
SET audit.exclude_relations = 'regress_rc.acct, regress_rc.untracked';
INSERT INTO acct VALUES (9, 'ivy', 0, '9', 's1');
INSERT INTO untracked VALUES (3);
RESET audit.exclude_relations;
SET audit.exclude_roles = :'superuser';
UPDATE acct SET balance = 1 WHERE id = 9;
UPDATE untracked SET a = 4;
RESET audit.exclude_roles;
RESET audit.log;
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT kind, command, object_name, statement FROM audit.event
 WHERE event_id > :mark AND kind IN ('row', 'statement') AND command IN ('INSERT', 'UPDATE')
 ORDER BY kind, event_id;

-- ---------------------------------------------------------------------------
-- Rows changed by a function, a trigger, a foreign key's cascade, a
-- data-modifying WITH and a prepared statement: each row event comes with
-- the statement that changed it.
-- ---------------------------------------------------------------------------
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE);
SELECT audit.track('child');
INSERT INTO parent VALUES (1), (2);
CREATE FUNCTION add_child(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO regress_rc.child VALUES (i, 1);
	RETURN i;
END $$;
CREATE FUNCTION parent_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO regress_rc.child VALUES (NEW.id * 10, NEW.id);
	RETURN NULL;
END $$;
CREATE TRIGGER parent_log AFTER INSERT ON parent FOR EACH ROW EXECUTE FUNCTION parent_log();
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT add_child(11);
INSERT INTO parent VALUES (3);
WITH c AS (INSERT INTO child VALUES (12, 2) RETURNING id) SELECT count(*) FROM c;
PREPARE ins_child(int) AS INSERT INTO child VALUES ($1, 2);
EXECUTE ins_child(13);
DEALLOCATE ins_child;
UPDATE parent SET id = 4 WHERE id = 3;
DELETE FROM parent WHERE id = 1;
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT row_number() OVER (ORDER BY event_id) AS n, operation, row_key, old_row, new_row, statement
  FROM audit.row_changes WHERE event_id > :mark ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- Transactions: a rolled-back transaction leaves no row events; a
-- rolled-back savepoint drops exactly its own (released ones inside it
-- too), and an exception block in PL/pgSQL likewise.
-- ---------------------------------------------------------------------------
CREATE TABLE sub (id int PRIMARY KEY, v text);
SELECT audit.track('sub');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
BEGIN;
INSERT INTO sub VALUES (1, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO sub VALUES (1, 'kept');
SAVEPOINT a;
INSERT INTO sub VALUES (2, 'undone');
UPDATE sub SET v = 'undone too' WHERE id = 1;
SAVEPOINT b;
INSERT INTO sub VALUES (3, 'undone, released');
RELEASE b;
ROLLBACK TO a;
INSERT INTO sub VALUES (4, 'kept');
SAVEPOINT c;
UPDATE sub SET v = 'kept, released' WHERE id = 4;
RELEASE c;
SAVEPOINT d;
DELETE FROM sub;
INSERT INTO sub VALUES (1, 'fails');
ROLLBACK TO d;
UPDATE sub SET v = 'kept, after d' WHERE id = 1;
COMMIT;
DO $$
BEGIN
	INSERT INTO regress_rc.sub VALUES (5, 'kept');
	BEGIN
		INSERT INTO regress_rc.sub VALUES (6, 'undone');
		UPDATE regress_rc.sub SET v = 'undone' WHERE id = 5;
		RAISE EXCEPTION 'undo';
	EXCEPTION WHEN raise_exception THEN
		INSERT INTO regress_rc.sub VALUES (7, 'kept, in handler');
	END;
END $$;
SELECT n, op, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT * FROM sub ORDER BY id;

-- ---------------------------------------------------------------------------
-- COPY FROM: one row event per row, with the COPY statement.
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
COPY sub FROM STDIN;
10	text
11	\N
12	tab\there
\.
COPY sub (v, id) FROM STDIN WITH (FORMAT csv);
"quoted, ""comma""",13
\.
SELECT n, op, row_key, new_row FROM pg_temp.rows(:mark);
SELECT row_number() OVER (ORDER BY event_id) AS n, statement
  FROM audit.row_changes WHERE event_id > :mark ORDER BY event_id;
SELECT command, rows_affected FROM audit.event
 WHERE kind = 'statement' AND event_id > :mark AND command = 'COPY' ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- INSERT ... ON CONFLICT and MERGE record what happened to each row, not
-- what the statement could have done.
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO sub VALUES (1, 'ignored') ON CONFLICT DO NOTHING;
INSERT INTO sub VALUES (1, 'ignored'), (20, 'new') ON CONFLICT (id) DO NOTHING;
INSERT INTO sub VALUES (20, 'updated'), (21, 'new') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO sub VALUES (20, 'updated') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO sub VALUES (21, 'not updated') ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE false;
SELECT n, op, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
MERGE INTO sub s USING (VALUES (20, 'merged'), (21, NULL), (22, 'inserted'), (99, NULL)) v(id, v)
   ON s.id = v.id
 WHEN MATCHED AND v.v IS NULL THEN DELETE
 WHEN MATCHED THEN UPDATE SET v = v.v
 WHEN NOT MATCHED AND v.v IS NOT NULL THEN INSERT VALUES (v.id, v.v)
 WHEN NOT MATCHED THEN DO NOTHING;
SELECT n, op, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT row_number() OVER (ORDER BY event_id) AS n, operation, left(statement, 24) AS statement
  FROM audit.row_changes WHERE event_id > :mark ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- ALTER TABLE between changes: each event keeps the shape it was written
-- with; events after ADD, DROP, RENAME COLUMN and ALTER COLUMN TYPE have
-- the new one.
-- ---------------------------------------------------------------------------
CREATE TABLE shape (id int PRIMARY KEY, a text, b int);
SELECT audit.track('shape');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO shape VALUES (1, 'one', 1);
ALTER TABLE shape ADD COLUMN c text DEFAULT 'dflt';
INSERT INTO shape VALUES (2, 'two', 2, 'c2');
UPDATE shape SET b = 10 WHERE id = 1;
ALTER TABLE shape DROP COLUMN a;
INSERT INTO shape VALUES (3, 3, 'c3');
UPDATE shape SET c = 'changed' WHERE id = 2;
ALTER TABLE shape RENAME COLUMN b TO bee;
UPDATE shape SET bee = 20 WHERE id = 2;
ALTER TABLE shape ALTER COLUMN bee TYPE numeric USING bee + 0.5;
UPDATE shape SET c = 'after type change' WHERE id = 3;
ALTER TABLE shape RENAME TO shape2;
DELETE FROM shape2 WHERE id = 1;
SELECT n, op, tbl, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT * FROM pg_temp.tracked() WHERE table_name LIKE 'shape%';
ALTER TABLE shape2 RENAME TO shape;
-- A masked or excluded column renamed stays masked (with the same mask)
-- or excluded; a column added later under the old name of one is masked
-- or excluded too.
CREATE TABLE cloak (id int PRIMARY KEY, secret text, pin text);
SELECT audit.track('cloak', '{pin}', '{secret}');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO cloak VALUES (1, 's1', '1111');
ALTER TABLE cloak RENAME COLUMN secret TO secret2;
ALTER TABLE cloak RENAME COLUMN pin TO pin2;
INSERT INTO cloak VALUES (2, 's1', '2222');
UPDATE cloak SET secret2 = 's2', pin2 = '3333' WHERE id = 2;
UPDATE cloak SET pin2 = '4444' WHERE id = 1;
ALTER TABLE cloak ADD COLUMN secret text, ADD COLUMN pin text;
INSERT INTO cloak VALUES (3, 's1', '5555', 's3', '6666');
SELECT n, op, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT count(*) FILTER (WHERE concat(old_row, new_row, row_key, changed_columns) ~ 'pin|1111|2222|3333|4444|5555|6666|"s[123]"') AS raw_values
  FROM audit.event WHERE kind = 'row' AND event_id > :mark;

-- ---------------------------------------------------------------------------
-- Partitioned tables: rows are captured in every partition, present and
-- future (PARTITION OF, ATTACH PARTITION, a sub-partitioned default),
-- under the tracked table's name with the partition in detail.  A row
-- moved to another partition is a DELETE and an INSERT (as PostgreSQL
-- fires its row triggers).  TRUNCATE: one event per partition.  A
-- partition cannot be tracked on its own; a detached one is no longer
-- captured.
-- ---------------------------------------------------------------------------
CREATE TABLE part (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE part_eu PARTITION OF part FOR VALUES IN ('eu');
SELECT audit.track('part', mask_columns => '{}', exclude_columns => '{}');
CREATE TABLE part_us PARTITION OF part FOR VALUES IN ('us');
CREATE TABLE part_asia (id int NOT NULL, region text NOT NULL, v int);
ALTER TABLE part ATTACH PARTITION part_asia FOR VALUES IN ('asia');
CREATE TABLE part_other PARTITION OF part DEFAULT PARTITION BY RANGE (id);
CREATE TABLE part_other_low PARTITION OF part_other FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE part_other_high (id int NOT NULL, region text NOT NULL, v int);
ALTER TABLE part_other ATTACH PARTITION part_other_high FOR VALUES FROM (100) TO (MAXVALUE);
SELECT * FROM pg_temp.triggers() WHERE rel LIKE 'part%';
SELECT * FROM pg_temp.tracked() WHERE table_name LIKE 'part%';
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO part VALUES (1, 'eu', 1), (2, 'us', 2), (3, 'asia', 3), (4, 'mars', 4), (104, 'mars', 5);
UPDATE part SET v = v * 10 WHERE id = 3;
UPDATE part SET region = 'us' WHERE id = 1;
UPDATE part SET id = 5 WHERE id = 104;
DELETE FROM part_asia;
SELECT n, op, tbl, part, row_key, old_row, new_row, changed FROM pg_temp.rows(:mark);
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
TRUNCATE part;
INSERT INTO part VALUES (6, 'eu', 6);
TRUNCATE part_eu;
SELECT op, tbl, part, nrows FROM pg_temp.rows(:mark) ORDER BY op, part, nrows;
SELECT pg_temp.orphans(:mark) AS orphans;
SELECT audit.track('part_us');
SELECT audit.track('part_other_low');
SELECT count(*) AS partitions_tracked FROM audit.tracked_table WHERE relid::text LIKE 'part\_%';
-- Nor, the other way round, a partitioned table one of whose partitions
-- is tracked.
CREATE TABLE part2 (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE part2_low PARTITION OF part2 FOR VALUES FROM (0) TO (10);
SELECT audit.track('part2_low');
SELECT audit.track('part2');
SELECT * FROM pg_temp.tracked() WHERE table_name LIKE 'part2%';
SELECT * FROM pg_temp.triggers() WHERE rel LIKE 'part2%';
SELECT audit.untrack('part2_low');
ALTER TABLE part DETACH PARTITION part_us;
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO part_us VALUES (7, 'us', 7);
INSERT INTO part VALUES (8, 'eu', 8);
SELECT n, op, tbl, part, new_row FROM pg_temp.rows(:mark);
-- The detached table can now be tracked on its own.
SELECT audit.track('part_us');
INSERT INTO part_us VALUES (9, 'us', 9);
SELECT n, op, tbl, part, new_row FROM pg_temp.rows(:mark);
SELECT audit.untrack('part_us');
-- untrack() of the partitioned table drops the triggers of every partition.
SELECT audit.untrack('part');
SELECT * FROM pg_temp.triggers() WHERE rel LIKE 'part%';

-- ---------------------------------------------------------------------------
-- session_replication_role = replica disables ordinary triggers, not
-- these (ENABLE ALWAYS).  (040_row_capture.pl: as a non-superuser.)
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET session_replication_role = replica;
INSERT INTO sub VALUES (30, 'replica');
UPDATE sub SET v = 'replica 2' WHERE id = 30;
DELETE FROM sub WHERE id = 30;
INSERT INTO acct VALUES (30, 'replica', 0, '30', 's1');
TRUNCATE acct;
RESET session_replication_role;
SELECT n, op, tbl, row_key, old_row, new_row, nrows FROM pg_temp.rows(:mark);

-- ---------------------------------------------------------------------------
-- track_schema(): every table of the schema (not views, not partitions:
-- their table is tracked), each with the options whose columns it has (an
-- excluded key column is left out); with include_future, tables created
-- there later too.  Calling it again with other options changes those of
-- all (with the same ones, nothing); untrack_schema() untracks the tables
-- it tracked and stops the future.
-- ---------------------------------------------------------------------------
CREATE SCHEMA regress_rc_s;
CREATE TABLE regress_rc_s.a (id int PRIMARY KEY, pin text, secret text);
CREATE TABLE regress_rc_s.b (k int, secret text);
CREATE TABLE regress_rc_s.p (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE regress_rc_s.p1 PARTITION OF regress_rc_s.p FOR VALUES FROM (0) TO (10);
CREATE VIEW regress_rc_s.v AS SELECT 1 AS one;
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT audit.track_schema('regress_rc_s', '{pin,id}', '{secret}');
SELECT table_name, exclude_columns, mask_columns, key_columns, partitioned, via_schema
  FROM audit.tracked_tables WHERE via_schema IS NOT NULL ORDER BY table_name::text;
CREATE TABLE regress_rc_s.c (id int PRIMARY KEY, pin text, secret text, other int);
CREATE TABLE regress_rc_s.p2 PARTITION OF regress_rc_s.p FOR VALUES FROM (10) TO (20);
CREATE TEMP TABLE c_temp (id int);
SELECT table_name, exclude_columns, mask_columns, key_columns, partitioned, via_schema
  FROM audit.tracked_tables WHERE via_schema IS NOT NULL ORDER BY table_name::text;
INSERT INTO regress_rc_s.c VALUES (1, '1234', 's1', 3);
INSERT INTO regress_rc_s.p VALUES (15, 1);
SELECT n, op, tbl, part, row_key, new_row FROM pg_temp.rows(:mark);
SELECT command, object_name, detail FROM pg_temp.configs(:mark);
-- Called again with the same options, it changes nothing and records nothing.
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT audit.track_schema('regress_rc_s', '{pin,id}', '{secret}');
SELECT count(*) AS config_events FROM pg_temp.configs(:mark);
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SELECT audit.track_schema('regress_rc_s', include_future => false);
SELECT table_name, exclude_columns, mask_columns FROM audit.tracked_tables
 WHERE via_schema IS NOT NULL ORDER BY table_name::text;
CREATE TABLE regress_rc_s.d (id int);
SELECT count(*) AS d_tracked FROM audit.tracked_table WHERE relid = 'regress_rc_s.d'::regclass;
SELECT audit.track_schema('regress_rc_s');
SELECT count(*) AS d_tracked FROM audit.tracked_table WHERE relid = 'regress_rc_s.d'::regclass;
-- A table of the schema tracked by itself stays tracked after untrack_schema().
SELECT audit.track('regress_rc_s.b', mask_columns => '{secret}');
SELECT audit.untrack_schema('regress_rc_s');
SELECT audit.untrack_schema('regress_rc_s');
SELECT table_name, via_schema FROM audit.tracked_tables WHERE table_name::text LIKE 'regress_rc_s.%';
CREATE TABLE regress_rc_s.e (id int);
SELECT count(*) AS e_tracked FROM audit.tracked_table WHERE relid = 'regress_rc_s.e'::regclass;
SELECT command, object_name FROM pg_temp.configs(:mark);
SELECT audit.track_schema('audit');
SELECT audit.track_schema('pg_catalog');
SELECT audit.track_schema('no_such_schema');
SELECT audit.track_schema(NULL);
SELECT audit.track_schema('regress_rc_s', include_future => NULL);
SELECT audit.track_schema('regress_rc_s', NULL);
SELECT audit.track_schema('regress_rc_s', '{}', NULL);
SELECT audit.untrack_schema('no_such_schema');
SELECT audit.untrack_schema(NULL);
SELECT count(*) AS tracked_in_schema FROM audit.tracked_table t JOIN pg_class c ON c.oid = t.relid
 WHERE c.relnamespace = 'regress_rc_s'::regnamespace;
SELECT count(*) AS schemas_tracked FROM audit.tracked_schema;
SELECT audit.untrack('regress_rc_s.b');

-- ---------------------------------------------------------------------------
-- Row events are in their transaction's digest: the sealed trail
-- verifies; an altered row image, key, changed_columns or salt is caught.
-- ---------------------------------------------------------------------------
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT ok, problems FROM audit.verify();
SELECT max(event_id) AS upd_id FROM audit.event
 WHERE kind = 'row' AND command = 'UPDATE' AND object_name = 'regress_rc.acct' \gset
BEGIN;
UPDATE audit.event SET new_row = jsonb_set(new_row, '{balance}', '1000000') WHERE event_id = :upd_id;
SELECT ok, problems, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET old_row = old_row - 'balance' WHERE event_id = :upd_id;
SELECT ok, problems, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET row_key = '{"id": 2}' WHERE event_id = :upd_id;
SELECT ok, problems, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET changed_columns = '[]' WHERE event_id = :upd_id;
SELECT ok, problems, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET new_row = NULL WHERE event_id = :upd_id;
SELECT ok, problems, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it FROM audit.verify();
ROLLBACK;
-- Images that cannot even be encoded (not an object, no salt): reported
-- as altered (docs/FORMAT.md), not an error.
BEGIN;
UPDATE audit.event SET new_row = '"not an object"' WHERE event_id = :upd_id;
SELECT ok, problems > 0 AS reported, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it
  FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET row_salt = NULL WHERE event_id = :upd_id;
SELECT ok, problems > 0 AS reported, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it
  FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET row_salt = '\x00' WHERE event_id = :upd_id;
SELECT ok, problems > 0 AS reported, first_problem ~ ('^event ' || :upd_id || ': event altered') AS names_it
  FROM audit.verify();
ROLLBACK;
-- A row event removed: its transaction's digest no longer holds.
SELECT txid AS upd_txid FROM audit.event WHERE event_id = :upd_id \gset
BEGIN;
DELETE FROM audit.event WHERE event_id = :upd_id;
SELECT ok, problems > 0 AS reported FROM audit.verify();
SELECT problem, txid = :'upd_txid'::xid8 AS its_txn FROM audit.verify_report();
ROLLBACK;
SELECT ok, problems FROM audit.verify();

-- ---------------------------------------------------------------------------
-- A dropped table leaves the list of tracked tables; its events stay.
-- ---------------------------------------------------------------------------
SELECT count(*) AS acct_events FROM audit.event WHERE kind = 'row' AND object_name = 'regress_rc.acct' \gset
DROP VIEW a_view;
DROP TABLE acct;
SELECT count(*) AS acct_tracked FROM audit.tracked_tables WHERE table_name::text = 'acct';
SELECT count(*) = :acct_events AS events_kept FROM audit.event WHERE kind = 'row' AND object_name = 'regress_rc.acct';
SET client_min_messages = warning;
DROP SCHEMA regress_rc_s CASCADE;
DROP SCHEMA regress_rc CASCADE;
RESET client_min_messages;
DROP SERVER regress_rc_server;
DROP FOREIGN DATA WRAPPER regress_rc_dummy;
SELECT count(*) AS still_tracked FROM audit.tracked_table;
DROP ROLE regress_rc_admin, regress_rc_reader, regress_rc_nobody;
