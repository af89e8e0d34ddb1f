-- Input checks (issue 9, bad input found by fuzzing 0.5): each of these
-- took an argument that cannot mean anything without a clear error.
--
-- - audit._install_triggers(NULL) failed with a syntax error (42601) from
--   the statement it built: now 22004, as the public functions.
-- - audit.track_schema() took exclude_columns / mask_columns with a NULL
--   element (audit.track() refuses them): now 22004 too.
-- - audit.history() with a row_key value of a type row capture never
--   writes for the column (a string for an integer key, a null) found
--   nothing, silently: now 22023, saying what the value must be.  (Key
--   names in another case were already refused: they are no key columns.)
-- - audit.untrack() of a table that is not tracked stays a no-op (untrack
--   is idempotent) but says so with a NOTICE, as DROP ... IF EXISTS does.
--
-- CREATE OR REPLACE keeps each function's owner, privileges and comment.

CREATE OR REPLACE FUNCTION audit._install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'table to install triggers on must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM audit._check_trigger_names(rel);
	IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'audit_ext_row') THEN
		EXECUTE format('CREATE TRIGGER audit_ext_row AFTER INSERT OR UPDATE OR DELETE ON %s'
					   ' FOR EACH ROW EXECUTE FUNCTION audit._capture_row()', rel);
	END IF;
	PERFORM audit._install_leaf_triggers(rel);
END
$$;

CREATE OR REPLACE FUNCTION audit.track_schema(schema name, exclude_columns text[] DEFAULT '{}',
											  mask_columns text[] DEFAULT '{}',
											  include_future boolean DEFAULT true)
	RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	nsp regnamespace;
	opts audit.tracked_schema;
	rel regclass;
	n integer := 0;
