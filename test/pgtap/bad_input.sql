-- pgTAP: bad input to every SQL-callable function of the extension.
--
-- The functions are taken from the catalog (pg_depend on the extension),
-- so a new one is swept too.  Each is called with a valid value in every
-- argument but one, which gets NULL or each odd value of its type below
-- (out of range, huge, empty, multi-dimensional or offset arrays, arrays
-- with NULLs, identifiers needing quotes, malformed jsonb, dropped OIDs).
-- Each call runs in its own subtransaction, rolled back.  It must give a
-- result or an error with a SQLSTATE that is not an internal error (XX000),
-- and the session must still be there afterwards.  Then every leaf of a
-- real inclusion proof, consistency proof and checkpoint is removed or
-- replaced by a value of the wrong type, length or range: the verifiers
-- answer false or 22023/22P02/0A000, and only the fields no hash or
-- signature covers may change with the proof still holding.
--
-- The trail used: a tracked table "Weird Table" in the schema we'ird (both
-- need quoting), with inserted, updated and deleted rows, sealed.  Runs as
-- superuser with the guard on, as every pgTAP file.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

CREATE SCHEMA "we'ird";
CREATE TABLE "we'ird"."Weird Table" ("Id" int PRIMARY KEY, "Da ta" jsonb, t text);
SELECT audit.track('"we''ird"."Weird Table"') \g /dev/null
INSERT INTO "we'ird"."Weird Table" VALUES (1, '{"a": 1}', 'one'), (2, '[1, 2]', 'two');
UPDATE "we'ird"."Weird Table" SET t = 'uno' WHERE "Id" = 1;
DELETE FROM "we'ird"."Weird Table" WHERE "Id" = 2;
SELECT audit.seal() \g /dev/null

BEGIN;
SELECT plan(42);

-- Values per argument type: base is the valid one the other arguments
-- get; fn/argno, when set, make a base for one argument of one function.
CREATE TEMP TABLE bad_value (typ regtype, expr text, base boolean DEFAULT false,
	fn regprocedure, argno int);
