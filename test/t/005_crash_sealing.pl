
# Copyright (c) audit_ext contributors
#
# 005_crash_sealing.pl — crashes under concurrent audited load.  pgbench
# runs four clients of multi-statement transactions (inserts, an update, a
# rolled-back savepoint, now and then a rolled-back transaction) and the
# server is killed mid-load: kill -9 of the postmaster (three times), and
# kill -9 of one backend (the postmaster then restarts all of them).  After
# each restart:
#
#   - the background sealer alone, without audit.seal(), seals everything
#     within a few seconds: it resumes where it stopped;
#   - every committed row has its event (rows in the table = rows the INSERT
#     events recorded; counter total = rows the UPDATE events recorded), and
#     nothing of aborted transactions or savepoints is left;
#   - audit.verify() is ok with unsealed_events = 0, block ids are 1..n
#     without gaps and their positions contiguous.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;
use Time::HiRes qw(time usleep);

# How long the background sealer may take to seal everything after a
# restart.  At the default audit.seal_interval (1 s) it takes a second or
# two; the margin is for slow CI machines.
my $SEAL_DEADLINE = 30;

my $node = PostgreSQL::Test::Cluster->new('crash_sealing');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
max_connections = 20
restart_after_crash = on
# Small blocks: catching up after a crash takes many of them.
audit.block_max_transactions = 50
# audit.seal() must return the newest block, and a block sealed by it must
# hold the statement just before it.  Logins and logouts (every safe_psql
# and every pgbench client is a session) are written and sealed by the
# sealer at moments of its own, and are lost with the queue in a crash by
# design; they are not what this test is about (030_session_events covers
# them): leave them out.
audit.log_connections = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE public.crash_load (id bigserial PRIMARY KEY, client int, note text);
	CREATE TABLE public.crash_counter (client int PRIMARY KEY, n bigint NOT NULL);
	INSERT INTO public.crash_counter SELECT g, 0 FROM generate_series(0, 3) g;
});

# One pgbench transaction: two rows, a counter update, a savepoint that is
# rolled back; then one time in ten a rollback of everything, otherwise a
# batch of 2..10 more rows and a commit.
my $script = PostgreSQL::Test::Utils::tempdir() . '/crash_load.sql';
PostgreSQL::Test::Utils::append_to_file($script, <<'EOF');
\set r random(1, 10)
BEGIN;
INSERT INTO public.crash_load (client, note) VALUES (:client_id, 'kept'), (:client_id, 'kept');
UPDATE public.crash_counter SET n = n + 1 WHERE client = :client_id;
SAVEPOINT s;
INSERT INTO public.crash_load (client, note) VALUES (:client_id, 'undone in savepoint');
ROLLBACK TO SAVEPOINT s;
\if :r = 1
INSERT INTO public.crash_load (client, note) VALUES (:client_id, 'rolled back');
ROLLBACK;
\else
INSERT INTO public.crash_load (client, note) SELECT :client_id, 'batch' FROM generate_series(1, :r);
COMMIT;
\endif
EOF

# Start pgbench in the background; returns its harness and output refs.
sub start_load
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '4', '-j', '2', '-T', '60',
			'-f', $script,
			$node->connstr('postgres') . ' application_name=crash_load'
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout(180));
	return ($h, \$out, \$err);
}

sub rows
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM public.crash_load');
}

# Wait until the load has committed at least $n more rows than $base.
sub wait_for_rows
{
	my ($base, $n) = @_;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		return 1 if rows() >= $base + $n;
		usleep(100_000);
	}
	return 0;
}

# Let pgbench end (its server went away), whatever its exit status.
sub finish_load
{
	my ($h) = @_;
	eval {
		$h->finish;
		1;
	} or $h->kill_kill;
	return $? >> 8;
}

