
# Copyright (c) audit_ext contributors
#
# 009_sealers.pl — the launcher and its sealers:
#
#   1. with more databases than free worker slots, a database created last
#      with audit_ext still gets a sealer (databases without audit_ext are
#      probed once, not every minute);
#   2. a role that may not DROP / ALTER / copy a database cannot make its
#      sealer leave by trying; a superuser's DROP DATABASE, and CREATE
#      DATABASE from a template with audit_ext (templates are sealed too),
#      succeed;
#   3. a sealer survives an error (pg_cancel_backend, lock_timeout) and
#      seals again soon after; a sealer that exits is started again at
#      once, not at the next minute's rescan;
#   4. a restarted launcher does not start a second sealer in a database
#      that has one;
#   5. the sealer's commit is flushed before its block is visible, even
#      with synchronous_commit off in the configuration and ALTER DATABASE
#      SET;
#   6. a backend stuck between announcing and publishing its position does
#      not make the sealer spin (needs gdb; skipped without it).

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# Poll $sql in $db until it returns 't', for at most $secs seconds.
sub wait_until
{
	my ($node, $db, $sql, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql($db, $sql) eq 't';
		usleep(100_000);
	}
	return 0;
}

# The pid of the sealer of database $db, '' if none.
sub sealer_pid
{
	my ($node, $db) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(pid::text, ',') FROM pg_stat_activity
		 WHERE backend_type = 'audit_ext sealer' AND datname = '$db'});
}

sub launcher_pid
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SELECT string_agg(pid::text, ',') FROM pg_stat_activity
		 WHERE backend_type = 'audit_ext launcher'});
}

# Wait until database $db has a sealer; returns its pid.
sub wait_for_sealer
{
	my ($node, $db, $secs) = @_;
	wait_until($node, 'postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'audit_ext sealer' AND datname = '$db'}, $secs);
	return sealer_pid($node, $db);
}

# Everything in $db is sealed by the background sealer, within $secs.
my $ALL_SEALED = q{
	SELECT v.unsealed_events = 0 AND (SELECT count(*) FROM audit.blocks) > 0
	  FROM audit.verify() v};

# CPU time (clock ticks) a process has used.
sub cpu_ticks
{
	my ($pid) = @_;
	my $stat = slurp_file("/proc/$pid/stat");
	$stat =~ s/^.*\) //s;
	my @f = split ' ', $stat;
	return $f[11] + $f[12];    # utime, stime (fields 14 and 15)
}

###########################################################################
# 1. More databases than worker slots.
###########################################################################

my $crowded = PostgreSQL::Test::Cluster->new('crowded');
$crowded->init;
# Six slots: our launcher and the logical replication launcher take two;
# the eight empty databases, postgres and template1 are more than the four
# left.
$crowded->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
max_worker_processes = 6
max_parallel_workers = 0
});
$crowded->start;
$crowded->safe_psql('postgres', "CREATE DATABASE empty_$_") for 1 .. 8;
$crowded->safe_psql('postgres', 'CREATE DATABASE late');
$crowded->safe_psql('late', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE t (a int);
	INSERT INTO t VALUES (1);
});
ok(wait_until($crowded, 'late', $ALL_SEALED, 60),
	'the database created last, with audit_ext, is sealed although there are more databases than free worker slots');
ok(wait_until($crowded, 'postgres', q{
	SELECT count(*) = 1 AND bool_and(datname = 'late') FROM pg_stat_activity
	 WHERE backend_type = 'audit_ext sealer'}, 30),
	'only the database with audit_ext keeps a sealer');
$crowded->safe_psql('late', 'INSERT INTO t VALUES (2)');
ok(wait_until($crowded, 'late', $ALL_SEALED, 30), 'and it keeps sealing');

# CREATE EXTENSION in a database the launcher knew to have none.
$crowded->safe_psql('empty_3', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE t (a int);
	INSERT INTO t VALUES (1);
});
ok(wait_until($crowded, 'empty_3', $ALL_SEALED, 30),
	'CREATE EXTENSION in a database known to have none gets it a sealer');
$crowded->stop;

###########################################################################
# The other cases share one server.
###########################################################################

