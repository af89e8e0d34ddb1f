# Copyright (c) audit_ext contributors
#
# 082_two_phase.pl — two-phase commit.  audit_ext refuses PREPARE
# TRANSACTION of a transaction that wrote audit events (0A000, with detail
# and hint): the transaction is gone, nothing of it is in the data or the
# trail but the refusal's own error event, and the chain verifies.  A
# released savepoint's events count as the transaction's.
#
# A prepared transaction that wrote no audit event is allowed, and COMMIT
# PREPARED / ROLLBACK PREPARED work, across an immediate shutdown while
# prepared too:
#   - in a database of the cluster without the extension;
#   - in the audited database, by a role in audit.exclude_roles writing an
#     untracked table;
#   - in the audited database, when its audited work (rows of a tracked
#     table, recorded whoever writes them) was in a savepoint that was
#     rolled back (a failed statement in it is an error event all the
#     same).
# Meanwhile the audited database's sealer is never stuck: audited commits
# made while transactions are prepared, before and after the restart, are
# sealed by the background sealer alone.  COMMIT / ROLLBACK PREPARED are
# transaction control, not recorded.  audit.verify() is ok at the end.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $node = PostgreSQL::Test::Cluster->new('two_phase');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
max_prepared_transactions = 5
# Logins and logouts would land in the trail at moments of the sealer's
# own; not what this test is about.
audit.log_connections = off
audit.exclude_roles = 'quiet'
# The framework's default, wal_level = minimal, loses the first values of a
# sequence created and used in one transaction (as CREATE EXTENSION does
# with the trail's) in a crash: they are handed out again after it.  A
# PostgreSQL issue, not one of two-phase commit: use the server's default.
wal_level = replica
});
$node->start;

sub sql { return $node->safe_psql($_[1] // 'postgres', $_[0]); }

sql(q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE acct (id int PRIMARY KEY, note text);
	CREATE TABLE notes (id int PRIMARY KEY, note text);
	SELECT audit.track('acct');
	CREATE ROLE quiet LOGIN;
	GRANT ALL ON notes, acct TO quiet;
	CREATE DATABASE plain;
});
sql('CREATE TABLE items (id int PRIMARY KEY, note text)', 'plain');

# An audited commit, and the background sealer alone seals it.
sub audited_commit_seals
{
	my ($what) = @_;
	sql(qq{INSERT INTO acct VALUES ((SELECT coalesce(max(id), 0) + 1 FROM acct), '$what')});
	ok(wait_until_sealed($node, 'postgres', 60),
		"$what: the background sealer seals an audited commit");
	is( sql(qq{
		SELECT count(*) FROM audit.events
		 WHERE kind = 'row' AND new_row ->> 'note' = '$what' AND block_id IS NOT NULL}),
		'1', "$what: its row event is in a block");
}

# --- refused: a transaction that wrote audit events ---------------------------

my ($rc, $out, $err) = $node->psql('postgres', q{
\set VERBOSITY verbose
BEGIN;
INSERT INTO acct VALUES (100, 'prepared, refused');
PREPARE TRANSACTION 'p_refused';
});
like($err,
	qr/ERROR:  0A000: cannot PREPARE a transaction that wrote audit events\n/,
	'PREPARE of a transaction that wrote audit events: refused, SQLSTATE 0A000');
like($err, qr/DETAIL:  audit_ext does not support two-phase commit of audited changes\.\n/,
	'with the detail');
like($err, qr/HINT:  Commit the transaction directly\./, 'and the hint');

($rc, $out, $err) = $node->psql('postgres', q{
BEGIN;
SAVEPOINT a;
UPDATE notes SET note = 'released savepoint' WHERE false;
RELEASE SAVEPOINT a;
PREPARE TRANSACTION 'p_refused_released';
});
like($err, qr/cannot PREPARE a transaction that wrote audit events/,
	'refused too when the events were written in a released savepoint');

is( sql(q{
	SELECT format('%s|%s|%s', (SELECT count(*) FROM pg_prepared_xacts),
	       (SELECT count(*) FROM acct), (SELECT count(*) FROM notes))}),
	'0|0|0', 'the refused transactions are gone: nothing prepared, no row written');
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM audit.events WHERE kind = 'error' AND sqlstate = '0A000'
	   AND statement LIKE 'PREPARE TRANSACTION ''p_refused%'''}),
	'each refusal is an error event (0A000), with its statement');
