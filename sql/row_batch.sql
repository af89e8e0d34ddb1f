-- Row events of a bulk statement are held and written many at a time
-- (src/event_buffer.c), per subtransaction: rows recorded inside a
-- subtransaction that a trigger's exception block rolls back vanish with
-- it, the others stay, across the thousand-row flushes.  Counts of rows
-- in the tables and of their row events must agree exactly.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_rb;
SET search_path = regress_rb;

CREATE TABLE outer_t (id int PRIMARY KEY, v text);
CREATE TABLE inner_t (id int PRIMARY KEY, v text);
SELECT audit.track('outer_t'), audit.track('inner_t');

-- For each outer row, an inner row written in a subtransaction that every
-- third time fails and is rolled back by the exception block.
CREATE FUNCTION outer_t_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO inner_t VALUES (NEW.id, 'inner ' || NEW.id);
		IF NEW.id % 3 = 0 THEN
			RAISE EXCEPTION 'rolled back';
		END IF;
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
	RETURN NULL;
END
$$;
CREATE TRIGGER outer_t_after AFTER INSERT ON outer_t
	FOR EACH ROW EXECUTE FUNCTION outer_t_after();

CREATE FUNCTION pg_temp.counts() RETURNS TABLE (tbl text, table_rows bigint, row_events bigint, all_captured boolean)
LANGUAGE sql AS $$
	SELECT t, (SELECT count(*) FROM regress_rb.outer_t), count(e.*),
	       bool_and(e.new_row ->> 'id' IN (SELECT id::text FROM regress_rb.outer_t))
	  FROM (VALUES ('outer_t')) v(t)
	  LEFT JOIN audit.events e ON e.kind = 'row' AND e.object_name = 'regress_rb.outer_t'
	 GROUP BY t
	UNION ALL
	SELECT t, (SELECT count(*) FROM regress_rb.inner_t), count(e.*),
	       bool_and(e.new_row ->> 'id' IN (SELECT id::text FROM regress_rb.inner_t))
	  FROM (VALUES ('inner_t')) v(t)
	  LEFT JOIN audit.events e ON e.kind = 'row' AND e.object_name = 'regress_rb.inner_t'
	 GROUP BY t
	 ORDER BY 1 DESC $$;

-- 3000 outer rows: more than one flush of the statement's level, inner
-- rows merged into it from 3000 subtransactions, 1000 of them rolled back.
INSERT INTO outer_t SELECT g, 'x' FROM generate_series(1, 3000) g;
SELECT * FROM pg_temp.counts();

-- A savepoint rolled back after a bulk statement: its rows and events go.
BEGIN;
INSERT INTO outer_t SELECT g, 'y' FROM generate_series(3001, 3010) g;
SAVEPOINT s;
INSERT INTO outer_t SELECT g, 'z' FROM generate_series(3011, 4500) g;
ROLLBACK TO s;
INSERT INTO outer_t SELECT g, 'w' FROM generate_series(4501, 4502) g;
COMMIT;
SELECT * FROM pg_temp.counts();

-- A bulk statement that fails at the end leaves no row events.
INSERT INTO outer_t SELECT g, 'dup' FROM generate_series(4503, 6000) g
UNION ALL SELECT 1, 'duplicate key';
SELECT * FROM pg_temp.counts();

-- COPY FROM is batched the same way.
COPY outer_t FROM STDIN;
7001	c1
7002	c2
7003	c3
\.
SELECT * FROM pg_temp.counts();

-- The statement event of each bulk statement has the rows' statement id.
SELECT s.command, s.rows_affected, count(r.*) AS row_events
  FROM audit.events s
  JOIN audit.events r ON r.statement_id = s.statement_id AND r.kind = 'row'
                      AND r.object_name = s.object_name
 WHERE s.kind = 'statement' AND s.object_name = 'regress_rb.outer_t'
 GROUP BY s.event_id, s.command, s.rows_affected ORDER BY s.event_id;

-- A subtransaction that commits 600 rows into a statement level already
-- holding 600: the rows join (memory included) and are all written.
CREATE TABLE stmt_t (id int PRIMARY KEY);
SELECT audit.track('stmt_t');
CREATE FUNCTION stmt_t_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO inner_t SELECT g + 100000, 'bulk ' || g FROM generate_series(1, 600) g;
	EXCEPTION WHEN unique_violation THEN
		NULL;
	END;
	RETURN NULL;
END
$$;
CREATE TRIGGER stmt_t_after AFTER INSERT ON stmt_t
	FOR EACH STATEMENT EXECUTE FUNCTION stmt_t_after();
INSERT INTO stmt_t SELECT g FROM generate_series(1, 600) g;
SELECT (SELECT count(*) FROM stmt_t) AS stmt_rows,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.stmt_t') AS stmt_events,
       (SELECT count(*) FROM inner_t WHERE id > 100000) AS bulk_rows,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.inner_t'
           AND (new_row ->> 'id')::int > 100000) AS bulk_events;
-- The same again: the inner INSERT now fails, its 600 rows are dropped.
INSERT INTO stmt_t SELECT g FROM generate_series(601, 1200) g;
SELECT (SELECT count(*) FROM stmt_t) AS stmt_rows,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.stmt_t') AS stmt_events,
       (SELECT count(*) FROM inner_t WHERE id > 100000) AS bulk_rows,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.inner_t'
           AND (new_row ->> 'id')::int > 100000) AS bulk_events;

-- Every captured row from a committed subtransaction (upsert by exception
-- block from an untracked staging table): held rows stay bounded, each
-- subtransaction writes its own once its parent's level is full.
CREATE TABLE staging (id int);
CREATE FUNCTION staging_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO stmt_t VALUES (NEW.id);
	EXCEPTION WHEN unique_violation THEN
		UPDATE stmt_t SET id = id WHERE id = NEW.id;
	END;
	RETURN NULL;
END
$$;
CREATE TRIGGER staging_after AFTER INSERT ON staging
	FOR EACH ROW EXECUTE FUNCTION staging_after();
INSERT INTO staging SELECT g FROM generate_series(1001, 3500) g;
SELECT (SELECT count(*) FROM stmt_t) AS stmt_rows,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.stmt_t'
           AND command = 'INSERT') AS insert_events,
       (SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'regress_rb.stmt_t'
           AND command = 'UPDATE') AS update_events;

-- Names in row events follow renames of a partitioned parent and of its
-- schema (the session's cached metadata is refreshed).
CREATE SCHEMA regress_rb_old;
CREATE TABLE regress_rb_old.parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE regress_rb_old.parted_1 PARTITION OF regress_rb_old.parted FOR VALUES FROM (0) TO (100);
SELECT audit.track('regress_rb_old.parted');
INSERT INTO regress_rb_old.parted VALUES (1);
ALTER TABLE regress_rb_old.parted RENAME TO parted_renamed;
INSERT INTO regress_rb_old.parted_renamed VALUES (2);
ALTER SCHEMA regress_rb_old RENAME TO regress_rb_new;
INSERT INTO regress_rb_new.parted_renamed VALUES (3);
SELECT row_key, object_name, detail ->> 'partition' AS partition
  FROM audit.events WHERE kind = 'row' AND object_name LIKE 'regress_rb_%.parted%'
 ORDER BY event_id;
DROP SCHEMA regress_rb_new CASCADE;

SELECT audit.seal() IS NOT NULL AS sealed;
SELECT ok, problems FROM audit.verify();

DROP SCHEMA regress_rb CASCADE;