my $node = PostgreSQL::Test::Cluster->new('sealers');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 200
# Case 5 needs the first block sealed after a known point to be that of the
# transaction it commits.  Logins and logouts of the test's own sessions
# would be written and sealed by the sealer at moments of its own, each in
# a block of its own; they are not what this test is about
# (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE ROLE creator LOGIN CREATEDB;
	CREATE DATABASE victim;
	CREATE DATABASE work;
});
for my $db ('victim', 'work')
{
	$node->safe_psql($db, q{
		CREATE EXTENSION audit_ext;
		CREATE TABLE t (a int);
		GRANT ALL ON t TO PUBLIC;
		INSERT INTO t VALUES (1);
	});
}

###########################################################################
# 2. Who can make a sealer leave.
###########################################################################

my $victim_pid = wait_for_sealer($node, 'victim', 30);
like($victim_pid, qr/^\d+$/, 'victim has a sealer');

for my $stmt (
	'DROP DATABASE victim',
	'ALTER DATABASE victim CONNECTION LIMIT 5',
	'ALTER DATABASE victim RENAME TO stolen',
	'ALTER DATABASE victim SET TABLESPACE pg_default',
	'CREATE DATABASE stolen TEMPLATE victim')
{
	my ($rc, $out, $err) =
	  $node->psql('postgres', $stmt, extra_params => [ '-U', 'mallory' ]);
	isnt($rc, 0, "an unprivileged role's '$stmt' fails");
	like($err, qr/must be owner|permission denied/, "... for lack of privilege: $stmt");
}
# CREATEDB, but victim is neither a template nor the role's own.
my ($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE stolen TEMPLATE victim',
	extra_params => [ '-U', 'creator' ]);
isnt($rc, 0, "CREATE DATABASE from another role's non-template database fails");
# A superuser's DROP DATABASE that cannot run in a transaction block.
($rc, $out, $err) = $node->psql('postgres', 'BEGIN; DROP DATABASE victim; COMMIT;');
like($err, qr/cannot run inside a transaction block/,
	'DROP DATABASE inside a transaction block fails');
usleep(300_000);
is(sealer_pid($node, 'victim'), $victim_pid,
	"victim's sealer is still the same process after the failed statements");

$node->safe_psql('victim', 'INSERT INTO t VALUES (2)');
ok(wait_until($node, 'victim', $ALL_SEALED, 10), 'and victim is still sealed');

($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE victim');
is($rc, 0, "a superuser's DROP DATABASE of a database with a sealer succeeds")
  or diag $err;
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $victim_pid"),
	'0', 'its sealer has left');

# A template with audit_ext is sealed, and can still be copied.
$node->safe_psql('postgres', 'CREATE DATABASE tmpl IS_TEMPLATE true');
$node->safe_psql('tmpl', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE t (a int);
	INSERT INTO t VALUES (1);
});
ok(wait_until($node, 'tmpl', $ALL_SEALED, 30), 'a template database with audit_ext is sealed');
like(wait_for_sealer($node, 'tmpl', 10), qr/^\d+$/, 'the template has a sealer');
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE tcopy TEMPLATE tmpl',
	extra_params => [ '-U', 'creator' ]);
is($rc, 0, 'a CREATEDB role copies the template while its sealer runs') or diag $err;
like(wait_for_sealer($node, 'tcopy', 30), qr/^\d+$/, 'the copy, with audit_ext, gets its own sealer');
like(wait_for_sealer($node, 'tmpl', 30), qr/^\d+$/, "the template's sealer comes back");

###########################################################################
# 3. Errors do not end a sealer; an exit is followed by a prompt restart.
###########################################################################

my $work_pid = wait_for_sealer($node, 'work', 30);
like($work_pid, qr/^\d+$/, 'work has a sealer');
my $log_offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($work_pid)"),
	't', 'cancel the sealer');
$node->wait_for_log(qr/ERROR:  canceling statement due to user request/, $log_offset);
ok(1, 'the log shows the cancelled sealer');
$node->safe_psql('work', 'INSERT INTO t VALUES (2)');
ok(wait_until($node, 'work', $ALL_SEALED, 10), 'new work is sealed within seconds of the cancel');
is(sealer_pid($node, 'work'), $work_pid, 'by the same sealer process');

