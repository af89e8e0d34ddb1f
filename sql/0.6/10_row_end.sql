-- ---------------------------------------------------------------------------
-- audit.row_end: where a row key stopped naming a row (src/row_end.c).
--
-- audit.row_as_of(K, at) finds the row's last event under K before `at`
-- through event_row_key_idx; the row may still have ended since without
-- any event under K: a TRUNCATE of its table (or partition), or an UPDATE
-- that gave it another key (recorded under the new key).  0.4/0.5 looked
-- for those among every event of the table in between — on a busy table,
-- millions of rows read for one answer.  From 0.6 the row capture writes
-- each such event here as well (both are rare: ordinary row events pay
-- nothing), and row_as_of() looks here, in an index.
--
-- Derived data, like an index: not hashed, not part of any verification;
-- filled from the trail below, kept in step with archiving and erasure by
-- a trigger (an archived or erased key is removed from here too).
-- ---------------------------------------------------------------------------

CREATE TABLE audit.row_end (
	event_id bigint PRIMARY KEY,	-- the TRUNCATE or key-changing UPDATE
	object_name text NOT NULL,		-- its tracked table
	partition text,					-- the partition it was in, if any
	row_key jsonb,					-- the key that ended; NULL: TRUNCATE
	occurred_at timestamptz NOT NULL
);
CREATE INDEX row_end_key_idx ON audit.row_end (object_name, row_key, event_id);
COMMENT ON TABLE audit.row_end IS
	'Derived from the trail (not hashed): row events after which a row key no longer names its row — TRUNCATE (row_key NULL) and UPDATEs that changed the key (row_key: the old key)';
SELECT pg_catalog.pg_extension_config_dump('audit.row_end', '');
REVOKE ALL ON audit.row_end FROM PUBLIC;

INSERT INTO audit.row_end (event_id, object_name, partition, row_key, occurred_at)
SELECT e.event_id, e.object_name, e.detail ->> 'partition',
	   CASE WHEN e.command = 'UPDATE' THEN audit._old_row_key(e.row_key, e.old_row) END,
	   e.occurred_at
  FROM audit.event e
 WHERE e.kind = 'row'
   AND (e.command = 'TRUNCATE'
		OR (e.command = 'UPDATE' AND audit._old_row_key(e.row_key, e.old_row) <> e.row_key));

-- Archiving and erasure update events in place: what they remove from an
-- event leaves row_end too.
CREATE FUNCTION audit._row_end_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM audit.row_end g
	 USING changed n
	 WHERE g.event_id = n.event_id
	   AND (n.kind IS NULL
			OR (g.row_key IS NOT NULL
				AND g.row_key IS DISTINCT FROM audit._old_row_key(n.row_key, n.old_row)));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit._row_end_sync() IS
	'Internal: removes from audit.row_end what archiving or erasure removed from an event';
REVOKE ALL ON FUNCTION audit._row_end_sync() FROM PUBLIC;

CREATE TRIGGER row_end_sync AFTER UPDATE ON audit.event
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION audit._row_end_sync();
ALTER TABLE audit.event ENABLE ALWAYS TRIGGER row_end_sync;

-- ---------------------------------------------------------------------------
-- audit.row_as_of(rel, row_key, at): "gone since" from audit.row_end.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION audit.row_as_of(rel regclass, row_key jsonb, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text := audit._history_table(rel);
	last record;
BEGIN
	PERFORM audit._history_check_key(rel, row_key);
	IF at IS NULL THEN
		RAISE EXCEPTION 'at must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT e.event_id, e.occurred_at, e.command, e.new_row, e.archive_id,
		   e.detail ->> 'partition' AS part
	  INTO last
	  FROM audit.event e
	 WHERE e.row_key = row_key AND e.kind = 'row' AND e.object_name = name
	   AND e.occurred_at <= at
	 ORDER BY e.event_id DESC LIMIT 1;
	IF NOT FOUND OR last.command = 'DELETE' THEN
		RETURN NULL;
	END IF;
	IF last.archive_id IS NOT NULL THEN
		RAISE EXCEPTION 'the row''s state at that moment was archived'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Event %s, which wrote it, is in archive %s.',
											 last.event_id, last.archive_id),
				  HINT = 'Read it from the archive bundle (audit.archives).';
	END IF;
	-- Gone since: an UPDATE that gave it another key, or a TRUNCATE of its
	-- table (or partition).
	IF EXISTS (SELECT FROM audit.row_end g
				WHERE g.object_name = name AND g.row_key = row_key
				  AND g.event_id > last.event_id AND g.occurred_at <= at)
	   OR EXISTS (SELECT FROM audit.row_end g
				   WHERE g.object_name = name AND g.row_key IS NULL
					 AND g.event_id > last.event_id AND g.occurred_at <= at
					 AND (g.partition IS NULL OR g.partition IS NOT DISTINCT FROM last.part)) THEN
		RETURN NULL;
	END IF;
	RETURN last.new_row;
END
$$;
