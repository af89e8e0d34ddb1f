-- Verifiable retention: audit.archive() writes whole sealed blocks to a
-- bundle on the server (docs/FORMAT.md, "Bundle") and then removes the
-- payload of their events, keeping event_id, txid, format_version and
-- leaf_hash, so verification still covers the whole history
-- (docs/FORMAT.md, "Archived events").

-- An archived event keeps no occurred_at nor kind.
ALTER TABLE audit.event ALTER COLUMN occurred_at DROP NOT NULL,
	ALTER COLUMN kind DROP NOT NULL;

-- One row per archive operation.  The column order is read by the C code
-- (src/archive.c): archive_id, first_block, last_block first.
CREATE TABLE audit.archive (
	archive_id   bigserial   PRIMARY KEY,
	first_block  bigint      NOT NULL,
	last_block   bigint      NOT NULL,
	event_count  bigint      NOT NULL,
	bundle       text        NOT NULL,
	sha256       bytea       NOT NULL,
	archived_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
	archived_by  name        NOT NULL DEFAULT SESSION_USER,
	CONSTRAINT archive_blocks_check CHECK (first_block >= 1 AND last_block >= first_block)
);
REVOKE ALL ON TABLE audit.archive FROM PUBLIC;
REVOKE ALL ON SEQUENCE audit.archive_archive_id_seq FROM PUBLIC;
COMMENT ON TABLE audit.archive IS
	'Archive operations: which blocks audit.archive() wrote to which bundle; read them through audit.archives';
COMMENT ON COLUMN audit.archive.bundle IS
	'The bundle directory on the server (under audit.archive_directory)';
COMMENT ON COLUMN audit.archive.sha256 IS
	'SHA-256 of the bundle''s SHA256SUMS file, which lists the SHA-256 of each of its files';

CREATE VIEW audit.archives AS
	SELECT a.archive_id, a.first_block, a.last_block, a.event_count, a.bundle,
	       a.sha256, a.archived_at, a.archived_by
	  FROM audit.archive a;
GRANT SELECT ON audit.archives TO audit_reader;
COMMENT ON VIEW audit.archives IS
	'Archive operations: blocks first_block..last_block were written to bundle and their events'' payload removed';

CREATE FUNCTION audit._archive_write(archive_id bigint, first_block bigint,
									 last_block bigint)
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'audit_archive_write'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION audit._archive_write(bigint, bigint, bigint) IS
	'Writes the bundle of blocks 1..last_block (payload of first_block..last_block) under audit.archive_directory; returns {bundle, sha256, event_count}';
REVOKE ALL ON FUNCTION audit._archive_write(bigint, bigint, bigint) FROM PUBLIC;

-- Archive the sealed blocks after the last archived one, up to up_to_block.
CREATE FUNCTION audit._archive(up_to_block bigint) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	internal boolean;
	first bigint;
	newest bigint;
	id bigint;
	written jsonb;
	detail jsonb;
BEGIN
	-- its own statements are no events: the config event says what it did
	internal := audit._internal(true);
	-- one archiver at a time: each continues after the last archived block
	LOCK TABLE audit.archive IN SHARE ROW EXCLUSIVE MODE;
	SELECT coalesce(max(a.last_block), 0) + 1 INTO first FROM audit.archive a;
	SELECT max(b.block_id) INTO newest FROM audit.block b;
	IF up_to_block > coalesce(newest, 0) THEN
		RAISE EXCEPTION 'block % is not sealed yet', up_to_block
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('The newest sealed block is %s; only sealed blocks can be archived.',
								  coalesce(newest, 0));
	END IF;
	IF up_to_block < first THEN
		RAISE NOTICE 'nothing to archive: blocks up to % are archived already', first - 1;
		internal := audit._internal(false);
		RETURN NULL;
	END IF;
	id := nextval('audit.archive_archive_id_seq');
	written := audit._archive_write(id, first, up_to_block);
	UPDATE audit.event e
	   SET occurred_at = NULL, kind = NULL, command = NULL, object_name = NULL,
	       session_role = NULL, effective_role = NULL, client_addr = NULL,
	       client_port = NULL, application_name = NULL, backend_pid = NULL,
	       database = NULL, statement = NULL, rows_affected = NULL,
	       class = NULL, statement_id = NULL, nesting_level = NULL,
	       app_user = NULL, context = NULL, parameters = NULL, objects = NULL,
	       sqlstate = NULL, message = NULL, detail = NULL, row_key = NULL,
	       old_row = NULL, new_row = NULL, changed_columns = NULL,
	       row_salt = NULL, erasure = NULL, archive_id = id
	  FROM audit.txn t, audit.block b1, audit.block b2
	 WHERE b1.block_id = first AND b2.block_id = up_to_block
	   AND t.position BETWEEN b1.first_position AND b2.last_position
	   AND e.txid = t.txid;
	INSERT INTO audit.archive (archive_id, first_block, last_block, event_count, bundle, sha256)
		VALUES (id, first, up_to_block, (written->>'event_count')::bigint,
				written->>'bundle', decode(written->>'sha256', 'hex'));
	detail := jsonb_build_object('archive_id', id, 'first_block', first,
								 'last_block', up_to_block) || written;
	PERFORM audit._record_config('ARCHIVE', written->>'bundle', detail);
	internal := audit._internal(false);
	RETURN detail;
