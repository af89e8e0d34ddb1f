# Copyright (c) audit_ext contributors
#
# 080_crash_rows.pl — crash safety of row capture.  A pgbench database
# (scale 1, made before the extension was installed) has its four tables
# tracked; pgbench runs the built-in TPC-B transaction and a script of its
# own side by side (a savepoint that wrote a marker row and a huge balance
# change is rolled back every time, and one transaction in five is rolled
# back whole after writing a marker row).  Each round kills the server
# mid-load: kill -9 of one backend (the postmaster then restarts all of
# them), kill -9 of the postmaster, or an immediate shutdown.  After each
# restart the trail is checked against the data itself:
#
#   - pgbench_history rows = INSERT row events of public.pgbench_history;
#   - sum(abalance) = the sum of (new - old) abalance over the UPDATE row
#     events of pgbench_accounts; likewise tbalance, bbalance;
#   - every row event's statement_id names a statement event;
#   - no marker row and no event of aborted work;
#   - the background sealer alone (no audit.seal()) seals everything,
#     a transaction after the restart included; audit.verify() is ok.
#
# Knobs for a hand run: AUDIT_TEST_CRASH_ROUNDS (default 4, the kinds of
# crash in turn), AUDIT_TEST_CRASH_ROWS (history rows committed before each
# crash, default 300), AUDIT_TEST_CRASH_CLIENTS (default 6).
# 005_crash_sealing.pl covers statement events and a sealer held off.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use AuditVerifyTest;

my $ROUNDS  = $ENV{AUDIT_TEST_CRASH_ROUNDS}  // 4;
my $ROWS    = $ENV{AUDIT_TEST_CRASH_ROWS}    // 300;
my $CLIENTS = $ENV{AUDIT_TEST_CRASH_CLIENTS} // 6;

my $node = PostgreSQL::Test::Cluster->new('crash_rows');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
max_connections = @{[ $CLIENTS + 20 ]}
restart_after_crash = on
# Logins and logouts travel the shared-memory queue, which a crash may
# lose by design (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->start;

# The data is there before the extension: installing into a database with
# data, then tracking tables that already hold rows.
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', $node->connstr('postgres') ],
	'pgbench -i');
$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	SELECT audit.track(t) FROM unnest('{pgbench_accounts, pgbench_branches,
	       pgbench_tellers, pgbench_history}'::regclass[]) t;
});
is( $node->safe_psql(
		'postgres', q{
	SELECT string_agg(table_name::text, ',' ORDER BY table_name::text) FROM audit.tracked_tables}),
	'pgbench_accounts,pgbench_branches,pgbench_history,pgbench_tellers',
	'the four pgbench tables are tracked');
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s', (SELECT sum(abalance) FROM pgbench_accounts),
	       (SELECT count(*) FROM audit.events WHERE kind = 'row'))}),
	'0|0', 'tracking records nothing of the rows already there');

# TPC-B with savepoints and rollbacks: the savepoint writes a marker row and
# a change of a million to the account, and is rolled back; one time in
# five the whole transaction, having written a marker row, is rolled back.
my $script = PostgreSQL::Test::Utils::tempdir() . '/tpcb_rollbacks.sql';
PostgreSQL::Test::Utils::append_to_file($script, <<'EOF');
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
\set r random(1, 5)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SAVEPOINT s;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler)
  VALUES (:tid, :bid, :aid, 0, now(), 'marker savepoint');
UPDATE pgbench_accounts SET abalance = abalance + 1000000 WHERE aid = :aid;
ROLLBACK TO SAVEPOINT s;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, now());
\if :r = 1
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler)
  VALUES (:tid, :bid, :aid, 0, now(), 'marker rollback');
ROLLBACK;
\else
COMMIT;
\endif
EOF

sub sql { return $node->safe_psql('postgres', $_[0]); }
sub history_rows { return sql('SELECT count(*) FROM pgbench_history'); }

sub kill_backend
{
	my ($log_offset) = @_;
	my $pid = sql(q{SELECT pid FROM pg_stat_activity
	                 WHERE application_name = 'crash_rows' LIMIT 1});
	like($pid, qr/^\d+$/, 'found a backend of the load to kill');
	kill 'KILL', $pid;
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
	return $node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
}

