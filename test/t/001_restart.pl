
# Copyright (c) audit_ext contributors
#
# 001_restart.pl — committed audit events survive a restart, after a clean
# (fast) shutdown and after an immediate one (crash recovery); an aborted
# transaction leaves none; verify() is ok afterwards; event ids keep
# increasing.  The audited statements come from an ordinary LOGIN role over
# TCP, so the who-and-where columns are checked too.  The transaction that
# fails part-way leaves no statement event, but its failure is an 'error'
# event (committed before the client hears of it), and that event too
# survives the restarts unchanged.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
# This test compares snapshots of the whole trail (events, counts, blocks)
# across restarts.  Logins and logouts are written by the sealer at moments
# of its own, after any snapshot, and are not what this test is about
# (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->start;

# An ordinary role, connecting over TCP with an application name of its own.
my $tcp = 'host=127.0.0.1 port=' . $node->port
  . ' dbname=postgres user=tap_app application_name=tap_restart';

sub app_psql
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, connstr => $tcp);
}

# The events as a stable text: every column that must survive a restart.
my $events_sql = q{
	SELECT event_id, txid, occurred_at, kind, command, object_name, session_role,
	       effective_role, client_addr, application_name, database, statement,
	       rows_affected, sqlstate, message, detail, format_version,
	       encode(leaf_hash, 'hex')
	  FROM audit.events WHERE kind <> 'server' ORDER BY event_id};
# (Each start adds a startup event, kind server: 050_guard.pl tests them.)
# The sealed blocks, likewise.
my $blocks_sql = q{
	SELECT block_id, first_position, last_position, txn_count, event_count,
	       sealed_at, encode(prev_hash, 'hex'), encode(block_hash, 'hex'),
	       encode(tree_root, 'hex')
	  FROM audit.blocks ORDER BY block_id};

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE ROLE tap_app LOGIN;
	GRANT CREATE ON SCHEMA public TO tap_app;
});

app_psql(q{
	CREATE TABLE public.accounts (id int PRIMARY KEY, owner text);
	INSERT INTO public.accounts VALUES (1, 'ann'), (2, 'ben'), (3, 'cy');
	UPDATE public.accounts SET owner = upper(owner) WHERE id < 3;
	DELETE FROM public.accounts WHERE id = 3;
});

# An aborted transaction, and a transaction that fails part-way: neither may
# leave a statement event; the failure itself is one 'error' event.
app_psql(q{
	BEGIN;
	INSERT INTO public.accounts VALUES (100, 'rolled back');
	CREATE TABLE public.never_created (n int);
	ROLLBACK;
});
my ($rc, $out, $err) = $node->psql('postgres', q{
	BEGIN;
	INSERT INTO public.accounts VALUES (101, 'failed');
	INSERT INTO public.accounts VALUES (1, 'duplicate key');
	COMMIT;
}, connstr => $tcp);
isnt($rc, 0, 'a transaction that fails part-way fails');
like($err, qr/duplicate key value violates unique constraint/,
	'it fails on the duplicate key');

is( $node->safe_psql(
		'postgres', q{
	SELECT string_agg(format('%s|%s|%s|%s', kind, coalesce(command, sqlstate), object_name,
	                         coalesce(rows_affected::text, '-')), ',' ORDER BY event_id)
	  FROM audit.events WHERE session_role = 'tap_app'}),
	'statement|CREATE TABLE|public.accounts|-,statement|INSERT|public.accounts|3,'
	  . 'statement|UPDATE|public.accounts|2,statement|DELETE|public.accounts|1,'
	  . 'error|23505||-',
	'the committed statements of tap_app are recorded, in order, then the failure, and nothing else');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM audit.events
	 WHERE kind = 'statement' AND statement ~ 'rolled back|failed|never_created|duplicate'}),
	'0',
	'the aborted and the failed transaction left no statement event');
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s|%s|%s', count(*), min(sqlstate), min(statement),
	              bool_and(message ~ '^duplicate key value violates unique constraint'),
	              bool_and(NOT EXISTS (SELECT FROM audit.transactions t
	                                    WHERE t.txid = (e.detail->>'failed_txid')::xid8)))
	  FROM audit.events e
	 WHERE kind = 'error' AND statement ~ 'rolled back|failed|never_created|duplicate'}),
	"1|23505|INSERT INTO public.accounts VALUES (1, 'duplicate key')|t|t",
	'the failed transaction is one error event (23505, the statement that failed), '
	  . 'and its own transaction left no digest');
is( $node->safe_psql(
		'postgres', q{
	SELECT DISTINCT format('%s|%s|%s|%s|%s|%s', session_role, effective_role,
	       client_addr, client_port IS NOT NULL, application_name, database)
	  FROM audit.events WHERE session_role = 'tap_app'}),
	'tap_app|tap_app|127.0.0.1|t|tap_restart|postgres',
	'who and where: role, TCP address and port, application name, database');

