-- ---------------------------------------------------------------------------
-- Erasure (GDPR): audit.redact() removes values from the row images of
-- events and keeps, in audit.event.erasure (not hashed), the commitment of
-- each value erased and the salts of the members that stay, so the leaf
-- hash, and everything above it, still verifies (docs/FORMAT.md,
-- "Erasure").  row_salt is set to NULL: with it, an erased value of low
-- entropy could be found again by trying candidates against its
-- commitment.  For audit_admin; runs with the extension owner's rights,
-- search_path pinned; every object it names is schema-qualified.
-- ---------------------------------------------------------------------------

CREATE FUNCTION audit._row_member_salt(row_salt bytea, side "char", key text)
	RETURNS bytea
	AS 'MODULE_PATHNAME', 'audit_row_member_salt_sql'
	LANGUAGE C STRICT IMMUTABLE;
COMMENT ON FUNCTION audit._row_member_salt(bytea, "char", text) IS
	'The 16-byte salt of the commitment to one member of a row image (side k, o or n), as the leaf hash computes it';
REVOKE ALL ON FUNCTION audit._row_member_salt(bytea, "char", text) FROM PUBLIC;

CREATE FUNCTION audit._row_member_commitment(salt bytea, value jsonb)
	RETURNS bytea
	AS 'MODULE_PATHNAME', 'audit_row_member_commitment_sql'
	LANGUAGE C STRICT IMMUTABLE;
COMMENT ON FUNCTION audit._row_member_commitment(bytea, jsonb) IS
	'The commitment to one member of a row image: SHA-256(0x03 || salt || value text), as the leaf hash computes it';
REVOKE ALL ON FUNCTION audit._row_member_commitment(bytea, jsonb) FROM PUBLIC;

CREATE FUNCTION audit._event_leaf_holds(e audit.event) RETURNS boolean
	AS 'MODULE_PATHNAME', 'audit_event_leaf_holds'
	LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION audit._event_leaf_holds(audit.event) IS
	'Does an event row encode, in its format version, to its stored leaf_hash?';
REVOKE ALL ON FUNCTION audit._event_leaf_holds(audit.event) FROM PUBLIC;

-- One row image without the members named in columns: what stays (kept),
-- the commitments of those erased (erased, key -> hex) and the salts of
-- those that stay (salts, key -> hex).  A member's salt comes from
-- row_salt, or, once that is gone, from the salts an earlier erasure kept.
CREATE FUNCTION audit._erase_image(image jsonb, side "char", row_salt bytea,
								   kept_salts jsonb, columns text[],
								   OUT kept jsonb, OUT erased jsonb, OUT salts jsonb)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT image - columns,
		   coalesce(jsonb_object_agg(m.key, encode(audit._row_member_commitment(m.salt, m.value), 'hex'))
						FILTER (WHERE m.key = ANY (columns)), '{}'),
		   coalesce(jsonb_object_agg(m.key, encode(m.salt, 'hex'))
						FILTER (WHERE NOT m.key = ANY (columns)), '{}')
	  FROM (SELECT j.key, j.value,
				   CASE WHEN row_salt IS NOT NULL THEN audit._row_member_salt(row_salt, side, j.key)
						ELSE decode(kept_salts ->> j.key, 'hex') END AS salt
			  FROM jsonb_each(image) j) m
$$;
REVOKE ALL ON FUNCTION audit._erase_image(jsonb, "char", bytea, jsonb, text[]) FROM PUBLIC;

-- Refuse what cannot be erased, with the reason.
CREATE FUNCTION audit._redact_check(e audit.event, event_id bigint, columns text[])
	RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	missing text;
