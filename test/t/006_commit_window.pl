
# Copyright (c) audit_ext contributors
#
# 006_commit_window.pl — the window between PRE_COMMIT and visibility.  A
# transaction takes its commit position at PRE_COMMIT, but other sessions
# see it only once its commit is visible.  The sealer must not seal past a
# position whose transaction may still become visible, or that transaction
# would be skipped: sealed over, though not in any block.
#
# A synchronous standby that never comes holds a transaction exactly in
# that window: its commit record is written, its position taken, and it
# waits (wait event SyncRep) before it becomes visible.  Meanwhile a later
# transaction commits (without waiting: synchronous_commit = local) with
# the next position.  Sealing, by audit.seal() or the background sealer,
# must stop before the waiting transaction; once it is let go, both are
# sealed, in position order.  The same after a crash while it waits: its
# commit record survives, so after recovery it is committed, and sealed in
# its place.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('commit_window');
# Synchronous replication needs WAL senders, even to wait for none.
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
synchronous_standby_names = 'no_such_standby'
synchronous_commit = local
# The waiting transaction and the later one must take adjacent commit
# positions, the later one the last.  Logins and logouts of the test's own
# sessions are written by the sealer in transactions of its own, which take
# positions too, at moments of their own; they are not what this test is
# about (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE public.window_t (who text);
});

sub sql { return $node->safe_psql('postgres', @_); }

# Start a transaction that will wait for the standby at commit; returns the
# session and its backend pid once it waits.
sub start_waiting_commit
{
	my ($who) = @_;
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	$s->query_until(qr/sent/, qq{
		SET synchronous_commit = on;
		\\echo sent
		INSERT INTO public.window_t VALUES ('$who');
	});
	ok( $node->poll_query_until('postgres',
			"SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = $pid"),
		"$who: the transaction waits for the standby at commit");
	return ($s, $pid);
}

# The position and block of the transaction that inserted $who ('' when it
# has no visible digest yet).
sub txn_of
{
	my ($who) = @_;
	return sql(qq{
		SELECT t.position || '|' || coalesce(t.block_id::text, 'unsealed')
		  FROM audit.events e JOIN audit.transactions t USING (txid)
		 WHERE e.statement LIKE '%''$who''%'});
}

sub check_held_back
{
	my ($stuck, $later) = @_;
	my $pos = sql('SELECT last_value FROM audit.txn_position_seq');

	is(txn_of($stuck), '', "$stuck: not visible while it waits");
	my ($later_pos) = split /\|/, txn_of($later);
	is($later_pos, $pos, "$later: committed with the last position");

	# audit.seal() and the background sealer (given a few rounds) stop
	# before the waiting transaction's position.
	sql('SELECT audit.seal()');
	sleep 3;
	is( sql(qq{SELECT coalesce(max(last_position), 0) < $pos - 1 FROM audit.blocks}),
		't', "$stuck: nothing is sealed from its position on while it waits");
	is(txn_of($later), "$pos|unsealed", "$later: committed, but not sealed yet");
	is(sql('SELECT ok, problems FROM audit.verify()'), 't|0',
		'verify() is ok meanwhile');
	return $pos;
}

sub check_sealed_in_order
{
	my ($stuck, $later, $pos) = @_;
	my $head = sql('SELECT audit.seal()');
	my ($p1, $b1) = split /\|/, txn_of($stuck);
	my ($p2, $b2) = split /\|/, txn_of($later);
	is($p1, $pos - 1, "$stuck: has the position before $later");
	like($b1, qr/^\d+$/, "$stuck: sealed");
	cmp_ok($b1, '<=', $b2, "$stuck: sealed no later than $later");
	is( sql(q{
		SELECT format('%s|%s|%s', ok, problems, unsealed_events) FROM audit.verify()}),
		't|0|0', 'verify() is ok, nothing left unsealed');
	return;
}

# --- released by a cancel -----------------------------------------------------

my ($s, $pid) = start_waiting_commit('stuck 1');
sql(q{INSERT INTO public.window_t VALUES ('later 1')});
my $pos = check_held_back('stuck 1', 'later 1');

# Cancelling the wait: the transaction, committed locally, becomes visible.
sql("SELECT pg_cancel_backend($pid)");
like($s->query('SELECT 1'), qr/1/, 'the waiting session goes on');
$s->quit;
is(sql(q{SELECT count(*) FROM public.window_t WHERE who = 'stuck 1'}),
	'1', 'stuck 1: committed');
check_sealed_in_order('stuck 1', 'later 1', $pos);

# --- a crash while it waits ---------------------------------------------------

($s, $pid) = start_waiting_commit('stuck 2');
sql(q{INSERT INTO public.window_t VALUES ('later 2')});
$pos = check_held_back('stuck 2', 'later 2');

$node->stop('immediate');
eval { $s->quit };    # its server is gone
$node->start;

is(sql(q{SELECT count(*) FROM public.window_t WHERE who = 'stuck 2'}),
	'1', 'stuck 2: its commit record survived the crash');
check_sealed_in_order('stuck 2', 'later 2', $pos);

$node->stop;
done_testing();
