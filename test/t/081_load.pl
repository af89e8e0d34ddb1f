# Copyright (c) audit_ext contributors
#
# 081_load.pl — 64 concurrent clients of mixed DDL and DML, on tracked and
# untracked tables, for a minute.  Every client's transactions touch the
# shared tables in one order (tracked, then untracked), so the workload
# itself cannot deadlock; one transaction in ten of each client creates a
# table of its own in a schema tracked for future tables (tracked by the
# extension's event trigger as it is created), indexes it, alters it, fills
# it and drops it, and one in twenty does the same in an untracked schema;
# one in fifty adds and drops an index on the shared tracked table.
#
#   - no client error (pgbench exits 0, and no transaction failed), no
#     ERROR and no deadlock in the server log, no error event in the trail;
#   - the tracked table's rows = INSERT - DELETE row events, its sum of v =
#     what the row events say; every row event names a statement event;
#     every per-client table was tracked (its rows have row events);
#   - after the load the background sealer alone seals everything within a
#     bounded wait; audit.verify() is ok.
#
# Knobs for a hand run: AUDIT_TEST_LOAD_SECONDS (default 60),
# AUDIT_TEST_LOAD_CLIENTS (default 64).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $SECONDS = $ENV{AUDIT_TEST_LOAD_SECONDS} // 60;
my $CLIENTS = $ENV{AUDIT_TEST_LOAD_CLIENTS} // 64;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
max_connections = @{[ $CLIENTS + 16 ]}
log_lock_waits = on
deadlock_timeout = 200ms
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(q{
	CREATE EXTENSION audit_ext;
	CREATE SCHEMA tracked;
	CREATE SCHEMA scratch;
	CREATE TABLE public.shared_tracked (id bigserial PRIMARY KEY, client int, v int NOT NULL);
	CREATE TABLE public.shared_plain (id bigserial PRIMARY KEY, client int, v int NOT NULL);
	SELECT audit.track('public.shared_tracked');
	SELECT audit.track_schema('tracked', include_future => true);
});

my $script = PostgreSQL::Test::Utils::tempdir() . '/mixed.sql';
PostgreSQL::Test::Utils::append_to_file($script, <<'EOF');
\set r random(1, 100)
\set v random(1, 1000)
BEGIN;
INSERT INTO public.shared_tracked (client, v) VALUES (:client_id, :v), (:client_id, :v + 1);
UPDATE public.shared_tracked SET v = v + 1
 WHERE id = (SELECT max(id) FROM public.shared_tracked WHERE client = :client_id);
DELETE FROM public.shared_tracked
 WHERE id = (SELECT min(id) FROM public.shared_tracked WHERE client = :client_id);
INSERT INTO public.shared_plain (client, v) VALUES (:client_id, :v);
UPDATE public.shared_plain SET v = v + 1 WHERE client = :client_id AND id % 7 = :v % 7;
COMMIT;
\if :r <= 10
CREATE TABLE tracked.t_:client_id (id int PRIMARY KEY, note text);
CREATE INDEX ON tracked.t_:client_id (note);
ALTER TABLE tracked.t_:client_id ADD COLUMN n int DEFAULT 1;
INSERT INTO tracked.t_:client_id SELECT g, 'row ' || g FROM generate_series(1, 5) g;
UPDATE tracked.t_:client_id SET n = n + 1 WHERE id <= 2;
DROP TABLE tracked.t_:client_id;
\endif
\if :r > 80 AND :r <= 85
CREATE TABLE scratch.s_:client_id (id int, note text);
CREATE INDEX ON scratch.s_:client_id (id);
ALTER TABLE scratch.s_:client_id ALTER COLUMN note SET DEFAULT 'x';
INSERT INTO scratch.s_:client_id SELECT g FROM generate_series(1, 5) g;
DROP TABLE scratch.s_:client_id;
\endif
\if :r = 100
CREATE INDEX IF NOT EXISTS shared_tracked_v_:client_id ON public.shared_tracked (v);
DROP INDEX IF EXISTS shared_tracked_v_:client_id;
\endif
EOF

