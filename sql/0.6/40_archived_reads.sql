-- ---------------------------------------------------------------------------
-- table_as_of() and transaction() next to archives (0.6, see
-- 05_archived_check.sql): 0.4's table_as_of() looked for archived row
-- events of the table by table name, which archiving nulls, and so never
-- found them; transaction() listed an archived transaction's events as
-- rows of NULLs.  Both now refuse (55000), as row_as_of() does.
-- history() lists the row's events still in the trail, and says with a
-- NOTICE that older ones are archived.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION audit.table_as_of(rel regclass, at timestamptz)
RETURNS TABLE (row_key jsonb, "row" jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text := audit._history_table(rel);
BEGIN
	IF at IS NULL THEN
		RAISE EXCEPTION 'at must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM audit._history_key_columns(rel);
	-- Which rows archived events wrote cannot be told: with any archive,
	-- the table's state is refused.
	PERFORM audit._archived_check(NULL, 'the table''s state at that moment');
	RETURN QUERY
	WITH ev AS MATERIALIZED (
		SELECT e.event_id, e.command, e.row_key AS k, e.old_row, e.new_row,
			   e.detail ->> 'partition' AS part
		  FROM audit.event e
		 WHERE e.kind = 'row' AND e.object_name = name AND e.occurred_at <= at
	), truncated AS (
		SELECT t.part, pg_catalog.max(t.event_id) AS upto
		  FROM ev t WHERE t.command = 'TRUNCATE' GROUP BY t.part
	), changes AS (
		-- each row event; an UPDATE that changed the key also ends the old key
		SELECT c.event_id, c.command, c.k, c.new_row, c.part
		  FROM ev c WHERE c.command <> 'TRUNCATE'
		UNION ALL
		SELECT u.event_id, 'DELETE', u.old_key, NULL, u.part
		  FROM (SELECT c.*, audit._old_row_key(c.k, c.old_row) AS old_key
				  FROM ev c WHERE c.command = 'UPDATE') u
		 WHERE u.old_key <> u.k
	), latest AS (
		SELECT DISTINCT ON (c.k) c.event_id, c.command, c.k, c.new_row, c.part
		  FROM changes c
		 ORDER BY c.k, c.event_id DESC
	)
	SELECT l.k, l.new_row
	  FROM latest l
	 WHERE l.command <> 'DELETE'
	   -- a partition named: its rows only (its leaves, for a sub-partitioned one)
	   AND (name = (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
					  FROM pg_catalog.pg_class c
					  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
					 WHERE c.oid = rel)
			OR l.part IN (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
							FROM pg_catalog.pg_partition_tree(rel) p
							JOIN pg_catalog.pg_class c ON c.oid = p.relid
							JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
						   WHERE p.isleaf))
	   AND NOT EXISTS (SELECT FROM truncated t
					    WHERE t.upto > l.event_id
						  AND (t.part IS NULL OR t.part IS NOT DISTINCT FROM l.part))
	 ORDER BY l.k;
END
$$;

CREATE OR REPLACE FUNCTION audit.transaction(txid xid8)
RETURNS TABLE (event_id bigint, occurred_at timestamptz, kind text, class text,
			   command text, object_name text, statement_id bigint, nesting_level integer,
			   statement text, rows_affected bigint, row_key jsonb, old_row jsonb,
			   new_row jsonb, changed_columns jsonb, session_role text,
			   effective_role text, app_user text, client_addr inet,
			   application_name text, sealed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF txid IS NULL THEN
		RAISE EXCEPTION 'txid must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF EXISTS (SELECT FROM audit.event e WHERE e.txid = txid AND e.archive_id IS NOT NULL) THEN
		RAISE EXCEPTION 'transaction % is archived', txid
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Its events keep their ids and hashes here; what they recorded is in the bundle.',
				  HINT = 'Read it from the archive bundle (audit.archives).';
	END IF;
	RETURN QUERY
	SELECT e.event_id, e.occurred_at, e.kind, e.class, e.command, e.object_name,
		   e.statement_id, e.nesting_level, e.statement, e.rows_affected, e.row_key,
		   CASE WHEN e.kind = 'row' AND e.command = 'UPDATE' THEN e.new_row || e.old_row
				ELSE e.old_row END,
		   e.new_row, e.changed_columns, e.session_role, e.effective_role, e.app_user,
		   e.client_addr, e.application_name, b.block_id IS NOT NULL
	  FROM audit.event e
	  LEFT JOIN audit.transactions b ON b.txid = e.txid
	 WHERE e.txid = txid
	 ORDER BY e.event_id;
END
$$;

CREATE OR REPLACE FUNCTION audit.history(rel regclass, row_key jsonb)
RETURNS TABLE (event_id bigint, occurred_at timestamptz, txid xid8, operation text,
			   key jsonb, old_row jsonb, new_row jsonb, changed_columns jsonb,
			   partition text, session_role text, effective_role text, app_user text,
			   client_addr inet, client_port integer, application_name text,
			   statement text, statement_id bigint, sealed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text := audit._history_table(rel);
	wanted jsonb := row_key;
	horizon timestamptz;
BEGIN
	PERFORM audit._history_check_key(rel, row_key);
	horizon := audit._archive_horizon();
	IF horizon IS NOT NULL THEN
		RAISE NOTICE 'events before % are archived and not listed', horizon
			USING HINT = 'Read them from the archive bundles (audit.archives).';
	END IF;
	RETURN QUERY
	WITH RECURSIVE lineage(k, before) AS (
		SELECT wanted, NULL::bigint
		UNION
		SELECT audit._old_row_key(e.row_key, e.old_row), e.event_id
		  FROM lineage l
		  JOIN audit.event e ON e.row_key = l.k
		 WHERE e.kind = 'row' AND e.object_name = name AND e.command = 'UPDATE'
		   AND (l.before IS NULL OR e.event_id < l.before)
		   AND audit._old_row_key(e.row_key, e.old_row) <> e.row_key
	)
	SELECT DISTINCT ON (e.event_id)
		   e.event_id, e.occurred_at, e.txid, e.command, e.row_key,
		   CASE WHEN e.command = 'UPDATE' THEN e.new_row || e.old_row ELSE e.old_row END,
		   e.new_row, e.changed_columns, e.detail ->> 'partition', s.session_role,
		   s.effective_role, s.app_user, s.client_addr, s.client_port,
		   s.application_name, s.statement, e.statement_id, t.block_id IS NOT NULL
	  FROM lineage l
	  JOIN audit.event e ON e.row_key = l.k
	  -- The statement that made the change, the outermost recorded: the last
	  -- statement event of its statement_id (an outer statement is recorded
	  -- after everything it ran), found in event_statement_idx.
	  LEFT JOIN LATERAL (SELECT st.statement, st.session_role, st.effective_role,
								st.app_user, st.client_addr, st.client_port,
								st.application_name
						   FROM audit.event st
						  WHERE st.statement_id = e.statement_id
							AND st.kind COLLATE "C" = 'statement'
						  ORDER BY st.event_id DESC LIMIT 1) s ON true
	  LEFT JOIN audit.transactions t ON t.txid = e.txid
	 WHERE e.kind = 'row' AND e.object_name = name
	   AND (l.before IS NULL OR e.event_id < l.before)
	 ORDER BY e.event_id;
END
$$;
