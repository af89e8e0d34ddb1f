
# Copyright (c) audit_ext contributors
#
# 002_tamper.pl — the attack no in-database guard can stop: a superuser
# restarts the server without audit_ext preloaded, edits events directly,
# and restarts with it.  audit.verify() must then name what was changed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $node = PostgreSQL::Test::Cluster->new('tamper');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
# verify() must check exactly the events counted before the tamper, after it
# and after the repair.  Logins and logouts of the test's own sessions would
# be written by the sealer in between, at moments of its own; they are not
# what this test is about (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE public.payments (id int PRIMARY KEY, amount numeric);
	INSERT INTO public.payments SELECT g, g * 10 FROM generate_series(1, 5) g;
	UPDATE public.payments SET amount = 0 WHERE id <= 2;
	DELETE FROM public.payments WHERE id = 5;
	CREATE INDEX payments_amount_idx ON public.payments (amount);
	INSERT INTO public.payments VALUES (6, 60);
});

my $total = $node->safe_psql('postgres', 'SELECT count(*) FROM audit.event');
cmp_ok($total, '>=', 7, 'the statements were recorded');
is($node->safe_psql('postgres', 'SELECT ok, events_checked, problems, first_problem IS NULL FROM audit.verify()'),
	"t|$total|0|t", 'an untouched trail verifies ok');

# The two events to alter: the UPDATE's (its statement text) and the later
# DELETE's (its row count).
my $stmt_id = $node->safe_psql('postgres', q{
	SELECT event_id FROM audit.event
	 WHERE command = 'UPDATE' AND object_name = 'public.payments'});
my $rows_id = $node->safe_psql('postgres', q{
	SELECT event_id FROM audit.event
	 WHERE command = 'DELETE' AND object_name = 'public.payments'});
like($stmt_id, qr/^\d+$/, 'one UPDATE event');
like($rows_id, qr/^\d+$/, 'one DELETE event');
cmp_ok($stmt_id, '<', $rows_id, 'the UPDATE event comes first');
my $stored_hash = $node->safe_psql('postgres',
	"SELECT encode(leaf_hash, 'hex') FROM audit.event WHERE event_id = $stmt_id");

# --- the attack ---------------------------------------------------------------

$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'the server now runs without audit_ext');

# Edit the later event first, so that the lower id's new row version lies
# physically after the other: the report must not depend on heap order.
# session_replication_role = replica switches off ordinary and event
# triggers, as an attacker would, should the trail ever be guarded by any.
$node->safe_psql('postgres', qq{
	SET session_replication_role = replica;
	UPDATE audit.event SET rows_affected = rows_affected + 1 WHERE event_id = $rows_id;
	UPDATE audit.event SET statement = 'harmless' WHERE event_id = $stmt_id;
});
is( $node->safe_psql(
		'postgres', qq{
	SELECT format('%s|%s', statement, (SELECT rows_affected FROM audit.event WHERE event_id = $rows_id))
	  FROM audit.event WHERE event_id = $stmt_id}),
	'harmless|2',
	'without the library a superuser can edit events');

$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'");
$node->start;
wait_for_startup_event($node);    # each start adds one event (050_guard.pl)

# --- detection ----------------------------------------------------------------

my ($ok, $checked, $problems, $first) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT ok, events_checked, problems, first_problem FROM audit.verify()'),
  4;
is($ok, 'f', 'verify() is not ok after the tamper');
is($checked, $total + 1, 'verify() still checks every event (and the startup event)');
is($problems, '2', 'verify() counts both altered events');
like(
	$first,
	qr/^event $stmt_id: event altered: stored leaf hash \\x[0-9a-f]{64}, computed \\x[0-9a-f]{64}$/,
	'first_problem names the lower altered event id');
like($first, qr/stored leaf hash \\x$stored_hash,/,
	'first_problem quotes the hash stored when the event was recorded');
unlike($first, qr/computed \\x$stored_hash$/,
	'the recomputed hash differs from the stored one');

# Restoring the original values (again without the library) makes the trail
# verify again: the hash covers exactly the content, not e.g. the row's
# physical position.
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
$node->safe_psql('postgres', qq{
	SET session_replication_role = replica;
	UPDATE audit.event SET rows_affected = rows_affected - 1 WHERE event_id = $rows_id;
	UPDATE audit.event SET statement = 'UPDATE public.payments SET amount = 0 WHERE id <= 2'
	 WHERE event_id = $stmt_id;
});
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'");
$node->start;
wait_for_startup_event($node);    # each start adds one event (050_guard.pl)
is($node->safe_psql('postgres', 'SELECT ok, events_checked, problems FROM audit.verify()'),
	"t|@{[$total + 2]}|0", 'restoring the original values verifies again');

$node->stop;
done_testing();