# A sealer that exits (terminated) is replaced at once.
$node->safe_psql('work', 'ALTER DATABASE work SET lock_timeout = 200');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($work_pid)");
my $t0 = time();
ok( wait_until($node, 'postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'audit_ext sealer' AND datname = 'work' AND pid <> $work_pid}, 20),
	'a terminated sealer is started again');
cmp_ok(time() - $t0, '<', 15, '... promptly, not at the next minute');
$work_pid = sealer_pid($node, 'work');

# lock_timeout while a session holds a lock the sealer needs.
my $blocker = $node->background_psql('work');
$blocker->query_safe('BEGIN; LOCK TABLE audit.block IN ROW EXCLUSIVE MODE');
$log_offset = -s $node->logfile;
$node->safe_psql('work', 'INSERT INTO t VALUES (3)');
$node->wait_for_log(qr/ERROR:  canceling statement due to lock timeout/, $log_offset);
ok(1, 'the sealer runs into lock_timeout');
usleep(500_000);
ok($work_pid =~ /^\d+$/ && sealer_pid($node, 'work') eq $work_pid, 'and stays');
$blocker->query_safe('ROLLBACK');
$blocker->quit;
ok(wait_until($node, 'work', $ALL_SEALED, 30), 'it seals once the lock is gone');
$node->safe_psql('work', 'ALTER DATABASE work RESET lock_timeout');

###########################################################################
# 4. A restarted launcher starts no second sealer.
###########################################################################

my $launcher = launcher_pid($node);
like($launcher, qr/^\d+$/, 'the launcher runs');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok( wait_until($node, 'postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'audit_ext launcher' AND pid <> $launcher}, 30),
	'the launcher comes back');
# Give it time to scan (it does so at once) and its sealers time to start.
sleep(3);
my $one_each = q{
	SELECT string_agg(datname || '=' || n, ',' ORDER BY datname)
	  FROM (SELECT d.datname, count(a.pid) AS n
	          FROM pg_database d
	          LEFT JOIN pg_stat_activity a
	            ON a.datname = d.datname AND a.backend_type = 'audit_ext sealer'
	         WHERE d.datname IN ('work', 'tmpl', 'tcopy')
	         GROUP BY d.datname) s};
is($node->safe_psql('postgres', $one_each), 'tcopy=1,tmpl=1,work=1',
	'exactly one sealer per database with audit_ext after the launcher restarted');
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'audit_ext sealer'}),
	'3', 'and no other sealer');
$node->safe_psql('work', 'INSERT INTO t VALUES (4)');
ok(wait_until($node, 'work', $ALL_SEALED, 10), 'sealing goes on');

# The new launcher also hears of the exit of a sealer its predecessor
# started.
$work_pid = sealer_pid($node, 'work');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($work_pid)");
ok( wait_until($node, 'postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'audit_ext sealer' AND datname = 'work' AND pid <> $work_pid}, 15),
	"the new launcher promptly replaces a sealer its predecessor started");

###########################################################################
# 5. synchronous_commit off (configuration and ALTER DATABASE SET): the
#    sealer's commit is flushed before its block is visible.  The WAL
#    writer is made slow to flush (every 10 s) so that an asynchronous
#    commit would still be unflushed when the block is first seen.
###########################################################################

$node->append_conf('postgresql.conf', qq{
synchronous_commit = off
wal_writer_delay = '10s'
wal_writer_flush_after = '1GB'
});
$node->reload;
$node->safe_psql('postgres', q{
	CREATE DATABASE durable;
	ALTER DATABASE durable SET synchronous_commit = off;
});
$node->safe_psql('durable', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE t (a int);
});
like(wait_for_sealer($node, 'durable', 30), qr/^\d+$/, 'durable has a sealer');
ok(wait_until($node, 'durable', $ALL_SEALED, 30), 'durable is sealed');

# Make the WAL writer flush now (an asynchronous commit, which only it
# flushes), so that it waits 10 s before its next flush.
$node->safe_psql('postgres', 'CREATE TABLE scratch (a int)');
sleep(1);
$node->safe_psql('postgres', 'INSERT INTO scratch VALUES (1)');
my $insert_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
ok(wait_until($node, 'postgres', qq{SELECT pg_current_wal_flush_lsn() >= '$insert_lsn'}, 30),
	'the WAL writer has flushed');