BEGIN
	IF schema IS NULL OR exclude_columns IS NULL OR mask_columns IS NULL OR include_future IS NULL THEN
		RAISE EXCEPTION 'schema, exclude_columns, mask_columns and include_future must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass an empty array for no columns.';
	END IF;
	IF array_position(exclude_columns || mask_columns, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'column names in exclude_columns and mask_columns must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT oid INTO nsp FROM pg_namespace WHERE nspname = schema;
	IF nsp IS NULL THEN
		RAISE EXCEPTION 'schema "%" does not exist', schema USING ERRCODE = 'invalid_schema_name';
	END IF;
	IF schema IN ('audit', 'pg_catalog', 'information_schema', 'pg_toast') OR schema LIKE 'pg\_temp\_%'
	   OR schema LIKE 'pg\_toast\_temp\_%' THEN
		RAISE EXCEPTION 'cannot track schema "%"', schema USING ERRCODE = 'insufficient_privilege';
	END IF;
	internal := audit._internal(true);
	IF NOT EXISTS (SELECT FROM audit.tracked_schema s WHERE s.nspid = nsp
				   AND s.exclude_columns = track_schema.exclude_columns
				   AND s.mask_columns = track_schema.mask_columns
				   AND s.include_future = track_schema.include_future) THEN
		INSERT INTO audit.tracked_schema AS s (nspid, exclude_columns, mask_columns, include_future)
			VALUES (nsp, exclude_columns, mask_columns, include_future)
		ON CONFLICT (nspid) DO UPDATE
			SET exclude_columns = excluded.exclude_columns, mask_columns = excluded.mask_columns,
				include_future = excluded.include_future, tracked_at = now(), tracked_by = SESSION_USER;
		PERFORM audit._record_config('TRACK SCHEMA', quote_ident(schema),
			jsonb_build_object('exclude_columns', to_jsonb(exclude_columns),
							   'mask_columns', to_jsonb(mask_columns),
							   'include_future', include_future));
	END IF;
	SELECT * INTO opts FROM audit.tracked_schema s WHERE s.nspid = nsp;
	-- Tables (not partitions: they are tracked through their parent).
	FOR rel IN SELECT c.oid FROM pg_class c
				WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p') AND NOT c.relispartition
				  AND c.relpersistence <> 't'
				ORDER BY c.relname
	LOOP
		PERFORM audit._track_with_schema_options(rel, opts);
		n := n + 1;
	END LOOP;
	internal := audit._internal(false);
	RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION audit.untrack(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	part regclass;
	name text;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'table to untrack must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	name := (SELECT format('%I.%I', n.nspname, c.relname)
			   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel);
	IF NOT EXISTS (SELECT FROM audit.tracked_table t WHERE t.relid = rel) THEN
		RAISE NOTICE 'relation "%" is not tracked, skipping',
			COALESCE((SELECT n.nspname || '.' || c.relname FROM pg_class c
						JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel),
					 rel::oid::text);
		RETURN;
	END IF;
	internal := audit._internal(true);
	DELETE FROM audit.tracked_table t WHERE t.relid = rel;
	FOR part IN SELECT rel UNION SELECT relid FROM pg_partition_tree(rel)
	LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS audit_ext_truncate ON %s', part);
	END LOOP;
	EXECUTE format('DROP TRIGGER IF EXISTS audit_ext_row ON %s', rel);
	PERFORM audit._tracking_changed(rel);
	PERFORM audit._record_config('UNTRACK', name, NULL);
	internal := audit._internal(false);
END
$$;

-- The base type of typ: typ itself, or what a domain (over a domain ...)
-- is over.
CREATE FUNCTION audit._base_type(typ regtype) RETURNS regtype
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	base regtype := typ;
	over oid;
BEGIN
	LOOP
		SELECT t.typbasetype INTO over FROM pg_type t WHERE t.oid = base AND t.typtype = 'd';
		EXIT WHEN over IS NULL;
		base := over;
	END LOOP;
	RETURN base;
END
$$;
REVOKE ALL ON FUNCTION audit._base_type(regtype) FROM PUBLIC;
COMMENT ON FUNCTION audit._base_type(regtype) IS
	'Internal: the type a domain is over (through domains over domains), or the type itself';

-- The JSON type row capture writes for a value of type typ ('number',
-- 'string' or 'boolean'; NaN and infinities of numbers are strings), or
-- NULL where it depends on more than the type (json, arrays, composites,
-- ranges, types of extensions): src/row_value.c, as to_jsonb() does.
CREATE FUNCTION audit._json_type_of(typ regtype) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN t.oid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
					   'float8'::regtype, 'numeric'::regtype) THEN 'number'
		WHEN t.oid = 'bool'::regtype THEN 'boolean'
		WHEN t.oid IN ('bytea'::regtype, 'uuid'::regtype, 'oid'::regtype, 'macaddr'::regtype,
					   'macaddr8'::regtype) THEN 'string'
		WHEN t.typtype = 'e' THEN 'string'
		WHEN t.typtype = 'b' AND t.typcategory IN ('S', 'D', 'I', 'V') THEN 'string'
	END
	  FROM pg_type t WHERE t.oid = audit._base_type(typ)
$$;
REVOKE ALL ON FUNCTION audit._json_type_of(regtype) FROM PUBLIC;
COMMENT ON FUNCTION audit._json_type_of(regtype) IS
	'Internal: the JSON type row capture writes for a value of a type, where the type alone decides it';

-- Would the text be a value of type typ, which _json_type_of() knows?
-- Read by the input function of typ's base type (a domain's constraints,
-- which may call any function, are not run: this runs as the extension's
-- owner), an enum's label looked up (a cast from text to an enum may be
-- anyone's function).
CREATE FUNCTION audit._is_valid_input(typ regtype, value text) RETURNS boolean
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	base regtype := audit._base_type(typ);
BEGIN
	IF audit._json_type_of(base) IS NULL THEN
		RAISE EXCEPTION 'cannot check values of type %', typ USING ERRCODE = 'feature_not_supported';
	END IF;
	IF (SELECT t.typtype FROM pg_type t WHERE t.oid = base) = 'e' THEN
		RETURN EXISTS (SELECT FROM pg_enum e WHERE e.enumtypid = base AND e.enumlabel = value);
	END IF;
	BEGIN
		-- (format_type(.., -1): "bit" alone would mean bit(1), "character" char(1))
		EXECUTE format('SELECT $1::%s', format_type(base, -1)) USING value;
	EXCEPTION WHEN data_exception THEN
		RETURN false;
	END;
	RETURN true;