sub kill_postmaster
{
	my @children = split /\n/,
	  sql('SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
	$node->kill9;
	wait_for_exit(@children) or return 0;
	$node->start;
	return 1;
}

sub stop_immediate
{
	$node->stop('immediate');
	$node->start;
	return 1;
}

my @crashes = (
	[ 'kill -9 of a backend',     \&kill_backend ],
	[ 'kill -9 of the postmaster', \&kill_postmaster ],
	[ 'immediate shutdown',        \&stop_immediate ],
);

# The checks against the data, each 't' when it holds.
my %checks = (
	'pgbench_history rows = INSERT row events of pgbench_history' => q{
		SELECT (SELECT count(*) FROM pgbench_history)
		     = (SELECT count(*) FROM audit.events WHERE kind = 'row'
		           AND command = 'INSERT' AND object_name = 'public.pgbench_history')},
	'no other row events of pgbench_history' => q{
		SELECT NOT EXISTS (SELECT FROM audit.events WHERE kind = 'row'
		           AND object_name = 'public.pgbench_history' AND command <> 'INSERT')},
	'every row event names a statement event' => q{
		SELECT NOT EXISTS (SELECT FROM audit.events r WHERE r.kind = 'row'
		   AND NOT EXISTS (SELECT FROM audit.events s WHERE s.kind = 'statement'
		                      AND s.statement_id = r.statement_id))},
	'no marker row, no row or statement event of aborted work' => q{
		SELECT NOT EXISTS (SELECT FROM pgbench_history WHERE filler LIKE 'marker%')
		   AND NOT EXISTS (SELECT FROM audit.events WHERE new_row ->> 'filler' LIKE 'marker%')
		   AND NOT EXISTS (SELECT FROM audit.events WHERE statement LIKE '%marker%'
		                      OR statement LIKE '%1000000%')},
);
for my $t ([ 'accounts', 'abalance' ], [ 'tellers', 'tbalance' ], [ 'branches', 'bbalance' ])
{
	my ($table, $col) = @$t;
	# old_row holds the changed columns only: a change by 0 leaves the
	# balance out of it (the new value is the old one then).
	$checks{"sum($col) = sum of new - old $col over the UPDATE row events"} = qq{
		SELECT (SELECT sum($col) FROM pgbench_$table)
		     = (SELECT coalesce(sum((new_row ->> '$col')::bigint
		                 - coalesce(old_row ->> '$col', new_row ->> '$col')::bigint), 0)
		          FROM audit.events WHERE kind = 'row' AND command = 'UPDATE'
		           AND object_name = 'public.pgbench_$table')};
}

for my $round (1 .. $ROUNDS)
{
	my ($what, $crash) = @{ $crashes[ ($round - 1) % @crashes ] };
	my $base = history_rows();
	my $log_offset = -s $node->logfile;
	my ($h, $out, $err) = start_pgbench($node, 'postgres', 'crash_rows',
		'-c', $CLIENTS, '-j', '2', '-T', '120',
		'-b', 'tpcb-like@1', '-f', "$script\@1");
	ok( $node->poll_query_until('postgres',
			'SELECT count(*) >= ' . ($base + $ROWS) . ' FROM pgbench_history'),
		"round $round: the load is committing");
	ok($crash->($log_offset), "round $round: $what, and the server is back");
	finish_pgbench($h);
	note "round $round: pgbench said: $$err";
	wait_for_startup_event($node) if $what ne 'kill -9 of a backend';

	cmp_ok(history_rows(), '>=', $base + $ROWS, "round $round: the committed rows survived");
	note "round $round: history rows, row events: "
	  . sql(q{SELECT (SELECT count(*) FROM pgbench_history) || ', '
	                 || (SELECT count(*) FROM audit.event WHERE kind = 'row')});
	for my $check (sort keys %checks)
	{
		is(sql($checks{$check}), 't', "round $round: $check");
	}

	# A transaction after the restart, then the background sealer alone
	# seals everything.
	sql(qq{UPDATE pgbench_branches SET bbalance = bbalance + $round WHERE bid = 1 -- after restart $round});
	ok(wait_until_sealed($node, 'postgres', 60),
		"round $round: the background sealer alone sealed everything");
	is( sql(qq{
		SELECT format('%s|%s', count(*), count(block_id)) FROM audit.events r
		 WHERE kind = 'row' AND statement_id = (SELECT statement_id FROM audit.events
		        WHERE kind = 'statement' AND statement LIKE '%after restart $round')}),
		'1|1', "round $round: the row event after the restart is recorded and sealed");
	is(sql('SELECT format(\'%s|%s|%s\', ok, problems, unsealed_events) FROM audit.verify()'),
		't|0|0', "round $round: audit.verify() is ok");
}

is(chain_shape($node, 'postgres'), '1|t|t',
	'block ids 1..n without gaps, positions contiguous after the crashes');

$node->stop;
done_testing();