my $before = $node->safe_psql('postgres', $events_sql);
my $count_before = $node->safe_psql('postgres', 'SELECT count(*) FROM audit.events');
cmp_ok($count_before, '>=', 7, 'events were recorded before the restart');
$node->safe_psql('postgres', 'SELECT audit.seal()');
my $blocks_before = $node->safe_psql('postgres', $blocks_sql);
isnt($blocks_before, '', 'blocks were sealed before the restart');

# --- clean restart ----------------------------------------------------------

$node->stop('fast');
$node->start;
wait_for_startup_event($node);

is($node->safe_psql('postgres', $events_sql),
	$before, 'a fast restart keeps every committed event, unchanged');
is($node->safe_psql('postgres', 'SELECT ok, events_checked, problems, first_problem IS NULL FROM audit.verify()'),
	"t|@{[$count_before + 1]}|0|t", 'verify() is ok after a fast restart (the startup event too)');
like($node->safe_psql('postgres', $blocks_sql),
	qr/^\Q$blocks_before\E(\n|$)/, 'a fast restart keeps every sealed block, unchanged (the startup event may be sealed after them)');

my $max_before = $node->safe_psql('postgres', 'SELECT max(event_id) FROM audit.events');
app_psql(q{INSERT INTO public.accounts VALUES (4, 'dee')});
my $after_fast = $node->safe_psql('postgres', q{
	SELECT format('%s|%s|%s', command, object_name, rows_affected)
	  FROM audit.events WHERE event_id > } . $max_before . q{ AND kind <> 'server' ORDER BY event_id});
is($after_fast, 'INSERT|public.accounts|1',
	'the first statement after the restart gets an id above all earlier ones');

# --- crash (immediate stop) and recovery --------------------------------------

# Committed work just before the crash; a transaction still open at the crash.
app_psql(q{
	CREATE INDEX accounts_owner_idx ON public.accounts (owner);
	INSERT INTO public.accounts SELECT g, 'bulk' FROM generate_series(10, 59) g;
});
my $open = $node->background_psql('postgres', on_error_stop => 1);
$open->query_safe(q{BEGIN; INSERT INTO public.accounts VALUES (1000, 'in flight at crash')});

$before = $node->safe_psql('postgres', $events_sql);
$count_before = $node->safe_psql('postgres', 'SELECT count(*) FROM audit.events');
$max_before = $node->safe_psql('postgres', 'SELECT max(event_id) FROM audit.events');
$node->safe_psql('postgres', 'SELECT audit.seal()');
$blocks_before = $node->safe_psql('postgres', $blocks_sql);

$node->stop('immediate');
eval { $open->quit; };    # its backend is gone with the server
$node->start;
wait_for_startup_event($node);

is($node->safe_psql('postgres', $events_sql),
	$before, 'an immediate stop keeps every committed event, unchanged');
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s', count(*) FILTER (WHERE statement LIKE '%in flight at crash%'),
	              (SELECT count(*) FROM public.accounts WHERE id = 1000))
	  FROM audit.events}),
	'0|0',
	'the transaction open at the crash left neither its row nor its event');
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s', command, rows_affected) FROM audit.events
	 WHERE statement LIKE 'INSERT INTO public.accounts SELECT g%'}),
	'INSERT|50',
	'the last committed statement before the crash is there with its row count');
is($node->safe_psql('postgres', 'SELECT ok, events_checked, problems, first_problem IS NULL FROM audit.verify()'),
	"t|@{[$count_before + 1]}|0|t", 'verify() is ok after crash recovery (the startup event too)');
like($node->safe_psql('postgres', $blocks_sql),
	qr/^\Q$blocks_before\E(\n|$)/, 'an immediate stop keeps every sealed block, unchanged');

app_psql(q{
	UPDATE public.accounts SET owner = 'after crash' WHERE id = 4;
	DROP INDEX public.accounts_owner_idx;
});
is( $node->safe_psql(
		'postgres', q{
	SELECT string_agg(format('%s|%s', command, object_name), ',' ORDER BY event_id)
	  FROM audit.events WHERE event_id > } . $max_before . q{ AND kind <> 'server'}),
	'UPDATE|public.accounts,DROP INDEX|public.accounts_owner_idx',
	'statements after crash recovery get ids above every id before the crash');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) = count(DISTINCT event_id) FROM audit.events}),
	't', 'no event id was reused');
is( $node->safe_psql(
		'postgres', q{
	SELECT ok, problems, events_checked = (SELECT count(*) FROM audit.event)
	  FROM audit.verify()}),
	't|0|t', 'verify() is ok with events from before and after the crash');
my $head = $node->safe_psql('postgres', 'SELECT audit.seal()');
is( $node->safe_psql(
		'postgres', qq{
	SELECT format('%s|%s', count(*) FILTER (WHERE block_id IS NULL),
	              bool_and(block_id <= $head))
	  FROM audit.events}),
	'0|t', 'events from after the crash are sealed into the same chain');
is($node->safe_psql('postgres', 'SELECT ok, problems, unsealed_events FROM audit.verify()'),
	't|0|0', 'and it verifies');

$node->stop;
done_testing();