END
$$;
REVOKE ALL ON FUNCTION audit._is_valid_input(regtype, text) FROM PUBLIC;
COMMENT ON FUNCTION audit._is_valid_input(regtype, text) IS
	'Internal: whether a text is a value of a type (its base type''s input, an enum''s labels)';

-- Refuses a row key that is NULL, not an object, not made of exactly the
-- table's key columns (as row capture picks them), or with a value no row
-- event can hold: a null, a value of another JSON type than row capture
-- writes for the column, or one the column's type does not accept.
CREATE OR REPLACE FUNCTION audit._history_check_key(rel regclass, row_key jsonb) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	want text[];
	given text[];
	masked text[];
	col record;
	val jsonb;
	expect text;
BEGIN
	IF row_key IS NULL THEN
		RAISE EXCEPTION 'row_key must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.jsonb_typeof(row_key) <> 'object' THEN
		RAISE EXCEPTION 'row_key must be a JSON object of the key columns'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'For example ''{"id": 42}''.';
	END IF;
	want := audit._history_key_columns(rel);
	given := ARRAY(SELECT k FROM pg_catalog.jsonb_object_keys(row_key) k);
	IF NOT (want @> given AND given @> want) THEN
		RAISE EXCEPTION 'row_key does not match the key of table "%"', rel
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('The key columns are %s; row_key has %s.',
					 pg_catalog.array_to_string(want, ', '),
					 COALESCE(NULLIF(pg_catalog.array_to_string(given, ', '), ''), 'none'));
	END IF;
	-- A masked key column's value is its mask: a string.
	masked := COALESCE((SELECT t.mask_columns FROM audit.tracked_table t WHERE t.relid = rel), '{}');
	FOR col IN SELECT a.attname::text AS name, a.atttypid::regtype AS typ,
					  pg_catalog.format_type(a.atttypid, a.atttypmod) AS typname
				 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid = rel AND a.attname = ANY (want) AND a.attnum > 0
				  AND NOT a.attisdropped
				ORDER BY a.attnum
	LOOP
		val := row_key -> col.name;
		IF pg_catalog.jsonb_typeof(val) = 'null' THEN
			RAISE EXCEPTION 'row_key value of key column "%" must not be null', col.name
				USING ERRCODE = 'null_value_not_allowed',
					  DETAIL = 'A key column has a value in every row.';
		END IF;
		expect := CASE WHEN col.name = ANY (masked) THEN 'string' ELSE audit._json_type_of(col.typ) END;
		CONTINUE WHEN expect IS NULL;
		IF pg_catalog.jsonb_typeof(val) <> expect
		   AND NOT (expect = 'number' AND val IN ('"NaN"', '"Infinity"', '"-Infinity"')) THEN
			RAISE EXCEPTION 'row_key value of key column "%" must be a JSON %', col.name, expect
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = pg_catalog.format('Row events hold a value of type %s as a JSON %s%s; row_key has %s.',
						 col.typname, expect,
						 CASE WHEN col.name = ANY (masked) THEN ' (the column is masked)' ELSE '' END,
						 val::text),
					  HINT = CASE WHEN col.name = ANY (masked)
								  THEN 'Give the masked value, as row_key shows it in audit.row_changes.'
								  ELSE pg_catalog.format('For example %s.',
									 pg_catalog.jsonb_build_object(col.name,
										 CASE expect WHEN 'number' THEN '42'::jsonb
													 WHEN 'boolean' THEN 'true'
													 ELSE to_jsonb(val #>> '{}') END)) END;
		END IF;
		CONTINUE WHEN col.name = ANY (masked);
		IF NOT audit._is_valid_input(col.typ, val #>> '{}') THEN
			RAISE EXCEPTION 'row_key value of key column "%" is not a valid %', col.name, col.typname
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = pg_catalog.format('row_key has %s.', pg_catalog.left(val::text, 100));
		END IF;
	END LOOP;
END
$$;
