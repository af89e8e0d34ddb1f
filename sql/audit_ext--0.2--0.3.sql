/* audit_ext 0.2 -> 0.3: row-level change capture (event format 3) */
\echo Use "ALTER EXTENSION audit_ext UPDATE TO '0.3'" to load this file. \quit

-- Format 3 columns, appended: events written before keep their format and
-- verify as before.  row_key, old_row and new_row are hashed key by key
-- (per-value salted commitments, docs/FORMAT.md "Row images"); row_salt is
-- the salt, not itself hashed.
ALTER TABLE audit.event
	ADD COLUMN row_key          jsonb,
	ADD COLUMN old_row          jsonb,
	ADD COLUMN new_row          jsonb,
	ADD COLUMN changed_columns  jsonb,
	ADD COLUMN row_salt         bytea;

-- ---------------------------------------------------------------------------
-- Which tables are tracked, and how.  Read by the C row capture
-- (src/row_meta.c) when it first meets a table; changed only through
-- audit.track() and friends.  mask_salt is secret: nobody but the
-- extension's owner reads this table.
-- ---------------------------------------------------------------------------
CREATE TABLE audit.tracked_table (
	relid            regclass    NOT NULL PRIMARY KEY,
	exclude_columns  text[]      NOT NULL DEFAULT '{}',
	mask_columns     text[]      NOT NULL DEFAULT '{}',
	mask_salt        bytea       NOT NULL,
	via_schema       regnamespace,
	tracked_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
	tracked_by       text        NOT NULL DEFAULT SESSION_USER,
	-- The same columns by number: a column renamed after track() stays
	-- excluded or masked (and one added later under such a name is too).
	exclude_attnums  int2[]      NOT NULL DEFAULT '{}',
	mask_attnums     int2[]      NOT NULL DEFAULT '{}'
);
REVOKE ALL ON TABLE audit.tracked_table FROM PUBLIC;
COMMENT ON TABLE audit.tracked_table IS
	'Tables whose rows audit_ext captures (read it through audit.tracked_tables)';

CREATE TABLE audit.tracked_schema (
	nspid            regnamespace NOT NULL PRIMARY KEY,
	exclude_columns  text[]      NOT NULL DEFAULT '{}',
	mask_columns     text[]      NOT NULL DEFAULT '{}',
	include_future   boolean     NOT NULL,
	tracked_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
	tracked_by       text        NOT NULL DEFAULT SESSION_USER
);
REVOKE ALL ON TABLE audit.tracked_schema FROM PUBLIC;
COMMENT ON TABLE audit.tracked_schema IS
	'Schemas tracked by audit.track_schema(), and whether tables created there later are tracked too';

SELECT pg_catalog.pg_extension_config_dump('audit.tracked_table', '');
SELECT pg_catalog.pg_extension_config_dump('audit.tracked_schema', '');

-- ---------------------------------------------------------------------------
-- C entry points (src/capture_row.c, src/row_meta.c)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit._capture_row() RETURNS trigger
	AS 'MODULE_PATHNAME', 'audit_capture_row'
	LANGUAGE C;
COMMENT ON FUNCTION audit._capture_row() IS
	'Row trigger of tracked tables: records each inserted, updated and deleted row';
REVOKE ALL ON FUNCTION audit._capture_row() FROM PUBLIC;

CREATE FUNCTION audit._capture_truncate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'audit_capture_truncate'
	LANGUAGE C;
COMMENT ON FUNCTION audit._capture_truncate() IS
	'TRUNCATE trigger of tracked tables: records the truncation with the row count';
REVOKE ALL ON FUNCTION audit._capture_truncate() FROM PUBLIC;

CREATE FUNCTION audit._tracking_changed(rel regclass) RETURNS void
	AS 'MODULE_PATHNAME', 'audit_tracking_changed'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION audit._tracking_changed(regclass) IS
	'Makes every session reread how a table (and its partitions) is tracked';
REVOKE ALL ON FUNCTION audit._tracking_changed(regclass) FROM PUBLIC;

CREATE FUNCTION audit._record_config(command text, object_name text, detail jsonb)
	RETURNS void
	AS 'MODULE_PATHNAME', 'audit_record_config'
	LANGUAGE C;
COMMENT ON FUNCTION audit._record_config(text, text, jsonb) IS
	'Records a change of what audit_ext captures (track, untrack) as an event';
