-- Who may see and touch the trail: audit_reader reads, nobody writes.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;
SELECT current_user AS superuser \gset

-- The roles exist, cannot log in, and admin includes reader.
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('audit_reader', 'audit_admin') ORDER BY rolname;
SELECT pg_has_role('audit_admin', 'audit_reader', 'MEMBER') AS admin_reads;

CREATE ROLE regress_mallory LOGIN;
CREATE ROLE regress_auditor LOGIN IN ROLE audit_reader;
CREATE TABLE regress_mine (a int);
ALTER TABLE regress_mine OWNER TO regress_mallory;

-- An ordinary role sees nothing in audit and can write nothing there.
\c - regress_mallory
INSERT INTO regress_mine VALUES (1);
SELECT count(*) FROM audit.events;
SELECT * FROM audit.verify();
SELECT nextval('audit.event_id_seq');
INSERT INTO audit.event (event_id) VALUES (1);
UPDATE audit.event SET statement = 'forged';
DELETE FROM audit.event;
TRUNCATE audit.event;

-- A reader reads the view and verifies, but cannot read the table behind
-- the view, nor write anything.
\c - regress_auditor
SELECT count(*) > 0 AS sees_events FROM audit.events;
SELECT statement, session_role, effective_role FROM audit.events
 WHERE object_name = 'public.regress_mine' AND session_role <> :'superuser'
 ORDER BY event_id;
SELECT ok FROM audit.verify();
SELECT count(*) FROM audit.event;
INSERT INTO audit.event (event_id) VALUES (1);
UPDATE audit.event SET statement = 'forged';
DELETE FROM audit.event;
UPDATE audit.events SET statement = 'forged';
DELETE FROM audit.events;
SELECT nextval('audit.event_id_seq');

\c - :superuser
SELECT ok FROM audit.verify();
DROP TABLE regress_mine;
DROP ROLE regress_mallory;
DROP ROLE regress_auditor;