my $log_offset = -s $node->logfile;
my ($h, $out, $err) = start_pgbench($node, 'postgres', 'load',
	'-c', $CLIENTS, '-j', '2', '-T', $SECONDS, '-f', $script);
my $rc = finish_pgbench($h);
note "pgbench said:\n$$out$$err";
is($rc, 0, "pgbench: $CLIENTS clients for $SECONDS s, exit status 0");
unlike($$err, qr/error|abort/i, 'no client reported an error');
my ($done) = ($$out =~ /number of transactions actually processed: (\d+)/, 0);
cmp_ok($done // 0, '>', $CLIENTS, "transactions were processed ($done)");
like($$out, qr/number of failed transactions: 0 /, 'no transaction failed');

my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/deadlock detected/, 'no deadlock in the server log');
my @errors = $log =~ /^.*(?:ERROR|FATAL|PANIC):.*$/mg;
is(scalar(@errors), 0, 'no ERROR, FATAL or PANIC in the server log')
  or diag(join("\n", @errors[ 0 .. ($#errors < 9 ? $#errors : 9) ]));

# The background sealer alone catches up within a bounded wait.
ok(wait_until_sealed($node, 'postgres', 120),
	'after the load the background sealer alone sealed everything within 120 s');

is(sql(q{SELECT count(*) FROM audit.events WHERE kind = 'error'}), '0',
	'no error event in the trail');
is( sql(q{
	SELECT (SELECT format('%s|%s', count(*), sum(v)) FROM public.shared_tracked)
	     = (SELECT format('%s|%s',
	               count(*) FILTER (WHERE command = 'INSERT') - count(*) FILTER (WHERE command = 'DELETE'),
	               sum(CASE command WHEN 'INSERT' THEN (new_row ->> 'v')::int
	                                WHEN 'UPDATE' THEN (new_row ->> 'v')::int - (old_row ->> 'v')::int
	                                ELSE -(old_row ->> 'v')::int END))
	          FROM audit.events WHERE kind = 'row' AND object_name = 'public.shared_tracked')}),
	't', 'the tracked table is what its row events say (rows and sum of v)');
is( sql(q{
	SELECT count(*) FROM audit.events WHERE kind = 'row' AND object_name = 'public.shared_plain'}),
	'0', 'the untracked table has no row events');
my $ddl = sql(q{
	SELECT count(*) FROM audit.events
	 WHERE kind = 'statement' AND command = 'CREATE TABLE' AND object_name LIKE 'tracked.t\_%'});
cmp_ok($ddl, '>', 0, "per-client tables were created in the tracked schema ($ddl)");
is( sql(q{
	SELECT format('%s|%s', count(*) FILTER (WHERE command = 'INSERT'),
	              count(*) FILTER (WHERE command = 'UPDATE'))
	  FROM audit.events WHERE kind = 'row' AND object_name LIKE 'tracked.t\_%'}),
	5 * $ddl . '|' . 2 * $ddl,
	'each was tracked at creation: 5 INSERT and 2 UPDATE row events per table');
is( sql(q{
	SELECT count(*) FROM audit.events WHERE object_name LIKE 'scratch.s\_%' AND kind = 'row'}),
	'0', 'the tables of the untracked schema have no row events');
cmp_ok(
	sql(q{
	SELECT count(*) FROM audit.events
	 WHERE kind = 'statement' AND command IN ('CREATE INDEX', 'ALTER TABLE', 'DROP TABLE')}),
	'>=', 3 * $ddl, 'the DDL is recorded');
is( sql(q{
	SELECT count(*) FROM audit.events r WHERE r.kind = 'row'
	   AND NOT EXISTS (SELECT FROM audit.events s WHERE s.kind = 'statement'
	                      AND s.statement_id = r.statement_id)}),
	'0', 'every row event names a statement event');
is(sql('SELECT format(\'%s|%s|%s\', ok, problems, unsealed_events) FROM audit.verify()'),
	't|0|0', 'audit.verify() is ok');
is(sql(q{SELECT count(*) FROM audit.tracked_table}), '1',
	'tracking of the dropped per-client tables went with them');

$node->stop;
done_testing();