REVOKE ALL ON FUNCTION audit._record_config(text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION audit._row_key_columns(rel regclass) RETURNS text[]
	AS 'MODULE_PATHNAME', 'audit_row_key_columns'
	LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION audit._row_key_columns(regclass) IS
	'The columns row_key is made of (primary key, else replica identity index), as row capture picks them; NULL if none';
REVOKE ALL ON FUNCTION audit._row_key_columns(regclass) FROM PUBLIC;
-- audit.tracked_tables calls it with its reader's rights.
GRANT EXECUTE ON FUNCTION audit._row_key_columns(regclass) TO audit_reader;

CREATE FUNCTION audit._internal(enter boolean) RETURNS boolean
	AS 'MODULE_PATHNAME', 'audit_internal_span'
	LANGUAGE C;
COMMENT ON FUNCTION audit._internal(boolean) IS
	'Enters (true) or leaves (false) a span of audit_ext''s own statements, which are not recorded; returns true.  Called in PL/pgSQL assignments (simple expressions, which are no statements themselves)';
REVOKE ALL ON FUNCTION audit._internal(boolean) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Tracking API, for audit_admin.  Runs with the extension owner's rights,
-- search_path pinned; every object it names is schema-qualified.
-- ---------------------------------------------------------------------------

-- A trigger of ours is known by its function, not only by its name: a
-- table owner's own "audit_ext_row" must not pass for it.
CREATE FUNCTION audit._check_trigger_names(rel regclass) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
BEGIN
	FOR t IN SELECT tgname FROM pg_trigger
			  WHERE tgrelid = rel
			    AND ((tgname = 'audit_ext_row' AND tgfoid <> 'audit._capture_row()'::regprocedure)
			      OR (tgname = 'audit_ext_truncate' AND tgfoid <> 'audit._capture_truncate()'::regprocedure))
	LOOP
		RAISE EXCEPTION 'cannot track %: it has a trigger named "%" that is not audit_ext''s', rel, t.tgname
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Drop or rename that trigger first.';
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION audit._check_trigger_names(regclass) FROM PUBLIC;

-- The TRUNCATE trigger on rel and on each leaf partition below it
-- (statement triggers are not inherited; foreign tables cannot have one),
-- and every trigger of ours there ENABLE ALWAYS, so that
-- session_replication_role = replica does not silence them (and a trigger
-- disabled behind our back is put back).  Every session then rereads how
-- they are tracked.
CREATE FUNCTION audit._install_leaf_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	leaf regclass;
BEGIN
	-- pg_partition_tree() of a table that is not partitioned is empty.
	FOR leaf IN SELECT rel UNION SELECT p.relid FROM pg_partition_tree(rel) p
				 JOIN pg_class c ON c.oid = p.relid WHERE p.isleaf AND c.relkind <> 'f'
	LOOP
		PERFORM audit._check_trigger_names(leaf);
		IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = leaf AND tgname = 'audit_ext_truncate') THEN
			EXECUTE format('CREATE TRIGGER audit_ext_truncate BEFORE TRUNCATE ON %s'
						   ' FOR EACH STATEMENT EXECUTE FUNCTION audit._capture_truncate()', leaf);
		END IF;
		IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = leaf AND tgname = 'audit_ext_truncate'
				   AND tgenabled <> 'A') THEN
			EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_ext_truncate', leaf);
		END IF;
		IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = leaf AND tgname = 'audit_ext_row'
				   AND tgenabled <> 'A') THEN
			EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_ext_row', leaf);
		END IF;
	END LOOP;
	PERFORM audit._tracking_changed(rel);
END
$$;
REVOKE ALL ON FUNCTION audit._install_leaf_triggers(regclass) FROM PUBLIC;

-- The row trigger on rel (cloned by the server to every partition, present
-- and future), then the rest as above.
CREATE FUNCTION audit._install_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM audit._check_trigger_names(rel);
	IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'audit_ext_row') THEN
		EXECUTE format('CREATE TRIGGER audit_ext_row AFTER INSERT OR UPDATE OR DELETE ON %s'
					   ' FOR EACH ROW EXECUTE FUNCTION audit._capture_row()', rel);
	END IF;
	PERFORM audit._install_leaf_triggers(rel);
END
$$;
REVOKE ALL ON FUNCTION audit._install_triggers(regclass) FROM PUBLIC;

