-- ---------------------------------------------------------------------------
-- Who may do what in schema audit: the final word, least privilege.
--
-- This part runs last, after every other 0.4 part, on both paths to 0.4
-- (CREATE EXTENSION runs 0.1 and the updates; ALTER EXTENSION the updates).
-- Every grant the earlier scripts made on the schema's tables, sequences and
-- functions is taken back, from PUBLIC and from both roles, and given again
-- from the lists below, so these lists are the whole truth:
--
--   PUBLIC        USAGE on the schema and EXECUTE on audit.set_context()
--                 (a pooled application names its user; it reads nothing);
--   audit_reader  SELECT on every view, and on audit.chain (the chain id,
--                 which audit_verify reads in live mode); EXECUTE on the
--                 read-only functions (verification, checkpoints, proofs,
--                 Merkle primitives) and on audit._row_key_columns(), which
--                 the view audit.tracked_tables calls (a function in a view
--                 is called with the rights of whoever reads the view);
--   audit_admin   what audit_reader may (it is a member), and EXECUTE on the
--                 functions that change things: track/untrack, sealing,
--                 retention (archive) and erasure (redact).
--
-- Everything else -- the tables, the sequences, trigger and event-trigger
-- functions, internal helpers (names starting with "_") and any function a
-- later version adds without listing it here -- is for the extension's
-- owner alone.  Functions are listed by name: every overload of a name
-- gets the same grant.  test/pgtap/access.sql holds the same lists and
-- checks every object of the schema against them.
-- ---------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC, audit_reader, audit_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA audit FROM PUBLIC, audit_reader, audit_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC, audit_reader, audit_admin;
REVOKE ALL ON SCHEMA audit FROM PUBLIC, audit_reader, audit_admin;

GRANT USAGE ON SCHEMA audit TO PUBLIC, audit_reader, audit_admin;
GRANT SELECT ON TABLE audit.chain TO audit_reader;

DO $grants$
DECLARE
	public_functions CONSTANT text[] := '{set_context}';
	reader_functions CONSTANT text[] := '{verify, verify_report, digest, public_key,
		inclusion_proof, consistency_proof, verify_inclusion_proof,
		verify_consistency_proof, merkle_root, merkle_inclusion_path,
		merkle_consistency_path, merkle_verify_inclusion,
		merkle_verify_consistency, export, history, row_as_of, table_as_of,
		transaction, activity, _row_key_columns}';
	admin_functions CONSTANT text[] := '{seal, track, untrack, track_schema,
		untrack_schema, archive, redact, alert_rule_set}';
	obj record;
BEGIN
	FOR obj IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
				WHERE c.relnamespace = 'audit'::regnamespace AND c.relkind = 'v'
	LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO audit_reader', obj.rel);
	END LOOP;
	FOR obj IN SELECT f.fn, f.kind, f.grantee
				 FROM (SELECT p.oid::regprocedure AS fn,
							  CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind,
							  CASE WHEN p.proname = ANY (public_functions) THEN 'PUBLIC'
								   WHEN p.proname = ANY (reader_functions) THEN 'audit_reader'
								   WHEN p.proname = ANY (admin_functions) THEN 'audit_admin'
							  END AS grantee
						 FROM pg_catalog.pg_proc p
						WHERE p.pronamespace = 'audit'::regnamespace) f
				WHERE f.grantee IS NOT NULL
	LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON %s %s TO %s', obj.kind, obj.fn, obj.grantee);
	END LOOP;
END
$grants$;
