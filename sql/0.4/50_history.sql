-- ---------------------------------------------------------------------------
-- History and point-in-time reading (README, "History and point-in-time").
--
-- audit.history(), row_as_of(), table_as_of(), transaction() and
-- activity() read the trail; the views ddl_history, logins, errors,
-- role_changes and sessions name its common questions.  All are read
-- paths: PL/pgSQL and SQL, SECURITY DEFINER (they read audit.event, which
-- audit_reader may not), search_path pinned, everything qualified.
--
-- How rows are found.  A row event names the tracked table in object_name
-- (a partition's rows too; the partition is in detail) and its key after
-- the change in row_key (before it, for DELETE).  event_row_key_idx (hash,
-- below) finds one key's events; a hash index stores no NULLs, so only row
-- events pay for it.  event_occurred_at_idx serves time ranges.  Both are
-- plain column indexes: the C insert path maintains no expression or
-- partial index.
--
-- Rows whose key changed.  An UPDATE that changes the key is recorded
-- under the new key; the old key's values are in old_row.  history(K)
-- follows such a row back: it lists K's events and, for each UPDATE that
-- gave a row the key K, the events of its previous key before that UPDATE
-- (and so on).  It does not follow a row forward to a later key: that
-- UPDATE is recorded under the new key, which names the row from then on
-- (call history() with it).  row_as_of(K, at) is the row that had the key
-- K at that moment.
-- ---------------------------------------------------------------------------

CREATE INDEX event_row_key_idx ON audit.event USING hash (row_key);
CREATE INDEX event_occurred_at_idx ON audit.event (occurred_at);

-- The key a row had before an UPDATE: row_key with the previous values of
-- the key columns that changed (an UPDATE's old_row holds those only).
CREATE FUNCTION audit._old_row_key(row_key jsonb, old_row jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.jsonb_object_agg(k.key, COALESCE(old_row -> k.key, k.value))
	  FROM pg_catalog.jsonb_each(row_key) k
$$;
COMMENT ON FUNCTION audit._old_row_key(jsonb, jsonb) IS
	'Internal: the row key before an UPDATE, from its row_key and old_row';

-- The table whose name row events of rel carry: rel itself or the tracked
-- table it is a partition of.  Refuses NULL, an OID of no relation, and a
-- table that was never tracked (a table tracked once and untracked since
-- keeps its history).
CREATE FUNCTION audit._history_table(rel regclass) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	names text[];
	tracked text;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'table must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT pg_catalog.array_agg(pg_catalog.format('%I.%I', n.nspname, c.relname) ORDER BY a.depth),
		   (pg_catalog.array_agg(pg_catalog.format('%I.%I', n.nspname, c.relname) ORDER BY a.depth)
				FILTER (WHERE t.relid IS NOT NULL))[1]
	  INTO names, tracked
	  FROM (SELECT rel AS relid, 0 AS depth
			UNION ALL
			SELECT p.relid, p.level + 1 FROM pg_catalog.pg_partition_ancestors(rel) WITH ORDINALITY p(relid, level)
			 WHERE p.relid <> rel) a
	  JOIN pg_catalog.pg_class c ON c.oid = a.relid
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	  LEFT JOIN audit.tracked_table t ON t.relid = a.relid;
	IF names IS NULL THEN
		RAISE EXCEPTION 'relation with OID % does not exist', rel::oid
			USING ERRCODE = 'undefined_table';
	END IF;
	IF tracked IS NOT NULL THEN
		RETURN tracked;
	END IF;
	-- Not tracked now: was it (or a table it is a partition of) ever?
	SELECT e.object_name INTO tracked
	  FROM audit.event e
	 WHERE e.kind = 'config' AND e.command = 'TRACK' AND e.object_name = ANY (names)
	 ORDER BY pg_catalog.array_position(names, e.object_name) LIMIT 1;
	IF tracked IS NULL THEN
		RAISE EXCEPTION 'table "%" is not tracked', names[1]
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'It has never been tracked: the trail holds no row events of it.',
				  HINT = 'Track it with audit.track(); history starts then.';
	END IF;
	RETURN tracked;
END
$$;
COMMENT ON FUNCTION audit._history_table(regclass) IS
	'Internal: the tracked table name row events of a table carry; refuses tables never tracked';

-- The columns row keys of rel are made of; refuses a table without any.
CREATE FUNCTION audit._history_key_columns(rel regclass) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text[] := audit._row_key_columns(rel);
BEGIN
	IF cols IS NULL THEN
		RAISE EXCEPTION 'table "%" has no row key', rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'It has no primary key or replica identity index: its row events have no row_key.';
	END IF;
	RETURN cols;
END
$$;
COMMENT ON FUNCTION audit._history_key_columns(regclass) IS
	'Internal: the row key columns of a table; refuses a table without a primary key or replica identity index';

-- Refuses a row key that is NULL, not an object, or not made of exactly
-- the table's key columns (as row capture picks them).
CREATE FUNCTION audit._history_check_key(rel regclass, row_key jsonb) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	want text[];
	given text[];
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
END
$$;
COMMENT ON FUNCTION audit._history_check_key(regclass, jsonb) IS
	'Internal: refuses a row_key that is not made of exactly the table''s key columns';

-- Refuses a NULL or inverted time range.
CREATE FUNCTION audit._history_check_range(since timestamptz, until timestamptz) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF since IS NULL OR until IS NULL THEN
		RAISE EXCEPTION 'time range bounds must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF since > until THEN
		RAISE EXCEPTION 'time range is inverted: since (%) is after until (%)', since, until
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION audit._history_check_range(timestamptz, timestamptz) IS
	'Internal: refuses a NULL or inverted time range';

-- ---------------------------------------------------------------------------
-- audit.history(rel, row_key)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.history(rel regclass, row_key jsonb)
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
	  -- after the ones it ran), found backwards in its transaction, not among
	  -- every event of a bulk statement (audit.row_changes does that).
	  LEFT JOIN LATERAL (SELECT st.statement, st.session_role, st.effective_role,
								st.app_user, st.client_addr, st.client_port,
								st.application_name
						   FROM audit.event st
						  WHERE st.txid = e.txid AND st.event_id >= e.statement_id
							-- bounded by the transaction's last event, whichever
							-- index the planner walks back
							AND st.event_id <= (SELECT pg_catalog.max(x.event_id) FROM audit.event x
												 WHERE x.txid = e.txid)
							-- "+ 0": not through event_statement_idx
							AND st.statement_id + 0 = e.statement_id AND st.kind = 'statement'
						  ORDER BY st.txid DESC, st.event_id DESC LIMIT 1) s ON true
	  LEFT JOIN audit.transactions t ON t.txid = e.txid
	 WHERE e.kind = 'row' AND e.object_name = name
	   AND (l.before IS NULL OR e.event_id < l.before)
	 ORDER BY e.event_id;
END
$$;
COMMENT ON FUNCTION audit.history(regclass, jsonb) IS
	'Every recorded change to one row of a tracked table, oldest first, with the whole previous row, who, from where, the statement and whether it is sealed; follows the row back through UPDATEs that changed its key';

-- ---------------------------------------------------------------------------
-- audit.row_as_of(rel, row_key, at)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.row_as_of(rel regclass, row_key jsonb, at timestamptz)
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
	-- Gone since: a TRUNCATE of its table (or partition), or an UPDATE that
	-- gave it another key.
	IF EXISTS (SELECT FROM audit.event e
				WHERE e.occurred_at >= last.occurred_at AND e.occurred_at <= at
				  AND e.event_id > last.event_id AND e.kind = 'row' AND e.object_name = name
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
COMMENT ON FUNCTION audit.row_as_of(regclass, jsonb, timestamptz) IS
	'The row with that key as it was at that moment, as recorded (masked columns masked, excluded ones absent); NULL if it did not exist then or no change of it had been recorded yet';

-- ---------------------------------------------------------------------------
-- audit.table_as_of(rel, at)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.table_as_of(rel regclass, at timestamptz)
RETURNS TABLE (row_key jsonb, "row" jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text := audit._history_table(rel);
	archived bigint;
BEGIN
	IF at IS NULL THEN
		RAISE EXCEPTION 'at must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM audit._history_key_columns(rel);
	SELECT e.event_id INTO archived FROM audit.event e
	 WHERE e.kind = 'row' AND e.object_name = name AND e.occurred_at <= at
	   AND e.archive_id IS NOT NULL LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the table''s state at that moment was archived'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Row event %s, among others, is in an archive.', archived),
				  HINT = 'Read them from the archive bundle (audit.archives).';
	END IF;
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
COMMENT ON FUNCTION audit.table_as_of(regclass, timestamptz) IS
	'The rows of a tracked table at that moment, rebuilt from its row events (rows never changed since tracking started are not known; TRUNCATE empties), as recorded';

-- ---------------------------------------------------------------------------
-- audit.transaction(txid)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.transaction(txid xid8)
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
COMMENT ON FUNCTION audit.transaction(xid8) IS
	'Everything one transaction recorded, statements and rows, in order (an UPDATE''s old_row is the whole previous row)';

-- ---------------------------------------------------------------------------
-- audit.activity(role, app_user, client_addr, since, until)
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit.activity(role text DEFAULT NULL, app_user text DEFAULT NULL,
							   client_addr inet DEFAULT NULL,
							   since timestamptz DEFAULT pg_catalog.now() - interval '1 day',
							   until timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF audit.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	PERFORM audit._history_check_range(since, until);
	RETURN QUERY
	SELECT e.*
	  FROM audit.events e
	 WHERE e.occurred_at >= since AND e.occurred_at <= until AND e.kind <> 'row'
	   AND (role IS NULL OR e.session_role = role OR e.effective_role = role)
	   AND (app_user IS NULL OR e.app_user = app_user)
	   AND (client_addr IS NULL OR e.client_addr = client_addr)
	 ORDER BY e.occurred_at, e.event_id;
END
$$;
COMMENT ON FUNCTION audit.activity(text, text, inet, timestamptz, timestamptz) IS
	'A timeline of what a role (session or effective), application user or client address did between since and until (default: the last day); row events are left out (see history() and transaction())';

-- ---------------------------------------------------------------------------
-- Views for the DBA's common questions
-- ---------------------------------------------------------------------------
-- Statements of one class, as ddl_history and role_changes show them.
CREATE VIEW audit._class_statements AS
	SELECT e.event_id, e.occurred_at, e.txid, e.class, e.command, e.object_name,
		   e.objects, e.statement, e.nesting_level, e.session_role, e.effective_role,
		   e.app_user, e.client_addr, e.application_name, e.block_id IS NOT NULL AS sealed
	  FROM audit.events e
	 WHERE e.kind = 'statement';
COMMENT ON VIEW audit._class_statements IS
	'Internal: statement events with who, from where and whether sealed (audit.ddl_history, audit.role_changes)';

CREATE VIEW audit.ddl_history AS
	SELECT s.* FROM audit._class_statements s WHERE s.class = 'ddl';
COMMENT ON VIEW audit.ddl_history IS
	'Every recorded DDL statement (class ddl) that succeeded, with the objects it touched and who ran it from where';
COMMENT ON COLUMN audit.ddl_history.command IS 'Command tag: CREATE TABLE, ALTER TABLE, DROP INDEX, COMMENT, …';

CREATE VIEW audit.logins AS
	SELECT e.event_id, e.occurred_at, e.kind = 'login' AS succeeded, e.session_role,
		   e.database, e.client_addr, e.client_port, e.application_name, e.backend_pid,
		   e.detail ->> 'auth_method' AS auth_method, e.sqlstate, e.message
	  FROM audit.event e
	 WHERE e.kind IN ('login', 'login_failed');
COMMENT ON VIEW audit.logins IS
	'Logins and failed logins, with the role, client and (for failures) the reason';
COMMENT ON COLUMN audit.logins.event_id IS 'The login or login_failed event';
COMMENT ON COLUMN audit.logins.occurred_at IS 'When the login completed or failed';
COMMENT ON COLUMN audit.logins.succeeded IS 'true for a login, false for a failed one';
COMMENT ON COLUMN audit.logins.session_role IS 'The role that logged in, or tried to';
COMMENT ON COLUMN audit.logins.database IS 'The database asked for';
COMMENT ON COLUMN audit.logins.application_name IS 'application_name from the startup packet';
COMMENT ON COLUMN audit.logins.backend_pid IS 'The backend''s process id (with occurred_at, names the session in audit.sessions)';
COMMENT ON COLUMN audit.logins.auth_method IS 'Authentication method (trust, scram-sha-256, cert, …)';
COMMENT ON COLUMN audit.logins.sqlstate IS 'Failures: SQLSTATE (28P01 wrong password, 28000 no pg_hba.conf entry, 3D000 no such database, …)';
COMMENT ON COLUMN audit.logins.message IS 'Failures: the error message sent to the client';

CREATE VIEW audit.errors AS
	SELECT e.event_id, e.occurred_at, e.sqlstate, e.message, e.statement,
		   e.sqlstate = '42501' AS refused,
		   e.message LIKE 'audit_ext guard: %' AS guard_refusal,
		   (e.detail ->> 'failed_txid')::bigint AS failed_txid,
		   e.session_role, e.effective_role, e.app_user, e.client_addr,
		   e.application_name, e.backend_pid, e.detail
	  FROM audit.event e
	 WHERE e.kind = 'error';
COMMENT ON VIEW audit.errors IS
	'Statements that failed or were refused, the append-only guard''s refusals flagged';
COMMENT ON COLUMN audit.errors.event_id IS 'The error event';
COMMENT ON COLUMN audit.errors.occurred_at IS 'When the statement failed';
COMMENT ON COLUMN audit.errors.sqlstate IS 'The error''s SQLSTATE';
COMMENT ON COLUMN audit.errors.message IS 'The error message';
COMMENT ON COLUMN audit.errors.statement IS 'The SQL text that failed (passwords redacted)';
COMMENT ON COLUMN audit.errors.refused IS 'Refused for lack of privilege (SQLSTATE 42501), the guard''s refusals included';
COMMENT ON COLUMN audit.errors.guard_refusal IS 'Refused by audit_ext''s append-only guard (a change to the audit schema)';
COMMENT ON COLUMN audit.errors.failed_txid IS 'The transaction that rolled back, when it had one';
COMMENT ON COLUMN audit.errors.detail IS 'The error''s DETAIL, HINT, CONTEXT and position';

CREATE VIEW audit.role_changes AS
	SELECT s.* FROM audit._class_statements s WHERE s.class = 'role';
COMMENT ON VIEW audit.role_changes IS
	'Statements of class role that succeeded: GRANT, REVOKE, CREATE/ALTER/DROP ROLE (passwords redacted), SET ROLE, …';
COMMENT ON COLUMN audit.role_changes.command IS 'Command tag: GRANT, REVOKE, CREATE ROLE, ALTER ROLE, SET ROLE, …';

-- A session is a backend pid from a login event on: its events are those
-- of that pid, in occurred_at order, from the login to its logout (or,
-- without one, until the pid's next login).  Pids are reused, so the pid
-- alone names no session; the login time with it does.  Events are
-- ordered by occurred_at, not event_id: logins and logouts travel the
-- event queue and can be written after later events.
CREATE VIEW audit.sessions AS
	WITH marked AS (
		SELECT e.event_id, e.kind, e.occurred_at, e.backend_pid, e.nesting_level,
			   e.session_role, e.database, e.client_addr, e.client_port,
			   e.application_name, e.app_user, e.detail,
			   pg_catalog.max(CASE WHEN e.kind = 'login' THEN e.occurred_at END)
				   OVER (PARTITION BY e.backend_pid ORDER BY e.occurred_at, e.event_id
						 ROWS UNBOUNDED PRECEDING) AS login_at
		  FROM audit.event e
		 WHERE e.backend_pid IS NOT NULL
		   AND e.kind IN ('login', 'logout', 'statement', 'error')
	), bounded AS (
		SELECT m.*, pg_catalog.min(CASE WHEN m.kind = 'logout' THEN m.occurred_at END)
						OVER (PARTITION BY m.backend_pid, m.login_at) AS logout_at
		  FROM marked m
		 WHERE m.login_at IS NOT NULL
	)
	SELECT b.backend_pid, b.login_at, b.logout_at, b.logout_at - b.login_at AS duration,
		   (pg_catalog.array_agg(b.session_role) FILTER (WHERE b.kind = 'login'))[1] AS session_role,
		   (pg_catalog.array_agg(b.database) FILTER (WHERE b.kind = 'login'))[1] AS database,
		   (pg_catalog.array_agg(b.client_addr) FILTER (WHERE b.kind = 'login'))[1] AS client_addr,
		   (pg_catalog.array_agg(b.client_port) FILTER (WHERE b.kind = 'login'))[1] AS client_port,
		   (pg_catalog.array_agg(b.application_name) FILTER (WHERE b.kind = 'login'))[1] AS application_name,
		   (pg_catalog.array_agg(b.detail ->> 'auth_method') FILTER (WHERE b.kind = 'login'))[1] AS auth_method,
		   pg_catalog.count(*) FILTER (WHERE b.kind = 'statement' AND b.nesting_level = 0) AS statements,
		   pg_catalog.count(*) FILTER (WHERE b.kind = 'error') AS errors,
		   pg_catalog.array_agg(DISTINCT b.app_user) FILTER (WHERE b.app_user IS NOT NULL) AS app_users
	  FROM bounded b
	 WHERE b.logout_at IS NULL OR b.occurred_at <= b.logout_at
	 GROUP BY b.backend_pid, b.login_at, b.logout_at;
COMMENT ON VIEW audit.sessions IS
	'One row per recorded session (a login event, its backend pid and time): who, from where, login and logout time, duration, how many statements (reads the whole trail)';
COMMENT ON COLUMN audit.sessions.backend_pid IS 'The backend''s process id (reused over time: with login_at it names the session)';
COMMENT ON COLUMN audit.sessions.login_at IS 'When the login completed';
COMMENT ON COLUMN audit.sessions.logout_at IS 'When the session ended; NULL while it runs, or if its logout was not recorded (crash, audit.log_connections off)';
COMMENT ON COLUMN audit.sessions.duration IS 'logout_at - login_at';
COMMENT ON COLUMN audit.sessions.session_role IS 'The role that logged in';
COMMENT ON COLUMN audit.sessions.database IS 'The database';
COMMENT ON COLUMN audit.sessions.application_name IS 'application_name at login';
COMMENT ON COLUMN audit.sessions.auth_method IS 'Authentication method';
COMMENT ON COLUMN audit.sessions.statements IS 'Top-level statements recorded (the classes audit.log records; nested ones not counted)';
COMMENT ON COLUMN audit.sessions.errors IS 'Statements that failed or were refused';
COMMENT ON COLUMN audit.sessions.app_users IS 'Application users the session named with audit.set_context()';

-- Columns the views above share, commented once where no view-specific
-- comment was given.
DO $comments$
DECLARE
	shared CONSTANT jsonb := jsonb_build_object(
		'txid', 'Its transaction (audit.transaction() shows all of it)',
		'session_role', 'Who logged in (session_user)',
		'effective_role', 'Whose privileges applied (current_user)',
		'app_user', 'Application user set with audit.set_context()',
		'client_addr', 'Client address (NULL over a Unix socket)',
		'client_port', 'Client TCP port (NULL over a Unix socket)',
		'application_name', 'The session''s application_name',
		'backend_pid', 'The backend''s process id',
		'sealed', 'Whether its transaction is sealed in a block',
		'event_id', 'The event',
		'occurred_at', 'When it was recorded',
		'class', 'The statement''s class in audit.log',
		'object_name', 'Schema-qualified target, when the statement names a simple one',
		'objects', 'DDL: every object created, altered or dropped (CASCADE included), with its identity',
		'statement', 'The SQL text (passwords redacted)',
		'nesting_level', '0 when the client sent it; 1, 2, … when a function, DO block or procedure ran it');
	col record;
BEGIN
	FOR col IN SELECT a.attrelid::regclass AS rel, a.attname, shared ->> a.attname AS text
				 FROM pg_catalog.pg_attribute a
				WHERE a.attrelid IN ('audit.ddl_history'::regclass, 'audit.logins'::regclass,
									 'audit._class_statements'::regclass,
									 'audit.errors'::regclass, 'audit.role_changes'::regclass,
									 'audit.sessions'::regclass)
				  AND shared ? a.attname
				  AND pg_catalog.col_description(a.attrelid, a.attnum) IS NULL
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', col.rel, col.attname, col.text);
	END LOOP;
END
$comments$;
