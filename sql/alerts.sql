-- Real-time alerts (0.4): the ready-made rules of audit.alert_rules, and
-- audit.alert_rule_set(), which creates and changes rules, refuses what
-- could not be applied, and records each change as a config event.  The
-- alerts themselves (NOTIFY audit_alert) are tested by test/t/071_alerts.pl.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_ext;
RESET client_min_messages;

SELECT name, kind, enabled, params, created_by FROM audit.alert_rule_list ORDER BY rule_id;

-- Change a rule: enabled, and params when given.
SELECT name, enabled, params FROM audit.alert_rule_set('rows_above', true, '{"rows": 10}');
SELECT name, enabled, params FROM audit.alert_rule_set('rows_above', false);
SELECT command, object_name, detail FROM audit.events
 WHERE kind = 'config' AND command = 'ALERT RULE' ORDER BY event_id;

-- Create one: its kind is required; parameters left out take defaults.
SELECT name, kind, enabled, params, created_by = session_user AS by_me
  FROM audit.alert_rule_set('night_ddl', true,
       '{"from": "22:00", "to": "06:00", "timezone": "Europe/Paris"}', 'ddl_outside_window');

-- Refused, with nothing changed; the detail says why.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT audit.alert_rule_set('no_such_rule', true);
SELECT audit.alert_rule_set(NULL, true);
SELECT audit.alert_rule_set('rows_above', NULL);
SELECT audit.alert_rule_set('rows_above', true, NULL, 'role_change');
SELECT audit.alert_rule_set('x', true, NULL, 'no_such_kind');
SELECT audit.alert_rule_set('rows_above', true, '[1]');
SELECT audit.alert_rule_set('rows_above', true, '{"row": 10}');
SELECT audit.alert_rule_set('rows_above', true, '{"rows": -1}');
SELECT audit.alert_rule_set('rows_above', true, '{"rows": 1.5}');
SELECT audit.alert_rule_set('rows_above', true, '{"rows": "10"}');
SELECT audit.alert_rule_set('failed_logins', true, '{"seconds": 0}');
SELECT audit.alert_rule_set('role_change', true, '{"rows": 10}');
SELECT audit.alert_rule_set('night_ddl', true, '{"from": "25:00"}');
SELECT audit.alert_rule_set('night_ddl', true, '{"to": "8h"}');
SELECT audit.alert_rule_set('night_ddl', true, '{"days": [0]}');
SELECT audit.alert_rule_set('night_ddl', true, '{"days": 1}');
SELECT audit.alert_rule_set('night_ddl', true, '{"timezone": "Mars/Olympus"}');
\set VERBOSITY terse
SELECT count(*) AS rules, count(*) FILTER (WHERE enabled) AS enabled FROM audit.alert_rule_list;

-- Put things back as they were for the other tests.
SELECT enabled, params FROM audit.alert_rule_set('rows_above', true, '{"rows": 1000}');
SELECT enabled FROM audit.alert_rule_set('night_ddl', false);
