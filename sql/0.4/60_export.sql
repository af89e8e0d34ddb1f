-- ---------------------------------------------------------------------------
-- Export for log platforms (README, "Export for log platforms").
--
-- audit.export() returns the trail as one JSON document per event, in
-- event_id order, from the event after after_event on: a shipper resumes
-- from the last event.id it received.  The document is built in C
-- (src/event_json.c) by audit._export_document(), the same code that
-- writes audit.log_to_server's log lines, so both carry the same fields.
-- ---------------------------------------------------------------------------

CREATE FUNCTION audit._export_document(e audit.event, block_id bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'audit_export_document'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION audit._export_document(audit.event, bigint) IS
	'Internal: the export document of one audit.event row (audit.export())';

CREATE FUNCTION audit.export(after_event bigint DEFAULT 0,
							 max_events int DEFAULT 10000)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF after_event IS NULL OR max_events IS NULL THEN
		RAISE EXCEPTION 'audit.export() arguments must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass 0 as after_event to start from the first event.';
	END IF;
	IF after_event < 0 THEN
		RAISE EXCEPTION 'after_event must not be negative'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the event.id of the last event exported, or 0 to start from the first.';
	END IF;
	IF max_events < 1 OR max_events > 1000000 THEN
		RAISE EXCEPTION 'max_events must be between 1 and 1000000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT audit._export_document(e, t.block_id)
		  FROM audit.event e
		  LEFT JOIN audit.transactions t ON t.txid = e.txid
		 WHERE e.event_id > after_event
		 ORDER BY e.event_id
		 LIMIT max_events;
END
$$;
COMMENT ON FUNCTION audit.export(bigint, int) IS
	'The trail for log platforms: one JSON document per event after after_event, in event_id order, at most max_events (README, "Export for log platforms")';