-- Refuse what cannot be tracked, with the reason; returns the relation's
-- schema-qualified name.
CREATE FUNCTION audit._check_trackable(rel regclass, exclude_columns text[],
									   mask_columns text[]) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c pg_class;
	name text;
	col text;
	keycols text[];
	tracked_parent regclass;
	tracked_part regclass;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'table to track must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF exclude_columns IS NULL OR mask_columns IS NULL THEN
		RAISE EXCEPTION 'exclude_columns and mask_columns must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass an empty array for none.';
	END IF;
	SELECT * INTO c FROM pg_class WHERE oid = rel;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::oid USING ERRCODE = 'undefined_table';
	END IF;
	name := format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), c.relname);
	IF c.relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION 'cannot track "%": it is %', name,
			CASE c.relkind WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view'
				WHEN 'f' THEN 'a foreign table' WHEN 'S' THEN 'a sequence'
				WHEN 'i' THEN 'an index' WHEN 'I' THEN 'an index'
				WHEN 'c' THEN 'a composite type' ELSE 'not a table' END
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Only ordinary and partitioned tables can be tracked.';
	END IF;
	IF c.relpersistence = 't' THEN
		RAISE EXCEPTION 'cannot track temporary table "%"', name
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'A temporary table is private to its session; track the tables it feeds.';
	END IF;
	IF c.relnamespace IN ('audit'::regnamespace, 'pg_catalog'::regnamespace,
						  'information_schema'::regnamespace, 'pg_toast'::regnamespace) THEN
		RAISE EXCEPTION 'cannot track "%": tables in schema % cannot be tracked',
			name, c.relnamespace::regnamespace
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	SELECT a.relid INTO tracked_parent
	  FROM pg_partition_ancestors(rel) AS a(relid)
	  JOIN audit.tracked_table t ON t.relid = a.relid
	 WHERE a.relid <> rel LIMIT 1;
	IF tracked_parent IS NOT NULL THEN
		RAISE EXCEPTION 'cannot track "%": it is a partition of tracked table %', name, tracked_parent
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Its rows are captured through the partitioned table.';
	END IF;
	-- The other way round: the partitioned table's row trigger could not
	-- be cloned to a partition that has its own.
	SELECT p.relid INTO tracked_part
	  FROM pg_partition_tree(rel) AS p
	  JOIN audit.tracked_table t ON t.relid = p.relid
	 WHERE p.relid <> rel LIMIT 1;
	IF tracked_part IS NOT NULL THEN
		RAISE EXCEPTION 'cannot track "%": its partition % is tracked', name, tracked_part
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Untrack the partition first: tracking the partitioned table captures its rows.';
	END IF;
	IF array_position(exclude_columns || mask_columns, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'column names in exclude_columns and mask_columns must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	FOREACH col IN ARRAY exclude_columns || mask_columns
	LOOP
		IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel
				AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, name
				USING ERRCODE = 'undefined_column';
		END IF;
	END LOOP;
	IF exclude_columns && mask_columns THEN
		RAISE EXCEPTION 'a column cannot be both excluded and masked'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	keycols := audit._row_key_columns(rel);
	IF keycols && exclude_columns THEN
		RAISE EXCEPTION 'cannot exclude column "%" of "%": it is part of the row key',
			(SELECT k FROM unnest(keycols) k WHERE k = ANY (exclude_columns) LIMIT 1), name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Mask it instead: row_key then holds its masked value.';
	END IF;
	RETURN name;
END
$$;
REVOKE ALL ON FUNCTION audit._check_trackable(regclass, text[], text[]) FROM PUBLIC;

CREATE FUNCTION audit._track(rel regclass, exclude_columns text[],
							 mask_columns text[], via_schema regnamespace)
	RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	name text := audit._check_trackable(rel, exclude_columns, mask_columns);
	old audit.tracked_table;
BEGIN
	internal := audit._internal(true);
	SELECT * INTO old FROM audit.tracked_table t WHERE t.relid = rel FOR UPDATE;
	-- (A row trigger dropped or disabled behind our back is put back.)
	IF FOUND AND old.exclude_columns = exclude_columns AND old.mask_columns = mask_columns
	   AND EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'audit_ext_row'
				   AND tgfoid = 'audit._capture_row()'::regprocedure AND tgenabled = 'A') THEN
		internal := audit._internal(false);
		RETURN;					-- already tracked just so
	END IF;
	INSERT INTO audit.tracked_table AS t (relid, exclude_columns, mask_columns, mask_salt,
										  via_schema, exclude_attnums, mask_attnums)
		VALUES (rel, exclude_columns, mask_columns, audit._random_salt(), via_schema,
				ARRAY(SELECT attnum FROM pg_attribute WHERE attrelid = rel AND attname = ANY (exclude_columns)),
				ARRAY(SELECT attnum FROM pg_attribute WHERE attrelid = rel AND attname = ANY (mask_columns)))
	ON CONFLICT (relid) DO UPDATE
		SET exclude_columns = excluded.exclude_columns,
			mask_columns = excluded.mask_columns,
			exclude_attnums = excluded.exclude_attnums,
			mask_attnums = excluded.mask_attnums,
			via_schema = excluded.via_schema,
			tracked_at = now(), tracked_by = SESSION_USER;
	PERFORM audit._install_triggers(rel);
	PERFORM audit._record_config('TRACK', name,
		jsonb_build_object('exclude_columns', to_jsonb(exclude_columns),
						   'mask_columns', to_jsonb(mask_columns),
						   'row_key', to_jsonb(audit._row_key_columns(rel)),
						   'via_schema', via_schema::text,
						   'previously', CASE WHEN old.relid IS NULL THEN NULL ELSE
								jsonb_build_object('exclude_columns', to_jsonb(old.exclude_columns),
												   'mask_columns', to_jsonb(old.mask_columns)) END));
	internal := audit._internal(false);
