-- A statement's events are found by statement_id; its statement event (the
-- text, who ran it) is the last event of kind 'statement' with that id: an
-- outer statement is recorded after everything it ran.  With
-- event_statement_idx on statement_id alone, finding that one event meant
-- reading every event of the statement — for a row of a bulk load, all the
-- load's row events, and for all its rows (the view audit.row_changes)
-- their square, unless the planner happened to memoize.  With kind in the
-- index (in the C collation: a byte comparison when rows are inserted),
-- any plan reads only the statement's few statement events.  Rebuilding
-- the index reads the whole trail once.
DROP INDEX audit.event_statement_idx;
CREATE INDEX event_statement_idx ON audit.event (statement_id, kind COLLATE "C", event_id);

CREATE OR REPLACE VIEW audit.row_changes AS
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
	                      WHERE st.statement_id = e.statement_id
	                        AND st.kind COLLATE "C" = 'statement'
	                      ORDER BY st.event_id DESC LIMIT 1) s ON true
	  LEFT JOIN audit.transactions t ON t.txid = e.txid
	 WHERE e.kind = 'row';

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
BEGIN
	PERFORM audit._history_check_key(rel, row_key);
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