BEGIN
	IF e.event_id IS NULL THEN
		RAISE EXCEPTION 'event % does not exist', event_id USING ERRCODE = 'no_data_found';
	ELSIF e.archive_id IS NOT NULL THEN
		RAISE EXCEPTION 'event % was archived', event_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Its values are in the bundle of archive %s, not in the database.', e.archive_id),
				  HINT = 'Erase them from the archive bundle (see audit.archives).';
	ELSIF e.kind IS DISTINCT FROM 'row' OR e.format_version < 3 THEN
		RAISE EXCEPTION 'event % is not a row event', event_id
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = pg_catalog.format('Its kind is %s: only the row images of row events can be erased.', e.kind);
	ELSIF NOT audit._event_leaf_holds(e) THEN
		RAISE EXCEPTION 'event % does not verify', event_id
			USING ERRCODE = 'data_corrupted',
				  HINT = 'Run audit.verify_report() to see what was altered; an altered event is not erased.';
	END IF;
	SELECT c INTO missing FROM pg_catalog.unnest(columns) c
	 WHERE NOT (coalesce(e.row_key ? c, false) OR coalesce(e.old_row ? c, false)
				OR coalesce(e.new_row ? c, false))
	 LIMIT 1;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" has no value in the row images of event %', missing, event_id
			USING ERRCODE = 'undefined_column',
				  HINT = 'It may have been erased already, excluded from capture, or not be a column of the table.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION audit._redact_check(audit.event, bigint, text[]) FROM PUBLIC;

-- Erase columns from one event, checked by audit._redact_check() unless
-- lenient (then columns it lacks are passed over); returns how many values
-- were erased.  The event must still hash to its leaf afterwards.
CREATE FUNCTION audit._redact_event(event_id bigint, columns text[], reason text,
									lenient boolean)
	RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e audit.event;
	k record;
	o record;
	n record;
	erased integer;
	redaction jsonb;