END
$$;
COMMENT ON FUNCTION audit._archive(bigint) IS
	'The work of audit.archive(): blocks after the last archived one up to up_to_block';
REVOKE ALL ON FUNCTION audit._archive(bigint) FROM PUBLIC;

CREATE FUNCTION audit.archive(up_to_block bigint) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF up_to_block IS NULL THEN
		RAISE EXCEPTION 'up_to_block must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF up_to_block < 1 THEN
		RAISE EXCEPTION 'up_to_block must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN audit._archive(up_to_block);
END
$$;
COMMENT ON FUNCTION audit.archive(bigint) IS
	'Archives the sealed blocks after the last archived one up to up_to_block: writes their bundle under audit.archive_directory, removes their events'' payload; returns what it did, NULL if nothing';
REVOKE ALL ON FUNCTION audit.archive(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.archive(bigint) TO audit_admin;

CREATE FUNCTION audit.archive(before timestamptz) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	last bigint;
BEGIN
	IF before IS NULL THEN
		RAISE EXCEPTION 'before must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT max(b.block_id) INTO last FROM audit.block b WHERE b.sealed_at < before;
	IF last IS NULL THEN
		RAISE NOTICE 'nothing to archive: no block was sealed before %', before;
		RETURN NULL;
	END IF;
	RETURN audit._archive(last);
END
$$;
COMMENT ON FUNCTION audit.archive(timestamptz) IS
	'Archives the blocks sealed before a time (after the last archived one): writes their bundle under audit.archive_directory, removes their events'' payload; returns what it did, NULL if nothing';
REVOKE ALL ON FUNCTION audit.archive(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.archive(timestamptz) TO audit_admin;

-- audit.verify() reports how many events are archived (a new last column).
DROP FUNCTION audit.verify(bigint, bigint);
DROP FUNCTION audit.verify(jsonb);

CREATE FUNCTION audit.verify(
	from_block bigint DEFAULT NULL,
	to_block bigint DEFAULT NULL,
	OUT ok boolean,
	OUT blocks_checked bigint,
	OUT transactions_checked bigint,
	OUT events_checked bigint,
	OUT unsealed_events bigint,
	OUT last_verified_block bigint,
	OUT head_hash bytea,
	OUT problems bigint,
	OUT first_problem text,
	OUT archived_events bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'audit_verify'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION audit.verify(bigint, bigint) IS
	'Check every event, transaction digest, block, link and signature (or the blocks of a range); one summary row (archived_events: checked by their stored leaf hash only)';

CREATE FUNCTION audit.verify(
	digests jsonb,
	OUT ok boolean,
	OUT blocks_checked bigint,
	OUT transactions_checked bigint,
	OUT events_checked bigint,
	OUT unsealed_events bigint,
	OUT last_verified_block bigint,
	OUT head_hash bytea,
	OUT problems bigint,
	OUT first_problem text,
	OUT archived_events bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'audit_verify_checkpoints'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION audit.verify(jsonb) IS
	'Check the whole trail, and that it still extends each saved checkpoint (from audit.digest())';
REVOKE ALL ON FUNCTION audit.verify(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.verify(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.verify(bigint, bigint) TO audit_reader;
GRANT EXECUTE ON FUNCTION audit.verify(jsonb) TO audit_reader;
