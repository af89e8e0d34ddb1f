-- pgTAP: the audit.* settings, their documented defaults, and who may
-- change them.  The filtering settings are superuser-only (PGC_SUSET, so
-- that nobody can switch off the auditing of their own session);
-- audit.app_user and audit.context are for the application (PGC_USERSET).
-- All in one transaction that is rolled back.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SELECT plan(32);

-- These settings exist under the reserved prefix (others may come).
SELECT set_has(
	$$SELECT name FROM pg_settings WHERE name LIKE 'audit.%'$$,
	$$VALUES ('audit.app_user'), ('audit.block_max_transactions'), ('audit.context'),
	         ('audit.exclude_relations'), ('audit.exclude_roles'), ('audit.log'),
	         ('audit.log_catalog'), ('audit.log_parameter_max_bytes'),
	         ('audit.log_parameters'), ('audit.seal_interval'), ('audit.signing_key'),
	         ('audit.statement_max_bytes')$$,
	'the audit.* settings include these twelve');
-- Of all of them, only the application's two are open to every role.
SELECT set_eq(
	$$SELECT name FROM pg_settings WHERE name LIKE 'audit.%' AND context = 'user'$$,
	ARRAY['audit.app_user', 'audit.context'],
	'the only audit.* settings an ordinary role may change are audit.app_user and audit.context');

-- Each one: type, default (boot value), unit, and who may change it.
CREATE TEMP TABLE documented (name text, want text);
INSERT INTO documented VALUES
	('audit.log',                     'string|ddl, write, role, misc||superuser'),
	('audit.log_catalog',             'bool|on||superuser'),
	('audit.exclude_roles',           'string|||superuser'),
	('audit.exclude_relations',       'string|||superuser'),
	('audit.log_parameters',          'bool|off||superuser'),
	('audit.log_parameter_max_bytes', 'integer|4096|B|superuser'),
	('audit.statement_max_bytes',     'integer|1048576|B|superuser'),
	('audit.app_user',                'string|||user'),
	('audit.context',                 'string|||user'),
	('audit.seal_interval',           'integer|1000|ms|sighup'),
	('audit.block_max_transactions',  'integer|10000||sighup'),
	('audit.signing_key',             'string|||sighup');
SELECT is(
	(SELECT format('%s|%s|%s|%s', vartype, boot_val, coalesce(unit, ''), context)
	   FROM pg_settings s WHERE s.name = d.name),
	d.want,
	d.name || ': type|default|unit|context is ' || d.want)
  FROM documented d ORDER BY d.name;

SELECT is(
	(SELECT min_val || '..' || max_val FROM pg_settings
	  WHERE name = 'audit.log_parameter_max_bytes'),
	'0..536870911', 'audit.log_parameter_max_bytes: 0 (no cap) up to 512 MB');
SELECT is(
	(SELECT min_val || '..' || max_val FROM pg_settings
	  WHERE name = 'audit.statement_max_bytes'),
	'0..536870911', 'audit.statement_max_bytes: 0 (no cap) up to 512 MB');

-- In this fresh database nothing overrides them: what is in effect is the
-- default.
SELECT is(
	(SELECT string_agg(name, ', ' ORDER BY name) FROM pg_settings JOIN documented USING (name)
	  WHERE setting IS DISTINCT FROM boot_val),
	NULL, 'each of them in effect is its default');
SELECT is(current_setting('audit.log'), 'ddl, write, role, misc',
	'current_setting(audit.log) is the default');

-- A role without superuser may not change the filtering settings, with SET
-- or set_config(): 42501.  (SET ROLE is inside the statement that fails,
-- so the failure undoes it.)
CREATE ROLE tap_settings_user;
SELECT throws_ok(
	format('SET ROLE tap_settings_user; SET %s = %L', name, value),
	'42501', format('permission denied to set parameter "%s"', name),
	'a non-superuser cannot SET ' || name)
  FROM (VALUES ('audit.log', 'none'),
               ('audit.log_catalog', 'off'),
               ('audit.exclude_roles', 'tap_settings_user'),
               ('audit.exclude_relations', 'public.t'),
               ('audit.log_parameters', 'on'),
               ('audit.log_parameter_max_bytes', '1'),
               ('audit.statement_max_bytes', '1')) AS v(name, value);
SELECT throws_ok(
	$$SET ROLE tap_settings_user; SELECT set_config('audit.log', 'none', false)$$,
	'42501', 'permission denied to set parameter "audit.log"',
	'a non-superuser cannot set_config() audit.log either');
SELECT throws_ok(
	$$SET ROLE tap_settings_user; RESET audit.log$$,
	'42501', 'permission denied to set parameter "audit.log"',
	'nor RESET it');
SELECT throws_ok(
	$$SET ROLE tap_settings_user; SELECT current_setting('audit.signing_key')$$,
	'42501', NULL,
	'a non-superuser cannot even read audit.signing_key');
SELECT is(current_user::text, session_user::text, 'each failure undid its SET ROLE');
SELECT is(current_setting('audit.log'), 'ddl, write, role, misc',
	'audit.log is unchanged after the refused attempts');

-- The application's settings are open to every role.
SELECT lives_ok(
	$$SET ROLE tap_settings_user; SET audit.app_user = 'alice'; SET audit.context = '{"request": 1}'; RESET ROLE$$,
	'a non-superuser may SET audit.app_user and audit.context');
SELECT is(current_setting('audit.app_user') || ' ' || current_setting('audit.context'),
	'alice {"request": 1}', 'and they hold');

SELECT * FROM finish();
ROLLBACK;