END
$$;
REVOKE ALL ON FUNCTION audit._track(regclass, text[], text[], regnamespace) FROM PUBLIC;

CREATE FUNCTION audit._random_salt() RETURNS bytea
	AS 'MODULE_PATHNAME', 'audit_random_salt'
	LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION audit._random_salt() FROM PUBLIC;

-- Track rel with a schema's options, keeping those of its own columns
-- (and never excluding a column of its row key).
CREATE FUNCTION audit._track_with_schema_options(rel regclass, s audit.tracked_schema)
	RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT audit._track(rel,
		ARRAY(SELECT x FROM unnest(s.exclude_columns) x
			   WHERE x IN (SELECT attname FROM pg_attribute
						   WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped)
				 AND NOT x = ANY (coalesce(audit._row_key_columns(rel), '{}'))),
		ARRAY(SELECT x FROM unnest(s.mask_columns) x
			   WHERE x IN (SELECT attname FROM pg_attribute
						   WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped)),
		s.nspid)
$$;
REVOKE ALL ON FUNCTION audit._track_with_schema_options(regclass, audit.tracked_schema) FROM PUBLIC;

CREATE FUNCTION audit.track(rel regclass, exclude_columns text[] DEFAULT '{}',
							mask_columns text[] DEFAULT '{}')
	RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT audit._track(rel, exclude_columns, mask_columns, NULL) $$;
COMMENT ON FUNCTION audit.track(regclass, text[], text[]) IS
	'Start capturing the rows of a table (and of all its partitions): excluded columns never appear, masked ones as salted SHA-256';

CREATE FUNCTION audit.untrack(rel regclass) RETURNS void
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
		RETURN;					-- not tracked: nothing to do
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
COMMENT ON FUNCTION audit.untrack(regclass) IS
	'Stop capturing the rows of a table; its past events stay';

