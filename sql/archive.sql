-- audit.archive(): what the regression cluster shows without an archive
-- directory (test/t/060_archive.pl writes and verifies bundles): bad input,
-- archiving disabled, a role without audit_admin; and verification's rule
-- for archived events (docs/FORMAT.md, "Archived events"), with an archive
-- row made by hand, rolled back.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
CREATE TABLE regress_arch (id int, note text);
INSERT INTO regress_arch VALUES (1, 'one'), (2, 'two');
SELECT audit.seal() AS blk \gset

SELECT audit.archive(NULL::bigint);
SELECT audit.archive(NULL::timestamptz);
SELECT audit.archive(0::bigint);
SELECT audit.archive(1000000000);
SELECT audit.archive(:blk::bigint);
SELECT audit.archive('-infinity'::timestamptz) IS NULL AS nothing_archived;
CREATE ROLE regress_arch_reader IN ROLE audit_reader;
SET ROLE regress_arch_reader;
SELECT audit.archive(now());
RESET ROLE;
DROP ROLE regress_arch_reader;
SELECT count(*) AS archives FROM audit.archives;

-- An archived event: its payload NULL, archive_id naming an archive whose
-- blocks hold it.  Its stored leaf hash stands for it.
BEGIN;
SELECT event_id AS ev, block_id AS evblk FROM audit.events
 WHERE object_name = 'public.regress_arch' AND command = 'INSERT' \gset
INSERT INTO audit.archive (archive_id, first_block, last_block, event_count, bundle, sha256)
	VALUES (1000, :evblk, :evblk, 1, '/nowhere/archive-1000', '\x00');
UPDATE audit.event SET occurred_at = NULL, kind = NULL, command = NULL, object_name = NULL,
	session_role = NULL, effective_role = NULL, client_addr = NULL, client_port = NULL,
	application_name = NULL, backend_pid = NULL, database = NULL, statement = NULL,
	rows_affected = NULL, class = NULL, statement_id = NULL, nesting_level = NULL,
	app_user = NULL, context = NULL, parameters = NULL, objects = NULL, sqlstate = NULL,
	message = NULL, detail = NULL, row_key = NULL, old_row = NULL, new_row = NULL,
	changed_columns = NULL, row_salt = NULL, archive_id = 1000
 WHERE event_id = :ev;
SELECT ok, problems, archived_events FROM audit.verify();
SELECT set_config('regress.ev', :'ev', true) IS NOT NULL AS set;
DO $$
BEGIN
	PERFORM audit.inclusion_proof(current_setting('regress.ev')::bigint);
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	RAISE NOTICE '%', regexp_replace(SQLERRM, '^event \d+', 'event N');
END $$;
-- an archive that does not cover its block, or none at all
UPDATE audit.archive SET first_block = :evblk + 1, last_block = :evblk + 1 WHERE archive_id = 1000;
SELECT problem, event_id = :ev AS it, detail FROM audit.verify_report();
UPDATE audit.event SET archive_id = 999 WHERE event_id = :ev;
SELECT problem, event_id = :ev AS it, detail FROM audit.verify_report();
-- archived, yet holding payload
UPDATE audit.archive SET first_block = :evblk, last_block = :evblk WHERE archive_id = 1000;
UPDATE audit.event SET archive_id = 1000, statement = 'INSERT INTO regress_arch ...' WHERE event_id = :ev;
SELECT problem, event_id = :ev AS it, detail FROM audit.verify_report();
-- payload removed with no archive_id: its leaf hash no longer matches
UPDATE audit.event SET archive_id = NULL, statement = NULL WHERE event_id = :ev;
SELECT problem, event_id = :ev AS it, detail ~ '^stored leaf hash' AS mismatch FROM audit.verify_report();
ROLLBACK;
SELECT ok, archived_events FROM audit.verify();