BEGIN
	SELECT * INTO e FROM audit.event ev WHERE ev.event_id = _redact_event.event_id FOR UPDATE;
	IF lenient THEN
		columns := ARRAY(SELECT c FROM pg_catalog.unnest(columns) c
						  WHERE e.row_key ? c OR e.old_row ? c OR e.new_row ? c);
		IF cardinality(columns) = 0 THEN
			RETURN 0;			-- none of them in this event
		END IF;
	END IF;
	PERFORM audit._redact_check(e, event_id, columns);
	k := audit._erase_image(e.row_key, 'k', e.row_salt, e.erasure #> '{salts,k}', columns);
	o := audit._erase_image(e.old_row, 'o', e.row_salt, e.erasure #> '{salts,o}', columns);
	n := audit._erase_image(e.new_row, 'n', e.row_salt, e.erasure #> '{salts,n}', columns);
	erased := (SELECT count(*)::integer FROM (
				SELECT jsonb_object_keys(k.erased) UNION ALL SELECT jsonb_object_keys(o.erased)
				UNION ALL SELECT jsonb_object_keys(n.erased)) x);
	redaction := jsonb_build_object('at', now(), 'by', session_user::text,
									'reason', reason, 'columns', to_jsonb(columns));
	e.erasure := jsonb_build_object(
		'erased', jsonb_strip_nulls(jsonb_build_object(
			'k', nullif(coalesce(e.erasure #> '{erased,k}', '{}') || k.erased, '{}'),
			'o', nullif(coalesce(e.erasure #> '{erased,o}', '{}') || o.erased, '{}'),
			'n', nullif(coalesce(e.erasure #> '{erased,n}', '{}') || n.erased, '{}'))),
		'salts', jsonb_strip_nulls(jsonb_build_object(
			'k', CASE WHEN e.row_key IS NOT NULL THEN k.salts END,
			'o', CASE WHEN e.old_row IS NOT NULL THEN o.salts END,
			'n', CASE WHEN e.new_row IS NOT NULL THEN n.salts END)),
		'redactions', coalesce(e.erasure -> 'redactions', '[]') || jsonb_build_array(redaction));
	e.row_key := k.kept;
	e.old_row := o.kept;
	e.new_row := n.kept;
	e.row_salt := NULL;
	IF NOT audit._event_leaf_holds(e) THEN
		RAISE EXCEPTION 'audit_ext: erasing from event % would change its leaf hash', event_id
			USING ERRCODE = 'internal_error';
	END IF;
	UPDATE audit.event ev
	   SET row_key = e.row_key, old_row = e.old_row, new_row = e.new_row,
		   row_salt = NULL, erasure = e.erasure
	 WHERE ev.event_id = _redact_event.event_id;
	RETURN erased;
END
$$;
REVOKE ALL ON FUNCTION audit._redact_event(bigint, text[], text, boolean) FROM PUBLIC;

-- NULL arguments and an empty reason.
CREATE FUNCTION audit._redact_args(columns text[], reason text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF columns IS NULL OR array_position(columns, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'columns to erase must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	ELSIF cardinality(columns) = 0 THEN
		RAISE EXCEPTION 'no columns to erase' USING ERRCODE = 'invalid_parameter_value';
	ELSIF reason IS NULL THEN
		RAISE EXCEPTION 'reason must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	ELSIF btrim(reason) = '' THEN
		RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Say why the values are erased, e.g. the erasure request it answers.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION audit._redact_args(text[], text) FROM PUBLIC;

-- Erase columns from the events ids (lenient: from those of them that
-- hold them) in a span of audit_ext's own statements, and record it.
CREATE FUNCTION audit._redact(ids bigint[], object_name text, row_key jsonb,
							  columns text[], reason text, lenient boolean)
	RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	id bigint;
	erased integer := 0;
BEGIN
	internal := audit._internal(true);
	FOREACH id IN ARRAY ids
	LOOP
		erased := erased + audit._redact_event(id, columns, reason, lenient);
	END LOOP;
	PERFORM audit._record_config('REDACT', object_name,
		jsonb_build_object('event_ids', to_jsonb(ids), 'columns', to_jsonb(columns),
						   'reason', reason, 'values_erased', erased)
		|| CASE WHEN row_key IS NULL THEN '{}' ELSE jsonb_build_object('row_key', row_key) END);
	internal := audit._internal(false);
	RETURN erased;
END
$$;
REVOKE ALL ON FUNCTION audit._redact(bigint[], text, jsonb, text[], text, boolean) FROM PUBLIC;

CREATE FUNCTION audit.redact(event_id bigint, columns text[], reason text)
	RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF event_id IS NULL THEN
		RAISE EXCEPTION 'event_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM audit._redact_args(columns, reason);
	RETURN audit._redact(ARRAY[event_id], NULL, NULL, columns, reason, false);
END
$$;
COMMENT ON FUNCTION audit.redact(bigint, text[], text) IS
	'Erase the values of columns from the row images of a row event, keeping their commitments so that it still verifies; returns how many values were erased';

CREATE FUNCTION audit.redact(rel regclass, row_key jsonb, columns text[], reason text)
	RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name text;
	ids bigint[];
	missing text;
BEGIN
	IF rel IS NULL OR row_key IS NULL THEN
		RAISE EXCEPTION 'table and row_key must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM audit._redact_args(columns, reason);
	name := (SELECT pg_catalog.format('%I.%I', s.nspname, c.relname)
			   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace
			  WHERE c.oid = rel);
	ids := ARRAY(SELECT e.event_id FROM audit.event e
				  WHERE e.kind = 'row' AND e.object_name = name AND e.row_key = redact.row_key
				  ORDER BY e.event_id);
	IF cardinality(ids) = 0 THEN
		RAISE EXCEPTION 'no row events of table % with row_key %', name, row_key
			USING ERRCODE = 'no_data_found',
				  HINT = 'row_key must match the recorded key exactly; events whose key columns were erased cannot be found by key.';
	END IF;
	SELECT c INTO missing FROM pg_catalog.unnest(columns) c
	 WHERE NOT EXISTS (SELECT FROM audit.event e WHERE e.event_id = ANY (ids)
						 AND (e.row_key ? c OR e.old_row ? c OR e.new_row ? c))
	 LIMIT 1;
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'column "%" has no value in the row images of the events of that row', missing
			USING ERRCODE = 'undefined_column';
	END IF;
	RETURN audit._redact(ids, name, row_key, columns, reason, true);
END
$$;
COMMENT ON FUNCTION audit.redact(regclass, jsonb, text[], text) IS
	'Erase the values of columns from every row event of one row of a table (found by its recorded row_key), keeping their commitments; returns how many values were erased';

REVOKE ALL ON FUNCTION audit.redact(bigint, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.redact(regclass, jsonb, text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.redact(bigint, text[], text) TO audit_admin;
GRANT EXECUTE ON FUNCTION audit.redact(regclass, jsonb, text[], text) TO audit_admin;