INSERT INTO bad_value (typ, expr, base) VALUES
	('bigint', '1', true), ('bigint', '0', false), ('bigint', '-1', false),
	('bigint', '9223372036854775807', false), ('bigint', '(-9223372036854775807 - 1)', false),
	('integer', '10', true), ('integer', '0', false), ('integer', '-1', false),
	('integer', '2147483647', false),
	('boolean', 'true', true), ('boolean', 'false', false),
	('text', '''x''', true), ('text', '''''', false), ('text', 'repeat(''x'', 1000000)', false),
	('text', $q$E'qu''o"te\\ \u00e9'$q$, false), ('text', '''Weird Table''', false),
	('name', '''we''''ird''', true), ('name', '''''', false), ('name', '''no_such_schema''', false),
	('name', '''audit''', false), ('name', '''pg_catalog''', false),
	('jsonb', '''{"Id": 1}''', true), ('jsonb', '''null''', false), ('jsonb', '''[]''', false),
	('jsonb', '''{}''', false), ('jsonb', '''1''', false), ('jsonb', '''"s"''', false),
	('jsonb', '''{"Id": "1"}''', false), ('jsonb', '''{"Id": null}''', false),
	('jsonb', '''{"Id": 1, "x": 2}''', false), ('jsonb', '''{"a": {"b": [1, {"c": null}]}}''', false),
	('jsonb', 'repeat(''['', 5000)::text || repeat('']'', 5000)', false),
	('jsonb', 'audit.digest()', false),
	('jsonb', '(SELECT audit.inclusion_proof(min(event_id)) FROM audit.event WHERE kind = ''row'')', false),
	('jsonb', 'audit.consistency_proof(1)', false),
	('text[]', '''{t}''', true), ('text[]', '''{}''', false), ('text[]', '''{NULL}''', false),
	('text[]', '''{"Da ta"}''', false), ('text[]', '''{{a,b},{c,d}}''', false),
	('text[]', '''[5:6]={a,b}''', false),
	('text[]', '(SELECT array_agg(i::text) FROM generate_series(1, 10000) i)', false),
	('bytea', 'decode(repeat(''00'', 32), ''hex'')', true), ('bytea', '''''', false),
	('bytea', '''\x00''', false),
	('bytea', 'decode(repeat(''ab'', 16), ''hex'')', false),
	('bytea', 'decode(repeat(''ab'', 1000000), ''hex'')', false),
	('bytea[]', 'ARRAY[sha256(''a''), sha256(''b''), sha256(''c'')]', true), ('bytea[]', '''{}''', false),
	('bytea[]', 'ARRAY[''\x01''::bytea, ''\x02'', ''\x03'']', false),
	('bytea[]', '''{NULL}''', false), ('bytea[]', 'ARRAY[''\x01''::bytea, NULL]', false),
	('bytea[]', '''{{"\\x01","\\x02"},{"\\x03","\\x04"}}''', false),
	('bytea[]', '''[0:1]={"\\x01","\\x02"}''', false),
	('bytea[]', '(SELECT array_agg(int8send(i)) FROM generate_series(1, 100000) i)', false),
	('regclass', '''"we''''ird"."Weird Table"''', true), ('regclass', '''pg_class''', false),
	('regclass', '''audit.event''', false), ('regclass', '0::oid', false),
	('regclass', '4294967295::oid', false), ('regclass', '''audit.events''', false),
	('regclass', '''audit.event_seq''', false), ('regclass', '''pg_class_oid_index''', false),
	('timestamp with time zone', 'now()', true), ('timestamp with time zone', '''infinity''', false),
	('timestamp with time zone', '''-infinity''', false),
	('timestamp with time zone', '''4713-01-01 BC''', false),
	('timestamp with time zone', '''294276-12-31''', false),
	('xid8', '(SELECT max(txid) FROM audit.txn)', true), ('xid8', '''0''', false),
	('xid8', '''18446744073709551615''', false),
	('inet', '''127.0.0.1''', true), ('inet', '''::1''', false), ('inet', '''0.0.0.0/0''', false),
	('"char"', '''n''', true), ('"char"', '''k''', false), ('"char"', '''o''', false),
	('"char"', '''x''', false), ('"char"', '''''', false),
	('bigint[]', '(SELECT array_agg(event_id) FROM audit.event WHERE kind = ''row'')', true),
	('bigint[]', '''{}''', false), ('bigint[]', '''{NULL}''', false), ('bigint[]', '''{-1}''', false),
	('bigint[]', '''{{1,2},{3,4}}''', false), ('bigint[]', '''[0:1]={1,2}''', false),
	('regnamespace', '''"we''''ird"''', true), ('regnamespace', '0::oid', false),
	('regtype', '''integer''', true), ('regtype', '0::oid', false), ('regtype', '''int4[]''', false),
	('regtype', '''audit.event''', false),
	('audit.event', '(SELECT e FROM audit.event e WHERE kind = ''row'' ORDER BY event_id LIMIT 1)', true),
	('audit.event', 'jsonb_populate_record(NULL::audit.event, ''{}'')', false),
	('audit.event', 'jsonb_populate_record(NULL::audit.event, ''{"event_id": 1, "format_version": 99}'')', false),
	('audit.event', '(SELECT jsonb_populate_record(e, ''{"row_salt": "\\\\x00", "new_row": [1]}'') FROM audit.event e WHERE kind = ''row'' LIMIT 1)', false),
	('audit.tracked_schema', 'jsonb_populate_record(NULL::audit.tracked_schema, ''{"schema_name": "we''''ird"}'')', true),
	('audit.tracked_schema', 'jsonb_populate_record(NULL::audit.tracked_schema, ''{}'')', false);
-- Valid values for some functions: an alert rule of kind rows_above with
-- its parameter; no column both excluded and masked; real proofs.
INSERT INTO bad_value (typ, expr, base, fn, argno) VALUES
	('text[]', '''{}''', true, 'audit.track(regclass,text[],text[])', 3),
	('text[]', '''{}''', true, 'audit.track_schema(name,text[],text[],boolean)', 3),
	('text[]', '''{}''', true, 'audit._track(regclass,text[],text[],regnamespace)', 3),
	('text[]', '''{}''', true, 'audit._check_trackable(regclass,text[],text[])', 3),
	('bigint', '(SELECT min(event_id) FROM audit.event WHERE kind = ''row'')', true,
	 'audit.redact(bigint,text[],text)', 1),
	('jsonb', 'audit.digest()', true, 'audit.verify(jsonb)', 1),
	('jsonb', '(SELECT audit.inclusion_proof(min(event_id)) FROM audit.event WHERE kind = ''row'')',
	 true, 'audit.verify_inclusion_proof(jsonb)', 1),
	('jsonb', 'audit.consistency_proof(1)', true, 'audit.verify_consistency_proof(jsonb)', 1),
	('jsonb', '''{"rows": 5}''', true, 'audit.alert_rule_set(text,boolean,jsonb,text)', 3),
	('text', '''rows_above''', true, 'audit.alert_rule_set(text,boolean,jsonb,text)', 4);

CREATE TEMP TABLE ext_function AS
SELECT p.oid::regprocedure AS fn,
	   quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS name,
	   ARRAY(SELECT t::regtype FROM unnest(p.proargtypes) WITH ORDINALITY u(t, o) ORDER BY o) AS types,
	   p.pronargs::int AS nargs
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
   AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'audit_ext';

CREATE TEMP TABLE sweep (fn regprocedure, argno int, expr text, sqlstate text, message text);

-- The argument list of a call of f with odd in argument i (0: none).
CREATE FUNCTION pg_temp.call_args(f ext_function, i int, odd text) RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(format('(%s)::%s',
			CASE WHEN j = i THEN odd ELSE
				(SELECT b.expr FROM bad_value b
				  WHERE b.typ = f.types[j] AND b.base
				    AND (b.fn IS NULL OR (b.fn = f.fn AND b.argno = j))
				  ORDER BY b.fn IS NULL LIMIT 1) END,
			f.types[j]), ', ' ORDER BY j)
	  FROM generate_series(1, f.nargs) j
$$;

-- Run one call in a subtransaction, rolled back; record its SQLSTATE
-- (00000: it returned).
CREATE FUNCTION pg_temp.try_call(f ext_function, i int, odd text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	BEGIN
		EXECUTE format('SELECT count(*) FROM %s(%s)', f.name,
					   coalesce(pg_temp.call_args(f, i, odd), ''));
		RAISE EXCEPTION 'returned' USING ERRCODE = 'ZZ001';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	END;
	INSERT INTO sweep VALUES (f.fn, i, coalesce(odd, 'baseline'),
		CASE st WHEN 'ZZ001' THEN '00000' ELSE st END, left(msg, 200));
END
$$;

CREATE FUNCTION pg_temp.sweep_all() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	f ext_function;
	v record;
BEGIN
	FOR f IN SELECT * FROM ext_function ORDER BY fn::text LOOP
		PERFORM pg_temp.try_call(f, 0, NULL);
		FOR i IN 1 .. f.nargs LOOP
			FOR v IN SELECT 'NULL' AS expr
					 UNION ALL
					 SELECT b.expr FROM bad_value b WHERE b.typ = f.types[i] AND NOT b.base
			LOOP
				PERFORM pg_temp.try_call(f, i, v.expr);
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;

SELECT is(
	(SELECT array_agg(DISTINCT t::text ORDER BY t::text)
	   FROM ext_function, unnest(types) t
	  WHERE NOT EXISTS (SELECT FROM bad_value b WHERE b.typ = t AND b.base AND b.fn IS NULL)),
	NULL,
	'every argument type of every extension function has a valid value to call it with');

SELECT cmp_ok((SELECT count(*) FROM ext_function), '>=', 60::bigint,
	'the functions come from the catalog (60 or more in 0.4)');

SELECT pg_backend_pid() AS pid_before \gset
SELECT lives_ok('SELECT pg_temp.sweep_all()', 'the sweep ran');

SELECT is((SELECT count(DISTINCT fn) FROM sweep), (SELECT count(*) FROM ext_function),
	'every extension function was called');
SELECT cmp_ok((SELECT count(*) FROM sweep), '>', 800::bigint, 'over 800 calls were made');

SELECT is(
	(SELECT array_agg(fn || ' arg ' || argno || ' = ' || left(expr, 60) || ': ' || message
					  ORDER BY fn::text, argno)
	   FROM sweep WHERE sqlstate = 'XX000'),
	NULL,
	'no call raised an internal error (XX000)');
SELECT is(
	(SELECT array_agg(DISTINCT sqlstate ORDER BY sqlstate)
	   FROM sweep WHERE sqlstate LIKE 'XX%' AND sqlstate <> 'XX001'),
	NULL,
	'no call raised another error of class XX but data_corrupted (a tampered event row)');
SELECT is(pg_backend_pid(), :pid_before, 'the same session answers after the sweep');

-- The baseline call of each public function works: what the odd values
-- change is one argument at a time.
SELECT is(
	(SELECT array_agg(fn || ': ' || sqlstate || ' ' || message ORDER BY fn::text)
	   FROM sweep WHERE argno = 0 AND sqlstate <> '00000' AND fn::text NOT LIKE 'audit.\_%'
	    AND fn::text NOT LIKE 'audit.archive(%'),
	NULL,
	'the baseline call of every public function returns (archive(): no archive_directory here)');

-- A NULL where the function needs a value: 22004, with the public API.
SELECT results_eq(
	$$SELECT fn::text, argno, sqlstate FROM sweep
	   WHERE expr = 'NULL' AND fn::text NOT LIKE 'audit.\_%' AND sqlstate <> '00000'
	   ORDER BY 1, 2$$,
	$$VALUES
		('audit.activity(text,text,inet,timestamp with time zone,timestamp with time zone)', 4, '22004'),
		('audit.activity(text,text,inet,timestamp with time zone,timestamp with time zone)', 5, '22004'),
		('audit.alert_rule_set(text,boolean,jsonb,text)', 1, '22004'),
		('audit.alert_rule_set(text,boolean,jsonb,text)', 2, '22004'),
		('audit.alert_rule_set(text,boolean,jsonb,text)', 4, '42704'),
		('audit.archive(bigint)', 1, '22004'),
		('audit.archive(timestamp with time zone)', 1, '22004'),
		('audit.consistency_proof(bigint,bigint)', 1, '22004'),
		('audit.export(bigint,integer)', 1, '22004'),
		('audit.export(bigint,integer)', 2, '22004'),
		('audit.history(regclass,jsonb)', 1, '22004'),
		('audit.history(regclass,jsonb)', 2, '22004'),
		('audit.inclusion_proof(bigint,bigint)', 1, '22004'),
		('audit.redact(bigint,text[],text)', 1, '22004'),
		('audit.redact(bigint,text[],text)', 2, '22004'),
		('audit.redact(bigint,text[],text)', 3, '22004'),
		('audit.redact(regclass,jsonb,text[],text)', 1, '22004'),
		('audit.redact(regclass,jsonb,text[],text)', 2, '22004'),
		('audit.redact(regclass,jsonb,text[],text)', 3, '22004'),
		('audit.redact(regclass,jsonb,text[],text)', 4, '22004'),
		('audit.row_as_of(regclass,jsonb,timestamp with time zone)', 1, '22004'),
		('audit.row_as_of(regclass,jsonb,timestamp with time zone)', 2, '22004'),
		('audit.row_as_of(regclass,jsonb,timestamp with time zone)', 3, '22004'),
		('audit.table_as_of(regclass,timestamp with time zone)', 1, '22004'),
		('audit.table_as_of(regclass,timestamp with time zone)', 2, '22004'),
		('audit.track(regclass,text[],text[])', 1, '22004'),
		('audit.track(regclass,text[],text[])', 2, '22004'),
		('audit.track(regclass,text[],text[])', 3, '22004'),
		('audit.track_schema(name,text[],text[],boolean)', 1, '22004'),
		('audit.track_schema(name,text[],text[],boolean)', 2, '22004'),
		('audit.track_schema(name,text[],text[],boolean)', 3, '22004'),
		('audit.track_schema(name,text[],text[],boolean)', 4, '22004'),
		('audit.transaction(xid8)', 1, '22004'),
		('audit.untrack(regclass)', 1, '22004'),
		('audit.untrack_schema(name)', 1, '22004')$$,
	'NULL arguments of the public functions: 22004 (no kind for a new alert rule: 42704), the rest return');

-- Out-of-range numbers and dropped objects.
SELECT throws_ok('SELECT audit.consistency_proof(1, 0)', '22023', 'to_block must be at least 1',
	'consistency_proof(1, 0): 22023, not the newest block');
SELECT throws_ok('SELECT audit.consistency_proof(1, -1)', '22023', 'to_block must be at least 1',
	'consistency_proof(1, -1): 22023');
SELECT throws_ok('SELECT audit.inclusion_proof(-1)', 'P0002', NULL,
	'inclusion_proof(-1): no such event (P0002)');
SELECT throws_ok('SELECT audit._tracking_changed(0::oid)', '42P01',
	'relation with OID 0 does not exist', '_tracking_changed of a dropped OID: 42P01');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird"."Weird Table"', '{"Id": 1, "x": 2}')$$,
	'22023', NULL, 'history() with a row key of extra columns: 22023');
SELECT is((SELECT count(*) FROM audit.history('"we''ird"."Weird Table"', '{"Id": 1}')), 2::bigint,
	'history() of a table and column whose names need quoting: its insert and update');
-- A row key no row event can hold is refused, not answered with nothing.
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird"."Weird Table"', '{"id": 1}')$$,
	'22023', NULL,
	'history() with the key column''s name in another case: 22023');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird"."Weird Table"', '{"Id": "1"}')$$,
	'22023', 'row_key value of key column "Id" must be a JSON number',
	'history() with a string for an integer key: 22023');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird"."Weird Table"', '{"Id": null}')$$,
	'22004', 'row_key value of key column "Id" must not be null',
	'history() with a null key value: 22004');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird"."Weird Table"', '{"Id": 1.5}')$$,
	'22023', 'row_key value of key column "Id" is not a valid integer',
	'history() with a fraction for an integer key: 22023');
SELECT throws_ok($$SELECT * FROM audit.row_as_of('"we''ird"."Weird Table"', '{"Id": 1e10}', now())$$,
	'22023', 'row_key value of key column "Id" is not a valid integer',
	'row_as_of() with an integer key out of range: 22023');
-- Key values are read as the column's type would read them, but without
-- running anyone's code as the extension's owner: an enum's labels are
-- looked up, a domain's constraints (here a function that must never run)
-- are not checked; a bit(3) key is not read as bit(1).
CREATE FUNCTION "we'ird".spy(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the domain''s check ran' USING ERRCODE = 'ZZ002'; END $$;
CREATE DOMAIN "we'ird".checked_int AS int;
CREATE TYPE "we'ird".color AS ENUM ('red', 'green');
CREATE TABLE "we'ird".keys (id "we'ird".checked_int, c "we'ird".color, b bit(3),
	PRIMARY KEY (id, c, b));
SELECT audit.track('"we''ird".keys') \g /dev/null
INSERT INTO "we'ird".keys VALUES (1, 'red', B'101');
ALTER DOMAIN "we'ird".checked_int ADD CHECK ("we'ird".spy(VALUE)) NOT VALID;
SELECT is((SELECT count(*) FROM audit.history('"we''ird".keys', '{"id": 1, "c": "red", "b": "101"}')),
	1::bigint, 'history() of a domain, enum and bit(3) key, without the domain''s check');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird".keys', '{"id": 1, "c": "blue", "b": "101"}')$$,
	'22023', 'row_key value of key column "c" is not a valid "we''ird".color',
	'history() with a label the enum does not have: 22023');
SELECT throws_ok($$SELECT * FROM audit.history('"we''ird".keys', '{"id": 1, "c": "red", "b": "121"}')$$,
	'22023', 'row_key value of key column "b" is not a valid bit(3)',
	'history() with a bit string that is not one: 22023');
SELECT audit.untrack('"we''ird".keys') \g /dev/null

-- NULL where a name or column name is needed: 22004, not a syntax error.
SELECT throws_ok('SELECT audit._install_triggers(NULL)', '22004',
	'table to install triggers on must not be NULL', '_install_triggers(NULL): 22004');
SELECT throws_ok($$SELECT audit.track_schema('we''ird', '{NULL}')$$, '22004',
	'column names in exclude_columns and mask_columns must not be NULL',
	'track_schema() with a NULL column name to exclude: 22004');
SELECT throws_ok($$SELECT audit.track_schema('we''ird', '{}', '{t,NULL}')$$, '22004',
	'column names in exclude_columns and mask_columns must not be NULL',
	'track_schema() with a NULL column name to mask: 22004');
SELECT is((SELECT count(*) FROM audit.tracked_schema), 0::bigint,
	'the refused track_schema() calls tracked nothing');

-- Malformed proofs and checkpoints, leaf by leaf.
CREATE TEMP TABLE proof_doc (kind text, doc jsonb);
INSERT INTO proof_doc
SELECT 'inclusion', audit.inclusion_proof((SELECT min(event_id) FROM audit.event WHERE kind = 'row'))
UNION ALL SELECT 'consistency', audit.consistency_proof(1)
UNION ALL SELECT 'checkpoint', audit.digest();

CREATE TEMP TABLE json_mutation (name text, val jsonb);
INSERT INTO json_mutation VALUES
	('null', 'null'), ('string', '"x"'), ('empty string', '""'), ('number', '1'),
	('negative', '-1'), ('zero', '0'), ('fraction', '1.5'), ('huge', '9223372036854775807'),
	('beyond int64', '1e30'), ('true', 'true'), ('object', '{}'), ('array', '[]'),
	('array of junk', '[1, "zz", null]'), ('odd hex', '"abc"'), ('not hex', '"zz"'),
	('\x hex', '"\\x00"'), ('short hash', '"00"'), ('long hash', to_jsonb(repeat('ab', 33))),
	('big text', to_jsonb(repeat('a', 100000))), ('removed', NULL);

CREATE TEMP TABLE json_sweep (kind text, path text[], mutation text, sqlstate text, result boolean);

-- Every path to a value in doc, objects and arrays walked into.
CREATE FUNCTION pg_temp.json_paths(doc jsonb) RETURNS SETOF text[]
LANGUAGE sql AS $$
	WITH RECURSIVE walk(path, val) AS (
		SELECT ARRAY[k], v FROM jsonb_each(doc) AS e(k, v)
		UNION ALL
		SELECT w.path || c.k, c.v
		  FROM walk w,
			   LATERAL (SELECT e.key, e.value
						  FROM jsonb_each(CASE jsonb_typeof(w.val) WHEN 'object' THEN w.val ELSE '{}' END) e
						UNION ALL
						SELECT (a.i - 1)::text, a.v
						  FROM jsonb_array_elements(CASE jsonb_typeof(w.val) WHEN 'array' THEN w.val ELSE '[]' END)
							   WITH ORDINALITY a(v, i)) AS c(k, v))
	SELECT path FROM walk
$$;

CREATE FUNCTION pg_temp.verify_doc(kind text, doc jsonb) RETURNS boolean
LANGUAGE sql AS $$
	SELECT CASE kind
		WHEN 'inclusion' THEN audit.verify_inclusion_proof(doc)
		WHEN 'consistency' THEN audit.verify_consistency_proof(doc)
		ELSE (SELECT ok FROM audit.verify(doc)) END
$$;

CREATE FUNCTION pg_temp.json_sweep_all() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	d record;
	p text[];
	m record;
	bad jsonb;
	res boolean;
	st text;
BEGIN
	FOR d IN SELECT * FROM proof_doc LOOP
		FOR p IN SELECT pg_temp.json_paths(d.doc) LOOP
			FOR m IN SELECT * FROM json_mutation LOOP
				bad := CASE WHEN m.val IS NULL THEN d.doc #- p ELSE jsonb_set(d.doc, p, m.val) END;
				CONTINUE WHEN bad = d.doc;
				res := NULL;
				st := '00000';
				BEGIN
					res := pg_temp.verify_doc(d.kind, bad);
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
				END;
				INSERT INTO json_sweep VALUES (d.kind, p, m.name, st, res);
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;

SELECT is((SELECT array_agg(pg_temp.verify_doc(kind, doc) ORDER BY kind) FROM proof_doc),
	ARRAY[true, true, true], 'the unaltered proofs and checkpoint verify (the control)');
SELECT lives_ok('SELECT pg_temp.json_sweep_all()', 'the proof sweep ran');
SELECT cmp_ok((SELECT count(*) FROM json_sweep), '>', 1500::bigint,
	'over 1500 altered proofs and checkpoints were checked');
SELECT is(
	(SELECT array_agg(DISTINCT sqlstate ORDER BY sqlstate) FROM json_sweep
	  WHERE sqlstate NOT IN ('00000', '22023', '22P02', '0A000')),
	NULL,
	'an altered proof or checkpoint gives false, or an error 22023, 22P02 (an inet) or 0A000 (format)');
-- Fields that no hash or signature covers may change; nothing else.  A
-- checkpoint's tree_size must be a number, but is not compared with its
-- block_id (audit_verify does compare them).
-- The block_id, tree_size, format and chain_id beside the hashed values
-- may be left out (or null), as in proofs of earlier versions.
SELECT is(
	(SELECT array_agg(DISTINCT kind || ' ' || array_to_string(path, '.'))
	   FROM json_sweep
	  WHERE result
		AND NOT (mutation IN ('null', 'removed')
				 AND path[array_length(path, 1)] IN ('block_id', 'tree_size', 'format', 'chain_id',
													 'signature', 'key_id', 'erasure'))),
	ARRAY['checkpoint block_hash', 'checkpoint database',
		  'checkpoint sealed_at', 'checkpoint system_identifier',
		  'checkpoint tree_size',
		  'inclusion checkpoint.block_hash', 'inclusion checkpoint.database',
		  'inclusion checkpoint.format', 'inclusion checkpoint.key_id',
		  'inclusion checkpoint.sealed_at', 'inclusion checkpoint.system_identifier',
		  'inclusion event.archive_id'],
	'an altered proof holds only where the field is informational (covered by no hash)');
SELECT is(pg_backend_pid(), :pid_before, 'the same session answers after the proof sweep');

-- A checkpoint's signature and key_id: both null, or a well-formed pair
-- (not checked against a key by verify(digests)); anything else is refused.
CREATE TEMP TABLE cp AS SELECT audit.digest() AS doc;
SELECT is((SELECT ok FROM audit.verify((SELECT doc || jsonb_build_object(
		'signature', repeat('ab', 64), 'key_id', '0123456789abcdef') FROM cp))), true,
	'a checkpoint with a well-formed signature and key_id is read');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || '{"signature": "abab"}' FROM cp))$$,
	'22023', 'malformed checkpoint: "signature" must be 64 hexadecimal bytes',
	'a signature of the wrong length: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || jsonb_build_object('signature', repeat('zz', 64),
		'key_id', '0123456789abcdef') FROM cp))$$,
	'22023', 'malformed checkpoint: "signature" must be 64 hexadecimal bytes',
	'a signature that is not hex: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || '{"signature": 1}' FROM cp))$$,
	'22023', 'malformed checkpoint: "signature" is missing or not a string',
	'a signature that is a number: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || jsonb_build_object('signature', repeat('ab', 64),
		'key_id', 'k1') FROM cp))$$,
	'22023', 'malformed checkpoint: "key_id" must be 16 hexadecimal digits',
	'a key_id that is not 16 hex digits: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || '{"key_id": "0123456789abcdef"}' FROM cp))$$,
	'22023', 'malformed checkpoint: "key_id" without "signature"',
	'a key_id without a signature: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT doc || jsonb_build_object('signature', repeat('ab', 64)) FROM cp))$$,
	'22023', 'malformed checkpoint: "signature" without "key_id"',
	'a signature without a key_id: 22023');
SELECT throws_ok($$SELECT audit.verify((SELECT jsonb_build_array(doc, doc || '{"key_id": 7}') FROM cp))$$,
	'22023', 'malformed checkpoint: "key_id" is missing or not a string',
	'a malformed key_id in the second of two checkpoints: 22023');

SELECT * FROM finish();
ROLLBACK;