CREATE FUNCTION audit.track_schema(schema name, exclude_columns text[] DEFAULT '{}',
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
COMMENT ON FUNCTION audit.track_schema(name, text[], text[], boolean) IS
	'Track every table of a schema (and, with include_future, tables created there later); returns how many';

CREATE FUNCTION audit.untrack_schema(schema name) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	nsp regnamespace;
	rel regclass;
	n integer := 0;
BEGIN
	IF schema IS NULL THEN
		RAISE EXCEPTION 'schema must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT oid INTO nsp FROM pg_namespace WHERE nspname = schema;
	IF nsp IS NULL THEN
		RAISE EXCEPTION 'schema "%" does not exist', schema USING ERRCODE = 'invalid_schema_name';
	END IF;
	internal := audit._internal(true);
	DELETE FROM audit.tracked_schema s WHERE s.nspid = nsp;
	IF FOUND THEN
		PERFORM audit._record_config('UNTRACK SCHEMA', quote_ident(schema), NULL);
	END IF;
	FOR rel IN SELECT t.relid FROM audit.tracked_table t WHERE t.via_schema = nsp
	LOOP
		PERFORM audit.untrack(rel);
		n := n + 1;
	END LOOP;
	internal := audit._internal(false);
	RETURN n;
END
$$;
COMMENT ON FUNCTION audit.untrack_schema(name) IS
	'Stop tracking the tables audit.track_schema() tracked in a schema, and tables created there later';

REVOKE ALL ON FUNCTION audit.track(regclass, text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.untrack(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.track_schema(name, text[], text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.untrack_schema(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.track(regclass, text[], text[]) TO audit_admin;
GRANT EXECUTE ON FUNCTION audit.untrack(regclass) TO audit_admin;
GRANT EXECUTE ON FUNCTION audit.track_schema(name, text[], text[], boolean) TO audit_admin;
GRANT EXECUTE ON FUNCTION audit.untrack_schema(name) TO audit_admin;

-- ---------------------------------------------------------------------------
-- Tables created later: new partitions of a tracked table get the TRUNCATE
-- trigger (the row trigger is cloned to them by the server), tables
-- created in a schema tracked with include_future are tracked.  A dropped
-- table leaves the list (its OID may be reused).
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit._track_new_tables() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	cmd record;
	s audit.tracked_schema;
	c pg_class;
BEGIN
	internal := audit._internal(true);
	FOR cmd IN SELECT objid, bool_or(command_tag <> 'ALTER TABLE') AS created
				 FROM pg_event_trigger_ddl_commands()
				WHERE classid = 'pg_class'::regclass AND object_type IN ('table', 'table column')
				GROUP BY objid
	LOOP
		SELECT * INTO c FROM pg_class WHERE oid = cmd.objid;
		CONTINUE WHEN NOT FOUND OR c.relkind NOT IN ('r', 'p') OR c.relpersistence = 't';
		-- A new partition, or ALTER TABLE ... ATTACH PARTITION (which names
		-- the parent): every leaf below gets its triggers.
		IF EXISTS (SELECT FROM pg_partition_ancestors(cmd.objid) a(relid)
					 JOIN audit.tracked_table t ON t.relid = a.relid) THEN
			IF c.relispartition OR c.relkind = 'p' THEN
				PERFORM audit._install_leaf_triggers(cmd.objid);
			END IF;
			CONTINUE;
		END IF;
		CONTINUE WHEN c.relispartition;
		-- include_future: tables created later, not every ALTER TABLE (a table
		-- untracked on purpose stays untracked).
		CONTINUE WHEN NOT cmd.created;
		SELECT * INTO s FROM audit.tracked_schema WHERE nspid = c.relnamespace AND include_future;
		IF FOUND AND NOT EXISTS (SELECT FROM audit.tracked_table t WHERE t.relid = cmd.objid) THEN
			PERFORM audit._track_with_schema_options(cmd.objid, s);
		END IF;
	END LOOP;
	internal := audit._internal(false);
END
$$;
REVOKE ALL ON FUNCTION audit._track_new_tables() FROM PUBLIC;

CREATE FUNCTION audit._untrack_dropped() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
BEGIN
	internal := audit._internal(true);
	DELETE FROM audit.tracked_table t
	 USING pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND t.relid::oid = d.objid;
	DELETE FROM audit.tracked_schema s
	 USING pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_namespace'::regclass AND s.nspid::oid = d.objid;
	internal := audit._internal(false);
END
$$;
REVOKE ALL ON FUNCTION audit._untrack_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER audit_ext_track_new_tables ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
	EXECUTE FUNCTION audit._track_new_tables();
ALTER EVENT TRIGGER audit_ext_track_new_tables ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER audit_ext_track_new_tables IS
	'audit_ext: tracks new partitions of tracked tables, and new tables of schemas tracked with include_future';

CREATE EVENT TRIGGER audit_ext_untrack_dropped ON sql_drop
	EXECUTE FUNCTION audit._untrack_dropped();
ALTER EVENT TRIGGER audit_ext_untrack_dropped ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER audit_ext_untrack_dropped IS
	'audit_ext: forgets tracked tables and schemas that are dropped';

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------
CREATE VIEW audit.tracked_tables AS
	SELECT t.relid AS table_name,
	       -- current names: an excluded or masked column may have been renamed
	       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
	              WHERE a.attrelid = t.relid AND NOT a.attisdropped
	                AND (a.attnum = ANY (t.exclude_attnums) OR a.attname = ANY (t.exclude_columns))
	              ORDER BY a.attnum) AS exclude_columns,
	       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
	              WHERE a.attrelid = t.relid AND NOT a.attisdropped
	                AND (a.attnum = ANY (t.mask_attnums) OR a.attname = ANY (t.mask_columns))
	              ORDER BY a.attnum) AS mask_columns,
	       k.key_columns,
	       CASE WHEN k.key_columns IS NULL THEN 'none'
	            WHEN EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.relid AND i.indisprimary)
	            THEN 'primary key' ELSE 'replica identity' END AS key_source,
	       c.relkind = 'p' AS partitioned,
	       t.via_schema,
	       tr.tgenabled AS row_trigger,
	       CASE WHEN k.key_columns IS NULL
	            THEN 'no primary key or replica identity index: row_key is NULL, rows are told apart only by their images'
	       END AS note,
	       t.tracked_at, t.tracked_by
	  FROM audit.tracked_table t
	  JOIN pg_catalog.pg_class c ON c.oid = t.relid
	  CROSS JOIN LATERAL (SELECT audit._row_key_columns(t.relid) AS key_columns) k
	  LEFT JOIN pg_catalog.pg_trigger tr ON tr.tgrelid = t.relid AND tr.tgname = 'audit_ext_row';
COMMENT ON VIEW audit.tracked_tables IS
	'Tables whose rows are captured, with their options and row key';
COMMENT ON COLUMN audit.tracked_tables.row_trigger IS
	'State of the row trigger: A (fires always, as installed), O/R/D if someone changed it, NULL if it was dropped';
GRANT SELECT ON audit.tracked_tables TO audit_reader;

-- Row events with the full previous image (an UPDATE stores only the
-- previous values of the changed columns), and who ran which statement.
CREATE VIEW audit.row_changes AS
	SELECT e.event_id, e.txid, e.occurred_at, e.command AS operation,
	       e.object_name AS table_name, e.detail ->> 'partition' AS partition,
	       e.row_key,
	       CASE WHEN e.command = 'UPDATE' THEN e.new_row || e.old_row ELSE e.old_row END AS old_row,
	       e.new_row, e.changed_columns, e.rows_affected,
	       e.statement_id, s.statement, s.session_role, s.effective_role,
	       s.app_user, s.client_addr, s.client_port, s.application_name,
	       s.backend_pid, t.block_id
	  FROM audit.event e
	  LEFT JOIN LATERAL (SELECT st.statement, st.session_role, st.effective_role,
	                            st.app_user, st.client_addr, st.client_port,
	                            st.application_name, st.backend_pid
	                       FROM audit.event st
	                      WHERE st.statement_id = e.statement_id AND st.txid = e.txid
	                        AND st.kind = 'statement'
	                      ORDER BY st.nesting_level, st.event_id LIMIT 1) s ON true
	  LEFT JOIN audit.transactions t ON t.txid = e.txid
	 WHERE e.kind = 'row';
COMMENT ON VIEW audit.row_changes IS
	'Every captured row change, with the statement that made it and who ran it';
COMMENT ON COLUMN audit.row_changes.old_row IS
	'The row before the change (UPDATE: rebuilt from new_row and the stored previous values of the changed columns)';
COMMENT ON COLUMN audit.row_changes.statement IS
	'Text of the statement that made the change (the outermost one recorded)';
GRANT SELECT ON audit.row_changes TO audit_reader;

CREATE OR REPLACE VIEW audit.events AS
	SELECT e.event_id, e.txid, e.occurred_at, e.kind, e.command,
	       e.object_name, e.session_role, e.effective_role, e.client_addr,
	       e.client_port, e.application_name, e.backend_pid, e.database,
	       e.statement, e.rows_affected, e.format_version, e.leaf_hash,
	       t.block_id,
	       e.class, e.statement_id, e.nesting_level, e.app_user, e.context,
	       e.parameters, e.objects, e.sqlstate, e.message, e.detail,
	       e.row_key, e.old_row, e.new_row, e.changed_columns, e.row_salt
	  FROM audit.event e
	  LEFT JOIN audit.transactions t ON t.txid = e.txid;
COMMENT ON COLUMN audit.events.kind IS
	'Event kind: statement, row, config, login, login_failed, logout or error';
COMMENT ON COLUMN audit.events.row_key IS
	'Row events: primary key (or replica identity) of the row';
COMMENT ON COLUMN audit.events.old_row IS
	'Row events: DELETE: the row; UPDATE: previous values of the changed columns (audit.row_changes shows the whole row)';
COMMENT ON COLUMN audit.events.new_row IS
	'Row events: the row after INSERT or UPDATE';
COMMENT ON COLUMN audit.events.row_salt IS
	'Row events: the random salt of the row images'' hash commitments (docs/FORMAT.md), needed to verify them';
COMMENT ON COLUMN audit.events.changed_columns IS
	'Row events of UPDATE: the columns whose values changed (empty if none did)';


