-- Leaf hashes: recomputed independently in SQL from docs/FORMAT.md, and
-- verify() catching an altered event.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE TABLE regress_v (id int, s text);
INSERT INTO regress_v VALUES (1, 'plain'), (2, 'ünïcødé ✓'), (3, NULL);
UPDATE regress_v SET s = s || '!' WHERE id = 1;
DELETE FROM regress_v WHERE id = 3;

-- Events with format 2's columns filled: an application user and a
-- request context (jsonb) set for the transaction.
BEGIN;
SELECT audit.set_context('regress_app', '{"trace": "t-1", "n": [1, 2.50], "ü": null}');
UPDATE regress_v SET s = s || '?' WHERE id = 2;
COMMIT;

-- Row events (format 3's columns): a tracked table with a primary key,
-- values of several jsonb types, column names that need escaping.
CREATE TABLE regress_r (id int PRIMARY KEY, "Nöte ""q""" text, amount numeric, tags jsonb);
SELECT audit.track('regress_r');
INSERT INTO regress_r VALUES (1, 'zoë', 12.50, '{"b": [1, 2], "a": null}'), (2, NULL, 0, '[]');
UPDATE regress_r SET amount = amount + 1, "Nöte ""q""" = E'tab\t "quoted"' WHERE id = 1;
DELETE FROM regress_r WHERE id = 2;
SELECT command, row_key, old_row, new_row, changed_columns, octet_length(row_salt) AS salt_bytes
  FROM audit.event WHERE kind = 'row' AND object_name = 'public.regress_r' ORDER BY event_id;

-- The encoding of docs/FORMAT.md, every format version, written in SQL
-- with no help from the extension's C code.  leaf() takes a row of
-- audit.event in its newest layout (the view audit.events lacks row_salt,
-- which format 3 needs); it is NULL for an event the extension cannot have
-- written: a format version not known, a value in a column its version
-- does not hash, a row image that is not an object or has no 16-byte
-- row_salt.
CREATE FUNCTION pg_temp.f_bytes(tag bytea, b bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN b IS NULL THEN '\x00'::bytea
	       ELSE tag || int4send(octet_length(b)) || b END $$;
CREATE FUNCTION pg_temp.f_int(v bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x01', int8send(v)) $$;
CREATE FUNCTION pg_temp.f_text(v text) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT pg_temp.f_bytes('\x02', convert_to(v, current_setting('server_encoding'))) $$;
CREATE FUNCTION pg_temp.f_ts(v timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x03',
	       int8send(((extract(epoch FROM v) - 946684800) * 1000000)::bigint)) $$;
CREATE FUNCTION pg_temp.f_inet(v inet) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.f_bytes('\x04', convert_to(CASE WHEN v IS NOT NULL THEN format('%s', v) END,
	                                          'SQL_ASCII')) $$;
CREATE FUNCTION pg_temp.f_json(v jsonb) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT pg_temp.f_bytes('\x05', convert_to(v::text, current_setting('server_encoding'))) $$;
-- A row image (tag 0x06): per key, in jsonb's key order (shorter first,
-- then bytewise), the key and SHA-256(0x03 || salt || value text), salt
-- being the first 16 bytes of SHA-256(0x04 || row_salt || side || key).
-- After audit.redact() (row_salt NULL) the salts of the members left are
-- in erasure.salts.<side>, and the members erased in erasure.erased.<side>
-- as key: commitment; hex strings.  A member without a salt, a key both
-- present and erased, a malformed erasure cannot be encoded.
CREATE FUNCTION pg_temp.f_hex(v jsonb, len int) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(v) = 'string' AND v #>> '{}' ~ ('^[0-9a-fA-F]{' || 2 * len || '}$')
	       THEN decode(v #>> '{}', 'hex') END $$;
CREATE FUNCTION pg_temp.f_image(img jsonb, row_salt bytea, side text, erasure jsonb DEFAULT NULL)
RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN img IS NULL THEN '\x00'::bytea
	       WHEN jsonb_typeof(img) = 'object' AND (octet_length(row_salt) = 16 OR row_salt IS NULL)
	        AND (erasure IS NULL OR jsonb_typeof(erasure) = 'object'
	             AND coalesce(jsonb_typeof(erasure -> 'erased'), 'object') = 'object'
	             AND coalesce(jsonb_typeof(erasure -> 'salts'), 'object') = 'object'
	             AND coalesce(jsonb_typeof(erasure #> ARRAY['erased', side]), 'object') = 'object'
	             AND coalesce(jsonb_typeof(erasure #> ARRAY['salts', side]), 'object') = 'object') THEN
	       (SELECT CASE WHEN count(*) = count(c) AND count(DISTINCT m.key) = count(*) THEN
	               pg_temp.f_bytes('\x06', int4send(count(*)::int) || coalesce(string_agg(
	                   int4send(octet_length(k)) || k || c,
	                   ''::bytea ORDER BY octet_length(m.key), m.key COLLATE "C"), ''::bytea)) END
	          FROM (SELECT p.key, sha256('\x03'::bytea
	                       || coalesce(substr(sha256('\x04'::bytea || row_salt || convert_to(side, 'SQL_ASCII')
	                                                 || convert_to(p.key, current_setting('server_encoding'))), 1, 16),
	                                   pg_temp.f_hex(erasure #> ARRAY['salts', side, p.key], 16))
	                       || convert_to(p.value::text, current_setting('server_encoding'))) AS c
	                  FROM jsonb_each(img) p
	                UNION ALL
	                SELECT x.key, pg_temp.f_hex(x.value, 32)
	                  FROM jsonb_each(coalesce(erasure #> ARRAY['erased', side], '{}')) x) m,
	               convert_to(m.key, current_setting('server_encoding')) k)
	       END $$;
CREATE FUNCTION pg_temp.leaf(e anyelement) RETURNS bytea LANGUAGE sql STABLE AS $$
	SELECT sha256('\x00'::bytea
		|| CASE WHEN e.format_version = 3 THEN '\x031d'::bytea
		        WHEN num_nonnulls(e.row_key, e.old_row, e.new_row, e.changed_columns) > 0 THEN NULL
		        WHEN e.format_version = 2 THEN '\x0219'::bytea
		        WHEN e.format_version = 1
		         AND num_nonnulls(e.class, e.statement_id, e.nesting_level, e.app_user,
		                          e.context, e.parameters, e.objects, e.sqlstate,
		                          e.message, e.detail) = 0 THEN '\x010f'::bytea END
		|| pg_temp.f_int(e.event_id)
		|| pg_temp.f_int(e.txid::text::bigint)
		|| pg_temp.f_ts(e.occurred_at)
		|| pg_temp.f_text(e.kind)
		|| pg_temp.f_text(e.command)
		|| pg_temp.f_text(e.object_name)
		|| pg_temp.f_text(e.session_role)
		|| pg_temp.f_text(e.effective_role)
		|| pg_temp.f_inet(e.client_addr)
		|| pg_temp.f_int(e.client_port)
		|| pg_temp.f_text(e.application_name)
		|| pg_temp.f_int(e.backend_pid)
		|| pg_temp.f_text(e.database)
		|| pg_temp.f_text(e.statement)
		|| pg_temp.f_int(e.rows_affected)
		|| CASE WHEN e.format_version = 1 THEN ''::bytea ELSE
		      pg_temp.f_text(e.class)
		   || pg_temp.f_int(e.statement_id)
		   || pg_temp.f_int(e.nesting_level)
		   || pg_temp.f_text(e.app_user)
		   || pg_temp.f_json(e.context)
		   || pg_temp.f_json(e.parameters)
		   || pg_temp.f_json(e.objects)
		   || pg_temp.f_text(e.sqlstate)
		   || pg_temp.f_text(e.message)
		   || pg_temp.f_json(e.detail) END
		|| CASE WHEN e.format_version < 3 THEN ''::bytea ELSE
		      pg_temp.f_image(e.row_key, e.row_salt, 'k', e.erasure)
		   || pg_temp.f_image(e.old_row, e.row_salt, 'o', e.erasure)
		   || pg_temp.f_image(e.new_row, e.row_salt, 'n', e.erasure)
		   || pg_temp.f_json(e.changed_columns) END) $$;

-- Whether a stored event holds, as verification decides it: an archived
-- event (archive_id set, docs/FORMAT.md "Archived events") is not encoded
-- again; it must lie in the blocks of its audit.archive row, with every
-- hashed column but event_id and txid NULL.
CREATE FUNCTION pg_temp.holds(e anyelement) RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN e.archive_id IS NULL THEN e.leaf_hash IS NOT DISTINCT FROM pg_temp.leaf(e)
	       ELSE EXISTS (SELECT FROM audit.archive a JOIN audit.transactions t
	                      ON t.block_id BETWEEN a.first_block AND a.last_block
	                     WHERE a.archive_id = e.archive_id AND t.txid = e.txid)
	            AND num_nonnulls(e.occurred_at, e.kind, e.command, e.object_name,
	                    e.session_role, e.effective_role, e.client_addr, e.client_port,
	                    e.application_name, e.backend_pid, e.database, e.statement,
	                    e.rows_affected, e.class, e.statement_id, e.nesting_level,
	                    e.app_user, e.context, e.parameters, e.objects, e.sqlstate,
	                    e.message, e.detail, e.row_key, e.old_row, e.new_row,
	                    e.changed_columns) = 0 END $$;

-- The test vectors of docs/FORMAT.md: one event in format 1; in format 2
-- with its columns (a jsonb context whose keys jsonb reorders); in format 3
-- with row images (keys reordered too) salted from the bytes 00 to 0f.
WITH v1 AS (
	SELECT jsonb_populate_record(NULL::audit.event, '{
	         "event_id": 42, "format_version": 1, "txid": "1000",
	         "occurred_at": "2026-01-02 03:04:05.678901+00", "kind": "statement",
	         "command": "UPDATE", "object_name": "public.accounts",
	         "session_role": "alice", "effective_role": "bob",
	         "client_addr": "127.0.0.1", "client_port": 54321,
	         "application_name": "psql", "backend_pid": 4242, "database": "shop",
	         "statement": "UPDATE accounts SET balance = 0 WHERE id = 1",
	         "rows_affected": 1}') AS e),
v2 AS (
	SELECT jsonb_populate_record(e, '{
	         "format_version": 2, "class": "write", "statement_id": 42,
	         "nesting_level": 0, "app_user": "carol",
	         "context": {"tenant": 7, "request": "r-17", "user": "zoë"}}') AS e FROM v1),
v3 AS (
	SELECT jsonb_populate_record(e, '{
	         "format_version": 3, "row_key": {"id": 1}, "old_row": {"balance": 100},
	         "new_row": {"id": 1, "balance": 0, "note": "zoë"},
	         "changed_columns": ["balance"],
	         "row_salt": "\\x000102030405060708090a0b0c0d0e0f"}') AS e FROM v2)
SELECT (e).format_version, encode(pg_temp.leaf(e), 'hex') AS test_vector_leaf
  FROM (TABLE v1 UNION ALL TABLE v2 UNION ALL TABLE v3) v ORDER BY 1;

-- Every stored hash matches the specification, whatever the session's
-- TimeZone or DateStyle.
SET TimeZone = 'Pacific/Auckland';
SET DateStyle = 'SQL, DMY';
SELECT count(*) > 5 AS enough_events,
       count(*) FILTER (WHERE NOT pg_temp.holds(e)) AS mismatches,
       count(*) FILTER (WHERE format_version = 3) = count(*) AS all_format_3,
       count(*) FILTER (WHERE context IS NOT NULL AND app_user = 'regress_app') > 0 AS with_context,
       count(*) FILTER (WHERE kind = 'row' AND object_name = 'public.regress_r') AS row_events,
       count(*) FILTER (WHERE octet_length(leaf_hash) <> 32) AS bad_lengths
  FROM audit.event e;
RESET TimeZone;
RESET DateStyle;

SELECT ok, problems, first_problem, events_checked = (SELECT count(*) FROM audit.event) AS all_checked
  FROM audit.verify();

-- An altered event is reported, by id, with the expected and found hash;
-- the earliest altered event is the first problem.
SELECT min(event_id) AS first_id, max(event_id) AS last_id
  FROM audit.events WHERE object_name = 'public.regress_v' \gset
BEGIN;
UPDATE audit.event SET statement = 'SELECT 1' WHERE event_id = :last_id;
UPDATE audit.event SET rows_affected = 99 WHERE event_id = :first_id;
SELECT ok, problems,
       first_problem ~ ('^event ' || :first_id || ': event altered: stored leaf hash \\x[0-9a-f]{64}, computed \\x[0-9a-f]{64}$') AS names_first
  FROM audit.verify();
ROLLBACK;

-- A forged hash (well-formed, or not even 32 bytes); a changed format
-- version.
BEGIN;
UPDATE audit.event SET leaf_hash = sha256('forged') WHERE event_id = :first_id;
SELECT ok, problems,
       first_problem ~ ('^event ' || :first_id || ': event altered: stored leaf hash \\x' || encode(sha256('forged'), 'hex') || ', computed \\x[0-9a-f]{64}$') AS names_first
  FROM audit.verify();
-- The forged leaf no longer fits its transaction's digest either.
SELECT problem, event_id = :first_id AS the_event,
       txid = (SELECT txid FROM audit.event WHERE event_id = :first_id) AS its_txn
  FROM audit.verify_report();
ROLLBACK;
BEGIN;
UPDATE audit.event SET leaf_hash = '\x00' WHERE event_id = :first_id;
SELECT ok, problems, replace(first_problem, :'first_id', 'N') AS first_problem FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET format_version = 7 WHERE event_id = :first_id;
SELECT ok, problems, replace(first_problem, :'first_id', 'N') AS first_problem FROM audit.verify();
ROLLBACK;
-- The columns format 2 added are covered: an edited context, an event
-- passed off as format 1 (which would not hash them).
SELECT max(event_id) AS ctx_id FROM audit.events WHERE app_user = 'regress_app' \gset
BEGIN;
UPDATE audit.event SET context = context || '{"trace": "t-2"}' WHERE event_id = :ctx_id;
SELECT ok, problems, first_problem ~ ('^event ' || :ctx_id || ': event altered: stored leaf hash') AS names_it
  FROM audit.verify();
ROLLBACK;
BEGIN;
UPDATE audit.event SET format_version = 1, app_user = NULL, context = NULL,
       class = NULL, statement_id = NULL, nesting_level = NULL
 WHERE event_id = :ctx_id;
SELECT ok, problems, first_problem ~ ('^event ' || :ctx_id || ': event altered: stored leaf hash') AS names_it
  FROM audit.verify();
ROLLBACK;
-- The columns format 3 added are covered: a value in a row image, the
-- salt of its commitments, the changed columns.  A row image that is not
-- an object, or has no 16-byte salt, cannot be encoded: reported, not an
-- error.  A row event passed off as format 2 holds values it does not hash.
SELECT max(event_id) AS row_id FROM audit.event
 WHERE kind = 'row' AND command = 'UPDATE' AND object_name = 'public.regress_r' \gset
CREATE FUNCTION pg_temp.row_tamper(change text) RETURNS TABLE (problem text, detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('UPDATE audit.event SET %s WHERE event_id = %s', change, current_setting('regress.row_id'));
	RETURN QUERY SELECT r.problem,
	       regexp_replace(r.detail, '\\x[0-9a-f]{64}', 'H', 'g')
	  FROM audit.verify_report() r
	 WHERE r.event_id = current_setting('regress.row_id')::bigint;
	RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'rolled back';
EXCEPTION WHEN assert_failure THEN
	RETURN;
END $$;
SET regress.row_id = :row_id;
SELECT c.change, t.problem, t.detail
  FROM unnest(ARRAY[
         $$new_row = jsonb_set(new_row, '{amount}', '99')$$,
         $$new_row = new_row || '{"extra": 1}'$$,
         $$old_row = NULL$$,
         $$row_key = '{"id": 2}'$$,
         $$row_salt = substr(sha256('x'), 1, 16)$$,
         $$changed_columns = '["amount"]'$$,
         $$new_row = '[1]'$$,
         $$row_salt = NULL$$,
         $$row_salt = row_salt || '\x00'$$,
         $$format_version = 2$$]) WITH ORDINALITY c(change, n),
       LATERAL pg_temp.row_tamper(c.change) t
 ORDER BY c.n;
SELECT ok FROM audit.verify();

-- A table altered behind the extension's back is refused, not written.
BEGIN;
ALTER TABLE audit.event ADD COLUMN extra int;
ROLLBACK;
BEGIN;
ALTER TABLE audit.event RENAME COLUMN statement TO query;
ROLLBACK;
SELECT ok FROM audit.verify();

DROP TABLE regress_v, regress_r;

-- Every format version in one trail.  The extension created at 0.1 writes
-- format 1 into 0.1's table layout (the library is 0.3's); after the
-- update to 0.2, format 2 into 0.2's layout; after the update to 0.3,
-- format 3, with row events.  Proofs read rows of every layout.
SET client_min_messages = warning;
DROP EXTENSION audit_ext;
CREATE EXTENSION audit_ext VERSION '0.1';
RESET client_min_messages;
CREATE TABLE regress_u (id int, note text);
INSERT INTO regress_u VALUES (1, 'one'), (2, NULL);
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT count(*) AS event_columns FROM pg_attribute
 WHERE attrelid = 'audit.event'::regclass AND attnum > 0 AND NOT attisdropped;
-- (Proofs of the sealed events: events that come through the event queue,
-- e.g. logins, may commit after the seal.)
SELECT bool_and(format_version = 1) AS all_format_1,
       bool_and(CASE WHEN block_id IS NOT NULL
                THEN audit.verify_inclusion_proof(audit.inclusion_proof(event_id)) END) AS proofs_hold
  FROM audit.events;
SELECT ok, problems FROM audit.verify();
ALTER EXTENSION audit_ext UPDATE TO '0.2';
BEGIN;
SELECT audit.set_context('regress_app', '{"trace": "t-3"}');
UPDATE regress_u SET note = 'uno' WHERE id = 1;
COMMIT;
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT count(*) AS event_columns FROM pg_attribute
 WHERE attrelid = 'audit.event'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT bool_and(CASE WHEN block_id IS NOT NULL
                THEN audit.verify_inclusion_proof(audit.inclusion_proof(event_id)) END) AS proofs_hold
  FROM audit.events WHERE format_version = 2;
ALTER EXTENSION audit_ext UPDATE;
ALTER TABLE regress_u ADD PRIMARY KEY (id);
SELECT audit.track('regress_u');
UPDATE regress_u SET note = 'one again' WHERE id = 1;
DELETE FROM regress_u WHERE id = 2;
SELECT audit.seal() IS NOT NULL AS sealed;
SELECT e.format_version, count(*) > 1 AS several,
       count(*) FILTER (WHERE NOT pg_temp.holds(e)) AS mismatches,
       count(*) FILTER (WHERE num_nonnulls(e.class, e.statement_id, e.nesting_level, e.app_user,
                                           e.context, e.parameters, e.objects, e.sqlstate,
                                           e.message, e.detail) > 0) > 0 AS with_format_2_columns,
       count(*) FILTER (WHERE e.kind = 'row') AS row_events,
       bool_and(CASE WHEN v.block_id IS NOT NULL
                THEN audit.verify_inclusion_proof(audit.inclusion_proof(e.event_id)) END) AS proofs_hold
  FROM audit.event e JOIN audit.events v USING (event_id)
 GROUP BY e.format_version ORDER BY e.format_version;
SELECT ok, problems FROM audit.verify();
-- Tampering with an event of any version is caught.
SELECT min(event_id) FILTER (WHERE format_version = 1) AS v1_id,
       min(event_id) FILTER (WHERE format_version = 2) AS v2_id,
       min(event_id) FILTER (WHERE format_version = 3 AND kind = 'row') AS v3_id
  FROM audit.events WHERE object_name = 'public.regress_u' \gset
BEGIN;
UPDATE audit.event SET statement = 'SELECT 1' WHERE event_id IN (:v1_id, :v2_id);
UPDATE audit.event SET new_row = '{}' WHERE event_id = :v3_id;
SELECT problem, event_id = :v1_id AS v1, event_id = :v2_id AS v2, event_id = :v3_id AS v3
  FROM audit.verify_report();
ROLLBACK;
-- A value in a column format 1 does not hash: no hash covers it; verify()
-- reports it, and the proof of that event no longer holds.  So for the
-- columns format 3 added, in an event of format 2.
BEGIN;
UPDATE audit.event SET app_user = 'mallory' WHERE event_id = :v1_id;
UPDATE audit.event SET changed_columns = '[]' WHERE event_id = :v2_id;
SELECT problem, detail, event_id = :v1_id AS v1 FROM audit.verify_report();
ROLLBACK;
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:v1_id),
       '{event,app_user}', '"mallory"')) AS v1_with_app_user,
       audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:v2_id),
       '{event,row_key}', '"{\"id\": 1}"')) AS v2_with_row_key;
-- Proofs made before a version have no keys for its columns: fine for an
-- event of an older format, malformed for one of that format.
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v1_id) #- '{event,app_user}'
       #- '{event,context}' #- '{event,detail}' #- '{event,row_key}' #- '{event,new_row}'
       #- '{event,row_salt}') AS v1_without_later_keys,
       audit.verify_inclusion_proof(audit.inclusion_proof(:v2_id) #- '{event,row_key}'
       #- '{event,old_row}' #- '{event,new_row}' #- '{event,changed_columns}'
       #- '{event,row_salt}') AS v2_without_format_3_keys;
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v2_id) #- '{event,app_user}');
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v3_id) #- '{event,new_row}');
SELECT audit.verify_inclusion_proof(audit.inclusion_proof(:v3_id) #- '{event,row_salt}');
-- jsonb travels as its canonical text: other spacing does not hold, text
-- that is not JSON is malformed.
SELECT max(event_id) AS ctx_id FROM audit.events WHERE context IS NOT NULL \gset
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}',
       to_jsonb(replace(context::text, ': ', ':')))) AS other_spacing,
       audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}',
       to_jsonb(context::text))) AS canonical
  FROM audit.event WHERE event_id = :ctx_id;
SELECT audit.verify_inclusion_proof(jsonb_set(audit.inclusion_proof(:ctx_id), '{event,context}', '"{"'));
-- The proof of a row event carries its images as canonical text and its
-- row_salt as hex; every one of them counts.  A row image that cannot be
-- encoded makes a proof that does not hold; a salt that is not hex, a
-- malformed one.
SELECT max(event_id) AS row_id FROM audit.events
 WHERE kind = 'row' AND command = 'UPDATE' AND object_name = 'public.regress_u' \gset
SELECT audit.inclusion_proof(:row_id) AS row_proof \gset
SELECT audit.verify_inclusion_proof(:'row_proof') AS holds,
       :'row_proof'::jsonb #>> '{event,row_salt}' = encode(row_salt, 'hex') AS salt_as_hex,
       :'row_proof'::jsonb #>> '{event,new_row}' = new_row::text AS image_as_text,
       audit.verify_inclusion_proof(jsonb_set(:'row_proof', '{event,row_salt}',
       to_jsonb('\x' || encode(row_salt, 'hex')))) AS salt_with_x
  FROM audit.event WHERE event_id = :row_id;
SELECT c.edit, audit.verify_inclusion_proof(jsonb_set(:'row_proof', c.path, c.value)) AS holds
  FROM (VALUES
        ('a value', '{event,new_row}'::text[],
         to_jsonb(replace(:'row_proof'::jsonb #>> '{event,new_row}', 'one again', 'forged'))),
        ('a key', '{event,row_key}', '"{\"ID\": 1}"'),
        ('changed_columns', '{event,changed_columns}', '"[]"'),
        ('another salt', '{event,row_salt}', to_jsonb(encode(substr(sha256('x'), 1, 16), 'hex'))),
        ('no salt', '{event,row_salt}', 'null'),
        ('a short salt', '{event,row_salt}', '"00"'),
        ('not an object', '{event,new_row}', '"[1]"'),
        ('not canonical', '{event,new_row}',
         to_jsonb(replace(:'row_proof'::jsonb #>> '{event,new_row}', ': ', ':')))) c(edit, path, value);
SELECT audit.verify_inclusion_proof(jsonb_set(:'row_proof', '{event,row_salt}', '"zz"'));
DROP TABLE regress_u;