sub crash_postmaster
{
	my ($h) = @_;
	my @children = split /\n/, $node->safe_psql('postgres',
		'SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
	$node->kill9;
	finish_load($h);
	ok(wait_for_exit(@children), 'the old server processes exit after kill -9 of the postmaster');
	$node->start;
}

sub crash_backend
{
	my ($h, $log_offset) = @_;
	my $pid = $node->safe_psql('postgres', q{
		SELECT pid FROM pg_stat_activity
		 WHERE application_name = 'crash_load' LIMIT 1});
	like($pid, qr/^\d+$/, 'found a backend of the load to kill');
	kill 'KILL', $pid;
	finish_load($h);
	# The postmaster resets shared memory, recovers, and accepts
	# connections again by itself.
	$node->wait_for_log(qr/all server processes terminated; reinitializing/,
		$log_offset);
	ok( $node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()'),
		'the server recovers by itself after kill -9 of a backend');
}

# In some rounds a session holds a lock that keeps the sealer waiting for
# the whole load, so that a backlog of committed, unsealed transactions is
# there at the crash for the sealer to catch up on after the restart.
my @rounds = (
	[ 'kill -9 of the postmaster',                 \&crash_postmaster, 0 ],
	[ 'kill -9 of the postmaster, sealer held off', \&crash_postmaster, 1 ],
	[ 'kill -9 of a backend',                      \&crash_backend,    0 ],
	[ 'kill -9 of a backend, sealer held off',      \&crash_backend,    1 ],
	[ 'kill -9 of the postmaster',                 \&crash_postmaster, 0 ],
);

my $round = 0;
for my $r (@rounds)
{
	my ($what, $crash, $hold) = @$r;
	$round++;
	my $base = rows();
	my $log_offset = -s $node->logfile;
	my $blocker;

	if ($hold)
	{
		$blocker = $node->background_psql('postgres');
		$blocker->query_safe('BEGIN; LOCK TABLE audit.block IN ROW EXCLUSIVE MODE');
	}
	my ($h, $out, $err) = start_load();
	ok(wait_for_rows($base, 500), "round $round: the load is committing");
	usleep(500_000);
	if ($hold)
	{
		cmp_ok(
			$node->safe_psql(
				'postgres', q{
			SELECT count(*) FROM audit.transactions WHERE block_id IS NULL}),
			'>', 100,
			"round $round: a backlog of unsealed transactions before the crash");
	}
	$crash->($h, $log_offset);
	eval { $blocker->quit } if $blocker;    # its server is gone
	note "round $round ($what): pgbench said: $$err";

	# The background sealer resumes: what was unsealed at the crash, and a
	# few new transactions, are sealed without audit.seal(), within the
	# deadline.
	note "round $round: "
	  . $node->safe_psql('postgres', 'SELECT unsealed_events FROM audit.verify()')
	  . ' events unsealed after the restart';
	$node->safe_psql('postgres', qq{
		INSERT INTO public.crash_load (client, note) VALUES (-1, 'after restart $round');
		INSERT INTO public.crash_load (client, note) VALUES (-1, 'after restart $round');
		INSERT INTO public.crash_load (client, note) VALUES (-1, 'after restart $round');
	});
	my $t0 = time();
	my $sealed = 0;
	while (time() - $t0 < $SEAL_DEADLINE)
	{
		if ($node->safe_psql('postgres',
				'SELECT unsealed_events = 0 FROM audit.verify()') eq 't')
		{
			$sealed = 1;
			last;
		}
		usleep(100_000);
	}
	ok($sealed, "round $round ($what): the background sealer alone sealed everything");
	note sprintf('round %d: sealed %.1f s after the new transactions', $round, time() - $t0);
	is( $node->safe_psql(
			'postgres', qq{
		SELECT count(*) FROM audit.events
		 WHERE statement LIKE '%after restart $round''%' AND block_id IS NOT NULL}),
		'3', "round $round: the transactions after the restart are sealed");

	# audit.seal() has nothing left to do; it returns the newest block.
	my $head = $node->safe_psql('postgres', 'SELECT audit.seal()');
	is($node->safe_psql('postgres', 'SELECT max(block_id) FROM audit.blocks'),
		$head, "round $round: audit.seal() returns the newest block id");
	note "round $round: blocks (count, full ones): "
	  . $node->safe_psql('postgres',
		'SELECT count(*), count(*) FILTER (WHERE txn_count = 50) FROM audit.blocks');

	my $now = rows();
	cmp_ok($now, '>', $base, "round $round: rows were committed during the load");
	is( $node->safe_psql(
			'postgres', q{
		SELECT format('%s|%s',
		       (SELECT count(*) FROM public.crash_load),
		       (SELECT sum(rows_affected) FROM audit.events
		         WHERE command = 'INSERT' AND object_name = 'public.crash_load'))}),
		"$now|$now",
		"round $round: every committed row has its INSERT event, and no other event");
	is( $node->safe_psql(
			'postgres', q{
		SELECT (SELECT sum(n) FROM public.crash_counter)
		     = (SELECT coalesce(sum(rows_affected), 0) FROM audit.events
		         WHERE command = 'UPDATE' AND object_name = 'public.crash_counter')}),
		't', "round $round: every committed counter update has its UPDATE event");
	is( $node->safe_psql(
			'postgres', q{
		SELECT format('%s|%s',
		       (SELECT count(*) FROM public.crash_load
		         WHERE note IN ('undone in savepoint', 'rolled back')),
		       (SELECT count(*) FROM audit.events
		         WHERE kind = 'statement'
		           AND statement ~ 'undone in savepoint|rolled back'))}),
		'0|0', "round $round: no row and no statement event of aborted work");
	is( $node->safe_psql(
			'postgres', q{
		SELECT format('%s|%s|%s|%s|%s', ok, unsealed_events, problems,
		              blocks_checked = (SELECT count(*) FROM audit.block),
		              events_checked = (SELECT count(*) FROM audit.event))
		  FROM audit.verify()}),
		't|0|0|t|t',
		"round $round: verify() is ok, nothing unsealed, every block and event checked");
	is( $node->safe_psql(
			'postgres', q{
		SELECT format('%s|%s|%s', min(block_id), count(*) = max(block_id),
		       bool_and(first_position = coalesce(prev_last, 0) + 1))
		  FROM (SELECT block_id, first_position,
		               lag(last_position) OVER (ORDER BY block_id) AS prev_last
		          FROM audit.blocks) b}),
		'1|t|t', "round $round: block ids are 1..n without gaps, positions contiguous");
	is( $node->safe_psql(
			'postgres', q{
		SELECT count(*) FROM audit.transactions t
		 WHERE (SELECT count(*) FROM audit.blocks b
		         WHERE t.position BETWEEN b.first_position AND b.last_position) <> 1}),
		'0', "round $round: every transaction is in exactly one block");
}

# The trail keeps working after the crashes.
$node->safe_psql('postgres',
	q{INSERT INTO public.crash_load (client, note) VALUES (-1, 'after the crashes')});
my $head = $node->safe_psql('postgres', 'SELECT audit.seal()');
is( $node->safe_psql(
		'postgres', q{
	SELECT block_id FROM audit.events WHERE statement LIKE '%after the crashes%'}),
	$head, 'a statement after the crashes is recorded, and audit.seal() seals it');
is($node->safe_psql('postgres', 'SELECT ok, problems, unsealed_events FROM audit.verify()'),
	't|0|0', 'the trail verifies at the end');

$node->stop;
done_testing();
