-- The event format of row events written while a statement runs, when a
-- relcache invalidation of audit.event arrives in the middle of it (here
-- an ANALYZE of audit.event from an AFTER ROW trigger of the statement's
-- own table, which fires between the row events; in production,
-- autovacuum's).  The batch keeps audit.event open across
-- the statement's row events; each must still be written in the format
-- the table holds (3), never as format 1, and the trail must verify.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_inval;
SET search_path = regress_inval;

CREATE TABLE t (id int PRIMARY KEY, note text);
CREATE FUNCTION analyze_trail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id % 4 = 0 THEN
		ANALYZE audit.event;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER zz_analyze_trail AFTER INSERT OR UPDATE ON t
	FOR EACH ROW EXECUTE FUNCTION analyze_trail();
SELECT audit.track('regress_inval.t') IS NULL AS tracked;

INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 12) g;
UPDATE t SET note = 'changed' WHERE id <= 8;

SELECT command, format_version, count(*)
  FROM audit.event WHERE kind = 'row' AND object_name = 'regress_inval.t'
 GROUP BY command, format_version ORDER BY command, format_version;
SELECT audit.seal() > 0 AS sealed;
SELECT ok, problems FROM audit.verify();

DROP SCHEMA regress_inval CASCADE;