is( sql(q{
	SELECT count(*) FROM audit.events
	 WHERE kind <> 'error' AND (statement ~ 'prepared, refused|released savepoint'
	                            OR new_row ->> 'note' = 'prepared, refused')}),
	'0', 'no statement or row event of the refused transactions');
audited_commit_seals('after the refusals');
is(sql('SELECT format(\'%s|%s\', ok, problems) FROM audit.verify()'), 't|0',
	'the refusals leave the chain intact');

# --- allowed: prepared transactions that wrote no audit event ------------------

sql(q{
	BEGIN;
	INSERT INTO items VALUES (1, 'committed after the restart');
	PREPARE TRANSACTION 'p_plain';
	BEGIN;
	INSERT INTO items VALUES (2, 'rolled back after the restart');
	PREPARE TRANSACTION 'p_plain_rb';
}, 'plain');
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO notes VALUES (1, 'by an excluded role');
	PREPARE TRANSACTION 'p_quiet';
	BEGIN;
	INSERT INTO notes VALUES (2, 'by an excluded role, rolled back');
	PREPARE TRANSACTION 'p_quiet_rb';
}, connstr => $node->connstr('postgres') . ' user=quiet');
($rc, $out, $err) = $node->psql('postgres', q{
BEGIN;
INSERT INTO notes VALUES (3, 'kept, savepoint rolled back');
SAVEPOINT s;
INSERT INTO acct VALUES (200, 'undone in a savepoint');
SELECT 1/0;
ROLLBACK TO SAVEPOINT s;
PREPARE TRANSACTION 'p_savepoint';
}, connstr => $node->connstr('postgres') . ' user=quiet', on_error_stop => 0);
like($err, qr/division by zero/, 'the statement in the savepoint failed');
is( sql(q{SELECT string_agg(gid || ':' || database, ',' ORDER BY gid) FROM pg_prepared_xacts}),
	'p_plain:plain,p_plain_rb:plain,p_quiet:postgres,p_quiet_rb:postgres,p_savepoint:postgres',
	'transactions that wrote no audit event are prepared: in a database without the '
	  . 'extension, by an excluded role, with the audited work rolled back to a savepoint');
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM audit.events
	 WHERE kind = 'error' AND sqlstate = '22012' AND statement = 'SELECT 1/0'}),
	'the failed statement in the savepoint is an error event all the same');
audited_commit_seals('while prepared');

# --- a crash while prepared ---------------------------------------------------

$node->stop('immediate');
$node->start;
wait_for_startup_event($node);
is(sql(q{SELECT count(*) FROM pg_prepared_xacts}), '5',
	'the prepared transactions survive an immediate shutdown');
audited_commit_seals('prepared, after the restart');

sql(q{COMMIT PREPARED 'p_quiet'; ROLLBACK PREPARED 'p_quiet_rb'; COMMIT PREPARED 'p_savepoint'});
sql(q{COMMIT PREPARED 'p_plain'; ROLLBACK PREPARED 'p_plain_rb'}, 'plain');
is(sql(q{SELECT count(*) FROM pg_prepared_xacts}), '0', 'COMMIT and ROLLBACK PREPARED end them');
is(sql(q{SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM items}, 'plain'),
	'1:committed after the restart',
	'database without the extension: the committed one is there, the rolled back one is not');
is(sql(q{SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM notes}),
	'1:by an excluded role,3:kept, savepoint rolled back',
	'audited database: the committed ones are there, the rolled back one is not');
is( sql(q{
	SELECT count(*) FROM audit.events
	 WHERE statement ~* '(COMMIT|ROLLBACK) PREPARED|excluded role|kept, savepoint|undone in a savepoint'
	    OR new_row ->> 'note' = 'undone in a savepoint'}),
	'0', 'none of it, nor COMMIT / ROLLBACK PREPARED, is in the trail');
audited_commit_seals('after COMMIT PREPARED');

is( sql(q{
	SELECT format('%s|%s|%s|%s', ok, problems, unsealed_events,
	              blocks_checked = (SELECT count(*) FROM audit.block))
	  FROM audit.verify()}),
	't|0|0|t', 'audit.verify() is ok at the end, every block checked');
is(chain_shape($node, 'postgres'), '1|t|t', 'block ids 1..n without gaps, positions contiguous');

$node->stop;
done_testing();