# The WAL position first: any block not yet counted commits after it.
my $start_lsn = $node->safe_psql('durable', 'SELECT pg_current_wal_insert_lsn()');
my $blocks = $node->safe_psql('durable', 'SELECT count(*) FROM audit.block');
$node->safe_psql('durable', 'INSERT INTO t VALUES (1)');
# The first time the new block is visible: its transaction, and how far WAL
# was flushed then (read after the snapshot that sees the block).
my $seen = '';
my $deadline = time() + 10;
while ($seen eq '' && time() < $deadline)
{
	$seen = $node->safe_psql('durable', qq{
		SELECT b.xmin || ' ' || pg_current_wal_flush_lsn()
		  FROM audit.block b
		 WHERE (SELECT count(*) FROM audit.block) > $blocks
		 ORDER BY b.block_id DESC LIMIT 1});
}
my ($xid, $flushed) = split ' ', $seen;
ok(defined $flushed, 'the sealer sealed the new transaction');
my ($wout, $werr) = ('', '');
IPC::Run::run(
	[
		'pg_waldump', '-p', $node->data_dir . '/pg_wal', '-s', $start_lsn,
		'-r', 'Transaction', '-x', $xid // 0
	],
	'>', \$wout, '2>', \$werr);
my ($commit_lsn) = $wout =~ /lsn: ([0-9A-F]+\/[0-9A-F]+), prev [^,]*, desc: COMMIT/;
ok(defined $commit_lsn, "found the sealer's commit record") or diag "$wout\n$werr";
note "WAL from $start_lsn: sealer's commit at " . ($commit_lsn // '?')
  . ", flushed up to $flushed when its block was first seen";
is( $node->safe_psql('postgres',
		"SELECT '$flushed'::pg_lsn > '" . ($commit_lsn // '0/0') . "'::pg_lsn"),
	't', "the sealer's commit was flushed before its block was visible");
$node->adjust_conf('postgresql.conf', 'synchronous_commit', 'on');
$node->adjust_conf('postgresql.conf', 'wal_writer_delay', '200ms');
$node->adjust_conf('postgresql.conf', 'wal_writer_flush_after', '1MB');
$node->reload;

###########################################################################
# 6. A backend stopped between announcing and publishing its position.
###########################################################################

SKIP:
{
	my $gdb = `which gdb 2>/dev/null`;
	chomp $gdb;
	skip 'gdb is not installed', 4 unless $gdb;

	my $session = $node->background_psql('work');
	my $backend = $session->query_safe('SELECT pg_backend_pid()');
	$work_pid = wait_for_sealer($node, 'work', 10);

	# gdb stops the backend at audit_slot_publish (its slot says TAKING),
	# holds it there for a few seconds, then lets it go.
	my ($gout, $gerr) = ('', '');
	my $h = IPC::Run::start(
		[
			$gdb, '-nx', '-batch', '-p', $backend,
			'-ex', 'break audit_slot_publish',
			'-ex', 'echo READY\n',
			'-ex', 'continue',
			'-ex', 'echo STOPPED\n',
			'-ex', 'shell sleep 4',
			'-ex', 'detach'
		],
		'>', \$gout, '2>', \$gerr,
		IPC::Run::timeout(60));
	my $ready = eval {
		pump_until($h, IPC::Run::timeout(30), \$gout, qr/READY/);
		1;
	};
	skip "gdb cannot attach here: $gerr", 4
	  unless $ready && $gout =~ /Breakpoint 1 at .*READY/s;

	$session->query_until(qr/go/, "\\echo go\nINSERT INTO t VALUES (5);\n");
	pump_until($h, IPC::Run::timeout(30), \$gout, qr/STOPPED/);
	like($gout, qr/Breakpoint 1, .*STOPPED/s, 'the backend is stopped while taking its position');
	my $c0 = cpu_ticks($work_pid);
	sleep(2);
	my $used = cpu_ticks($work_pid) - $c0;
	note "sealer used $used clock ticks in 2 s";
	cmp_ok($used, '<', 40, 'the sealer does not spin while it waits for the backend');
	$h->finish;
	$session->query_safe('SELECT 1');
	$session->quit;
	is(sealer_pid($node, 'work'), $work_pid, 'the sealer is the same process');
	ok(wait_until($node, 'work', $ALL_SEALED, 10), 'the transaction is sealed once it is published');
}

$node->stop;
done_testing();
