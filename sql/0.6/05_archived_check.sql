-- ---------------------------------------------------------------------------
-- Reading history next to archives (0.6).
--
-- audit.archive() keeps an archived event's id, hashes and transaction but
-- nulls its kind, table, key, time and images (the bundle holds them), so
-- a history query cannot tell whether an archived event was about the row
-- or table it reads: 0.4/0.5 answered as if archived events did not exist
-- (a row "did not exist", a table was empty).  Archiving takes whole
-- blocks from the first on, so every archived event occurred before the
-- last archived block was sealed: the archive horizon.  An answer that
-- rests only on events after the horizon is whole; any other is refused
-- (SQLSTATE 55000), naming the horizon.
-- ---------------------------------------------------------------------------

-- The moment every archived event occurred before (NULL: nothing archived).
CREATE FUNCTION audit._archive_horizon() RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT b.sealed_at
	  FROM audit.archive a JOIN audit.block b ON b.block_id = a.last_block
	 ORDER BY a.last_block DESC LIMIT 1
$$;
COMMENT ON FUNCTION audit._archive_horizon() IS
	'Internal: when the last archived block was sealed (every archived event occurred before); NULL when nothing is archived';
REVOKE ALL ON FUNCTION audit._archive_horizon() FROM PUBLIC;

-- Refuses an answer about what, resting on an event that occurred at
-- "since" (NULL: on no event still in the trail), when archived events may
-- be later than that.
CREATE FUNCTION audit._archived_check(since timestamptz, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	horizon timestamptz := audit._archive_horizon();
BEGIN
	IF horizon IS NOT NULL AND (since IS NULL OR since < horizon) THEN
		RAISE EXCEPTION '% may rest on archived events', what
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Events that occurred before %s (blocks up to %s) are archived: their tables, keys and images are in the bundles only.',
											 horizon, (SELECT pg_catalog.max(a.last_block) FROM audit.archive a)),
				  HINT = 'Read them from the archive bundles (audit.archives).';
	END IF;
END
$$;
COMMENT ON FUNCTION audit._archived_check(timestamptz, text) IS
	'Internal: refuses (55000) an answer resting on events that archived events may follow';
REVOKE ALL ON FUNCTION audit._archived_check(timestamptz, text) FROM PUBLIC;
