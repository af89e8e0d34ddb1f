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
-- Derived data, like an index: not hashed, not part of any verification,
-- not in dumps (the trail is not either: docs/OPERATIONS.md); filled from
-- the trail below, kept in step with archiving and erasure by a trigger
-- (an archived or erased key is removed from here too).
-- ---------------------------------------------------------------------------

-- Event writers wait for this update (an audited statement that writes an
-- event now waits until it commits, then sees audit.row_end): the fill
-- below then misses only the events of transactions that were already
-- under way, which audit.row_end_pending names.
LOCK TABLE audit.event IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE audit.row_end (
	event_id bigint PRIMARY KEY,	-- the TRUNCATE or key-changing UPDATE
	object_name text NOT NULL,		-- its tracked table
	partition text,					-- the partition it was in, if any
	row_key jsonb,					-- the key that ended; NULL: TRUNCATE
	occurred_at timestamptz NOT NULL
);
-- A hash index, as for audit.event's row_key: a key of any size fits.
CREATE INDEX row_end_key_idx ON audit.row_end USING hash (row_key);
CREATE INDEX row_end_table_idx ON audit.row_end (object_name, event_id);
COMMENT ON TABLE audit.row_end IS
	'Derived from the trail (not hashed): row events after which a row key no longer names its row — TRUNCATE (row_key NULL) and UPDATEs that changed the key (row_key: the old key)';
REVOKE ALL ON audit.row_end FROM PUBLIC;

-- Transactions under way when the update filled audit.row_end: their
-- events, committed later, were not seen by the fill, and were written
-- before audit.row_end existed for them; row_as_of() reads those events.
CREATE TABLE audit.row_end_pending (
	txid xid8 PRIMARY KEY
);
COMMENT ON TABLE audit.row_end_pending IS
	'Transactions under way while the 0.6 update filled audit.row_end: row_as_of() reads their events itself';
REVOKE ALL ON audit.row_end_pending FROM PUBLIC;

-- What the trail says audit.row_end holds: its row events that end a key.
-- The fill below and audit.row_end_check() read it.
CREATE FUNCTION audit._row_ends()
RETURNS TABLE (event_id bigint, txid xid8, object_name text, partition text,
			   row_key jsonb, occurred_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.event_id, e.txid, e.object_name, e.detail ->> 'partition',
		   CASE WHEN e.command = 'UPDATE' THEN audit._old_row_key(e.row_key, e.old_row) END,
		   e.occurred_at
	  FROM audit.event e
	 WHERE e.kind = 'row'
	   AND (e.command = 'TRUNCATE'
			OR (e.command = 'UPDATE' AND audit._old_row_key(e.row_key, e.old_row) <> e.row_key))
$$;
COMMENT ON FUNCTION audit._row_ends() IS
	'Internal: the row events that end a row key (TRUNCATE, key-changing UPDATE), as audit.row_end notes them';
REVOKE ALL ON FUNCTION audit._row_ends() FROM PUBLIC;

-- One statement, one snapshot: what it fills from and who was under way
-- (a data-modifying WITH runs whether or not its output is read).
WITH filled AS (
	INSERT INTO audit.row_end (event_id, object_name, partition, row_key, occurred_at)
	SELECT r.event_id, r.object_name, r.partition, r.row_key, r.occurred_at
	  FROM audit._row_ends() r
)
INSERT INTO audit.row_end_pending (txid)
SELECT x FROM pg_catalog.pg_snapshot_xip(pg_catalog.pg_current_snapshot()) x;

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
	last_at timestamptz;
BEGIN
	PERFORM audit._history_check_key(rel, row_key);
	IF at IS NULL THEN
		RAISE EXCEPTION 'at must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT e.event_id, e.occurred_at, e.command, e.new_row,
		   e.detail ->> 'partition' AS part
	  INTO last
	  FROM audit.event e
	 WHERE e.row_key = row_key AND e.kind = 'row' AND e.object_name = name
	   AND e.occurred_at <= at
	 ORDER BY e.event_id DESC LIMIT 1;
	IF FOUND THEN
		last_at := last.occurred_at;
	END IF;
	-- Archived events keep no table, key or time: any of them may be a
	-- later change of this row than the last one still here.
	PERFORM audit._archived_check(last_at, 'the row''s state at that moment');
	IF last_at IS NULL OR last.command = 'DELETE' THEN
		RETURN NULL;
	END IF;
	-- Gone since: an UPDATE that gave it another key, or a TRUNCATE of its
	-- table (or partition); noted in audit.row_end, or among the events of
	-- the few transactions under way during the update to 0.6.
	IF EXISTS (SELECT FROM audit.row_end g
				WHERE g.row_key = row_key AND g.object_name = name
				  AND g.event_id > last.event_id AND g.occurred_at <= at)
	   OR EXISTS (SELECT FROM audit.row_end g
				   WHERE g.object_name = name AND g.event_id > last.event_id
					 AND g.row_key IS NULL AND g.occurred_at <= at
					 AND (g.partition IS NULL OR g.partition IS NOT DISTINCT FROM last.part))
	   OR EXISTS (SELECT FROM audit.row_end_pending p
				   JOIN audit.event e ON e.txid = p.txid
				  WHERE e.event_id > last.event_id AND e.occurred_at <= at
					AND e.kind = 'row' AND e.object_name = name
					AND ((e.command = 'TRUNCATE'
						  AND (e.detail ->> 'partition' IS NULL
							   OR e.detail ->> 'partition' IS NOT DISTINCT FROM last.part))
						 OR (e.command = 'UPDATE' AND e.row_key <> row_key
							 AND audit._old_row_key(e.row_key, e.old_row) = row_key))) THEN
		RETURN NULL;
	END IF;
	RETURN last.new_row;
END
$$;

-- ---------------------------------------------------------------------------
-- audit.row_end_check(): audit.row_end against the trail it is derived
-- from (audit.verify() does not look at it: it is not hashed).  Events of
-- the transactions in audit.row_end_pending are left out on both sides.
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.row_end_check()
RETURNS TABLE (problem text, event_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	WITH expected AS (
		SELECT r.event_id, r.object_name, r.partition, r.row_key, r.occurred_at
		  FROM audit._row_ends() r
		 WHERE NOT EXISTS (SELECT FROM audit.row_end_pending p WHERE p.txid = r.txid)
	), noted AS (
		SELECT g.event_id, g.object_name, g.partition, g.row_key, g.occurred_at
		  FROM audit.row_end g
		 WHERE NOT EXISTS (SELECT FROM audit.event e JOIN audit.row_end_pending p ON p.txid = e.txid
						    WHERE e.event_id = g.event_id)
	)
	SELECT 'not noted', x.event_id FROM (SELECT * FROM expected EXCEPT SELECT * FROM noted) x
	UNION ALL
	SELECT 'noted wrongly', y.event_id FROM (SELECT * FROM noted EXCEPT SELECT * FROM expected) y
	ORDER BY 2, 1
$$;
COMMENT ON FUNCTION audit.row_end_check() IS
	'Checks audit.row_end (derived, not hashed; read by row_as_of()) against the trail: each row event it should note and does not, or notes differently; no rows: consistent';
REVOKE ALL ON FUNCTION audit.row_end_check() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.row_end_check() TO audit_reader;
