-- Row capture of each kind of value.  A value converts as to_jsonb()
-- converts it, except that it does not depend on the session: timestamptz
-- in UTC (+00:00), floats shortest-exact, bytea in hex whatever
-- bytea_output says, dates in ISO, intervals in the postgres style
-- whatever DateStyle and IntervalStyle say, also inside arrays,
-- composites and ranges; NaN and infinities are strings.  Each image
-- converts back (jsonb_populate_record) to the row that was written.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE SCHEMA regress_rt;
SET search_path = regress_rt;

CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE TYPE nest AS (p pair, tags text[], at timestamp);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN tag_list AS text[] CHECK (cardinality(VALUE) < 5);

CREATE TABLE scalars (
	id int PRIMARY KEY,
	i2 int2, i4 int4, i8 int8, num numeric, num_scaled numeric(10,2),
	f4 float4, f8 float8, bool boolean,
	txt text, vc varchar(10), bp char(4), nm name,
	d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
	b bytea, u uuid, ip inet, mac macaddr, bits bit varying(8), x xml, e mood, dm posint
);
SELECT audit.track('scalars');

-- Settings that change how values print: none changes the images.
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = -3;
SET bytea_output = 'escape';
SET IntervalStyle = 'iso_8601';
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO scalars VALUES
	(1, -32768, 2147483647, -9223372036854775808, 12345678901234567890.000000001, 1.50,
	 0.1, 0.1, true,
	 E'q"uo''te \\ back\\slash\ttab\nnewline \u00e9\u4e2d \U0001F600 \u0001', 'varchar', 'ab', 'a name',
	 '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456-05', '12:34:56.789',
	 '12:34:56+05:30', '1 year 2 mons 3 days 04:05:06.7',
	 '\x00ff27225c', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '08:00:2b:01:02:03',
	 B'101', '<a x="1">t&amp;</a>', 'happy', 7),
	(2, 0, 0, 0, 'NaN', 'NaN', 'NaN', 'NaN', false,
	 '', '', '', '', 'infinity', 'infinity', 'infinity', '00:00', '00:00+00', '0',
	 '\x', '00000000-0000-0000-0000-000000000000', '::1', '00:00:00:00:00:00', B'', '<a/>', 'sad', 1),
	(3, NULL, NULL, NULL, 'Infinity', NULL, 'Infinity', 'Infinity', NULL,
	 NULL, NULL, NULL, NULL, '-infinity', '-infinity', '-infinity', '24:00', NULL, '-1 day -00:00:01',
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, NULL, NULL, NULL, '-Infinity', -99999999.99, '-Infinity', '-Infinity', NULL,
	 NULL, NULL, NULL, NULL, NULL, '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(5, NULL, NULL, NULL, 0.000000000000000000001, 0, 3.4028235e38, 1e300, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(6, NULL, NULL, NULL, -0.5, NULL, 1.17549435e-38, 5e-324, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(7, NULL, NULL, NULL, 1e-30, NULL, 16777217, 0.30000000000000004, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
RESET bytea_output;
RESET IntervalStyle;
-- Each value as stored (NULLs of rows 3 to 8 left out).
SELECT (e.new_row ->> 'id')::int AS id, k.key, k.value
  FROM audit.event e, jsonb_each(e.new_row) k
 WHERE e.kind = 'row' AND e.event_id > :mark AND (k.value <> 'null' OR e.new_row ->> 'id' IN ('1', '2'))
 ORDER BY 1, 2;
-- Back through jsonb_populate_record: the row that was written, column by
-- column (compared as text, in a session with other settings again).
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'German';
SET extra_float_digits = 3;
SELECT s.id, c.attname AS differs
  FROM scalars s
  JOIN audit.event e ON e.kind = 'row' AND e.event_id > :mark AND (e.new_row ->> 'id')::int = s.id
  CROSS JOIN LATERAL jsonb_populate_record(NULL::scalars, e.new_row) AS r
  CROSS JOIN LATERAL (SELECT attname FROM pg_attribute
                       WHERE attrelid = 'scalars'::regclass AND attnum > 0) c
 WHERE (to_jsonb(s) -> c.attname::text) IS DISTINCT FROM (to_jsonb(r) -> c.attname::text)
 ORDER BY 1, 2;
SELECT count(*) AS rows_compared
  FROM scalars s JOIN audit.event e ON e.kind = 'row' AND e.event_id > :mark AND (e.new_row ->> 'id')::int = s.id;
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
-- Where the image differs from to_jsonb() of the row in this session
-- (TimeZone PST8PDT, extra_float_digits 0, IntervalStyle
-- postgres_verbose as pg_regress sets it): timestamptz, floats whose
-- shortest exact form is not what float4out and float8out print, and
-- intervals (the image has the postgres style).
SET extra_float_digits = 0;
SELECT (e.new_row ->> 'id')::int AS id, k.key, k.value AS image, to_jsonb(s) -> k.key AS to_jsonb
  FROM audit.event e CROSS JOIN LATERAL jsonb_each(e.new_row) k
  JOIN scalars s ON s.id = (e.new_row ->> 'id')::int
 WHERE e.kind = 'row' AND e.event_id > :mark AND k.value IS DISTINCT FROM to_jsonb(s) -> k.key
 ORDER BY 1, 2;
RESET extra_float_digits;

-- ---------------------------------------------------------------------------
-- Arrays (multi-dimensional, NULL elements, empty), composites (nested),
-- domains, ranges (empty, unbounded), json and jsonb.  These go through
-- to_jsonb() itself; written here under UTC and ISO settings, compared
-- with to_jsonb() under the same.  (The next section writes such values
-- under other settings.)
-- ---------------------------------------------------------------------------
CREATE TABLE nested (
	id int PRIMARY KEY,
	ia int[], ta text[], md int[][], pa pair, na nest, tl tag_list, da date[],
	ir int4range, nr numrange, dr daterange, tr tsrange,
	j json, jb jsonb, js jsonb
);
SELECT audit.track('nested');
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO nested VALUES
	(1, '{1,NULL,3}', '{"a","b\"c",NULL,"NULL",""}', '{{1,2},{3,NULL}}', ROW(1, 'x"y'),
	 ROW(ROW(2, NULL), '{p,q}', '2024-01-02 03:04:05'), '{one,two}', '{2024-02-29,infinity}',
	 '[1,5)', '[1.50,2.5]', '[2024-01-01,2024-02-01)', '[2024-01-01 00:00,)',
	 '{"b": 1, "a": [1, 2.50], "a": 3, "c": "\u00e9"}', '{"b": {"x": [true, null]}, "a": 1.0}', '"a string"'),
	(2, '{}', '{}', '{}', ROW(NULL, NULL), NULL, '{}', NULL,
	 'empty', '(,)', 'empty', '(,2024-01-01 00:00]',
	 '[]', '[]', '12.30'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null', 'null', 'null');
RESET TimeZone;
RESET DateStyle;
SELECT (e.new_row ->> 'id')::int AS id, k.key, k.value
  FROM audit.event e, jsonb_each(e.new_row) k
 WHERE e.kind = 'row' AND e.event_id > :mark
 ORDER BY 1, 2;
-- They are what to_jsonb() gives (under the same settings), and convert
-- back.  Like to_jsonb(), an image does not tell a JSON null in a json or
-- jsonb column (row 3) from SQL NULL.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SELECT s.id, c.attname AS differs, to_jsonb(s) -> c.attname::text AS was, to_jsonb(r) -> c.attname::text AS back
  FROM nested s
  JOIN audit.event e ON e.kind = 'row' AND e.event_id > :mark AND (e.new_row ->> 'id')::int = s.id
  CROSS JOIN LATERAL jsonb_populate_record(NULL::nested, e.new_row) AS r
  CROSS JOIN LATERAL (SELECT attname FROM pg_attribute
                       WHERE attrelid = 'nested'::regclass AND attnum > 0) c
 WHERE (to_jsonb(s) -> c.attname::text) IS DISTINCT FROM (to_jsonb(r) -> c.attname::text)
 ORDER BY 1, 2;
SELECT count(*) AS differ_from_to_jsonb
  FROM audit.event e JOIN nested s ON s.id = (e.new_row ->> 'id')::int
 WHERE e.kind = 'row' AND e.event_id > :mark AND e.new_row IS DISTINCT FROM to_jsonb(s);
SELECT j IS NULL AS j_is_sql_null, j::text AS j, jb IS NULL AS jb_is_sql_null, jb::text AS jb
  FROM nested WHERE id = 3;
RESET TimeZone;
RESET DateStyle;

-- ---------------------------------------------------------------------------
-- Values that go through to_jsonb() do not depend on the session either:
-- while a row image is built, TimeZone is UTC, DateStyle ISO, MDY,
-- IntervalStyle postgres, extra_float_digits 1 and bytea_output hex.  The
-- same values written under four sets of settings have the same image:
-- the one to_jsonb() gives under those pinned settings.  The session's
-- settings are back after each INSERT (SHOW).
-- ---------------------------------------------------------------------------
CREATE TYPE stamp AS (at timestamptz, f float8, b bytea, iv interval);
CREATE TABLE pinned (
	id int PRIMARY KEY,
	tsa timestamptz[], tsr tstzrange, da date[], dtr daterange, tsla timestamp[],
	iv interval, iva interval[], fa float8[], f4a float4[], ba bytea[], pt point, st stamp
);
SELECT audit.track('pinned');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = -3;
SET bytea_output = 'escape';
INSERT INTO pinned VALUES (1,
	'{"2024-01-02 03:04:05+00","2024-06-30 23:59:59.5+05:30"}', '[2024-01-01 00:00+00,2024-01-02 12:00+00)',
	'{2024-02-29,2024-12-31}', '[2024-01-01,2024-02-01)', '{"2024-01-02 03:04:05.25"}',
	'1 year 2 mons 3 days 04:05:06.7', '{"1 day 02:03:04","-1 mon +00:00:01"}',
	'{0.1,0.30000000000000004,1e-7}', '{0.1,16777217}', '{"\\x00ff27"}', '(0.1,0.30000000000000004)',
	ROW('2024-01-02 03:04:05+00', 0.1, '\x00ff', '36 hours'));
SHOW IntervalStyle;
SET TimeZone = 'America/St_Johns';
SET DateStyle = 'German';
SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = 0;
INSERT INTO pinned SELECT 2, tsa, tsr, da, dtr, tsla, iv, iva, fa, f4a, ba, pt, st FROM pinned WHERE id = 1;
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'Postgres, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = 3;
SET bytea_output = 'hex';
INSERT INTO pinned SELECT 3, tsa, tsr, da, dtr, tsla, iv, iva, fa, f4a, ba, pt, st FROM pinned WHERE id = 1;
SHOW TimeZone;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
INSERT INTO pinned SELECT 4, tsa, tsr, da, dtr, tsla, iv, iva, fa, f4a, ba, pt, st FROM pinned WHERE id = 1;
-- The image of row 1, written under Asia/Kolkata, SQL, iso_8601: in UTC,
-- ISO and postgres style.
SELECT k.key, k.value
  FROM audit.event e, jsonb_each(e.new_row) k
 WHERE e.kind = 'row' AND e.event_id > :mark AND e.new_row ->> 'id' = '1'
 ORDER BY 1;
-- Rows 2 to 4 have the same image.
SELECT e.new_row ->> 'id' AS id, e.new_row - 'id' = (f.new_row - 'id') AS same_image
  FROM audit.event e
  JOIN audit.event f ON f.kind = 'row' AND f.event_id > :mark AND f.new_row ->> 'id' = '1'
 WHERE e.kind = 'row' AND e.event_id > :mark
 ORDER BY 1;
-- It is what to_jsonb() gives under the pinned settings (and not under
-- the session's own, here).
SELECT count(*) FILTER (WHERE e.new_row IS DISTINCT FROM to_jsonb(p)) AS differ_from_session_to_jsonb
  FROM audit.event e JOIN pinned p ON p.id = (e.new_row ->> 'id')::int
 WHERE e.kind = 'row' AND e.event_id > :mark;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SELECT count(*) FILTER (WHERE e.new_row IS DISTINCT FROM to_jsonb(p)) AS differ_from_pinned_to_jsonb
  FROM audit.event e JOIN pinned p ON p.id = (e.new_row ->> 'id')::int
 WHERE e.kind = 'row' AND e.event_id > :mark;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;

-- ---------------------------------------------------------------------------
-- UPDATE compares values as stored: setting a value to itself (also a
-- timestamptz under another TimeZone, a numeric(10,2) to 1.5, a jsonb
-- with its keys in another order) changes nothing; 1.5 to 1.50 in an
-- unconstrained numeric, -0 to 0 in a float, or 1.0 to 1 in a jsonb is a
-- change of what is stored (and shows), though they compare equal.
-- ---------------------------------------------------------------------------
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET TimeZone = 'Pacific/Auckland';
UPDATE scalars SET tstz = '2024-01-02 08:04:05.123456+00', num_scaled = 1.5, txt = txt WHERE id = 1;
RESET TimeZone;
UPDATE scalars SET num = 1.5, f8 = 0 WHERE id = 8;
UPDATE scalars SET num = 1.50, f8 = '-0' WHERE id = 8;
UPDATE nested SET jb = '{"a": 1.0, "b": {"x": [true, null]}}', na.at = '2024-01-02 03:04:05' WHERE id = 1;
UPDATE nested SET jb = '{"a": 1, "b": {"x": [true, null]}}' WHERE id = 1;
SELECT command, row_key, old_row, changed_columns FROM audit.event
 WHERE kind = 'row' AND event_id > :mark ORDER BY event_id;

-- ---------------------------------------------------------------------------
-- TOASTed values (compressed out of line, and out of line as they are)
-- round-trip; an UPDATE of another column neither copies them into
-- old_row nor calls them changed.  (A value of several MB:
-- 040_row_capture.pl, so that the trail of this database stays small for
-- the tests that rehash all of it.)
-- ---------------------------------------------------------------------------
CREATE TABLE big (id int PRIMARY KEY, doc text, blob bytea, n int);
ALTER TABLE big ALTER COLUMN blob SET STORAGE EXTERNAL;
SELECT audit.track('big');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
INSERT INTO big VALUES (1, repeat('x', 300000), decode(repeat('00ff', 5000), 'hex'), 1);
INSERT INTO big SELECT 2, string_agg(md5(i::text), '') FROM generate_series(1, 10000) i;
CREATE FUNCTION pg_temp.toast_chunks(rel regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM %s', (SELECT reltoastrelid::regclass FROM pg_class WHERE oid = rel))
	   INTO n;
	RETURN n;
END $$;
SELECT pg_temp.toast_chunks('big') > 10 AS toasted,
       (SELECT pg_column_size(doc) < 10000 FROM big WHERE id = 1) AS compressed;
UPDATE big SET n = 2 WHERE id = 1;
UPDATE big SET doc = doc WHERE id = 1;
UPDATE big SET doc = doc || 'y' WHERE id = 1;
DELETE FROM big WHERE id = 2;
SELECT e.command, e.row_key,
       length(e.new_row ->> 'doc') AS new_doc_len, length(e.old_row ->> 'doc') AS old_doc_len,
       length(e.new_row ->> 'blob') AS new_blob_chars,
       e.changed_columns,
       (e.new_row ->> 'doc') = repeat('x', 300000) AS doc_is_x,
       (e.new_row ->> 'blob') = '\x' || repeat('00ff', 5000) AS blob_ok
  FROM audit.event e
 WHERE e.kind = 'row' AND e.event_id > :mark ORDER BY e.event_id;
SELECT md5(old_row ->> 'doc') = md5((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 10000) i)) AS deleted_doc_ok
  FROM audit.event WHERE kind = 'row' AND event_id > :mark AND command = 'DELETE';
SELECT (new_row ->> 'doc') = repeat('x', 300000) || 'y' AS doc_ok
  FROM audit.event WHERE kind = 'row' AND event_id > :mark AND command = 'UPDATE'
 ORDER BY event_id DESC LIMIT 1;

-- ---------------------------------------------------------------------------
-- Masked values of any type: "sha256:" and 64 hex digits of the value's
-- jsonb text (so a timestamptz masks alike under any TimeZone), never the
-- value itself; a big value too.
-- ---------------------------------------------------------------------------
CREATE TABLE hidden (id int PRIMARY KEY, t text, n numeric, ts timestamptz, b bytea, a int[], doc text);
SELECT audit.track('hidden', mask_columns => '{t,n,ts,b,a,doc}');
SELECT coalesce(max(event_id), 0) AS mark FROM audit.event \gset
SET TimeZone = 'Asia/Kolkata';
INSERT INTO hidden VALUES (1, 'hunter2', 1.50, '2024-01-02 03:04:05+00', '\xdeadbeef', '{4,2}', repeat('secret', 10000));
SET TimeZone = 'America/New_York';
INSERT INTO hidden VALUES (2, 'hunter2', 1.50, '2024-01-02 03:04:05+00', '\xdeadbeef', '{4,2}', 'x');
RESET TimeZone;
SELECT (new_row ->> 'id')::int AS id, k.key, k.value #>> '{}' ~ '^sha256:[0-9a-f]{64}$' AS masked,
       k.value #>> '{}' = 'sha256:' || encode(sha256('\x05'::bytea || t.mask_salt
           || convert_to(CASE k.key WHEN 't' THEN '"hunter2"' WHEN 'n' THEN '1.50'
                                    WHEN 'ts' THEN '"2024-01-02T03:04:05+00:00"'
                                    WHEN 'b' THEN '"\\xdeadbeef"' WHEN 'a' THEN '[4, 2]'
                                    WHEN 'doc' THEN CASE WHEN new_row ->> 'id' = '1'
                                                         THEN '"' || repeat('secret', 10000) || '"'
                                                         ELSE '"x"' END END, 'UTF8')), 'hex') AS is_the_mask_of_the_value
  FROM audit.event e CROSS JOIN LATERAL jsonb_each(e.new_row) k
  JOIN audit.tracked_table t ON t.relid = 'hidden'::regclass
 WHERE e.kind = 'row' AND e.event_id > :mark AND k.key <> 'id'
 ORDER BY 1, 2;
-- (Only patterns no hex digest can contain: a masked value is 64 hex digits.)
SELECT count(*) FILTER (WHERE new_row::text ~ 'hunter2|xdeadbeef|secret|1\.50|2024-01') AS raw_values
  FROM audit.event WHERE kind = 'row' AND event_id > :mark;

SELECT audit.seal() IS NOT NULL AS sealed;
SELECT ok, problems FROM audit.verify();

SET client_min_messages = warning;
DROP SCHEMA regress_rt CASCADE;
RESET client_min_messages;
SELECT count(*) AS still_tracked FROM audit.tracked_table;
