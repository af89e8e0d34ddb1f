# Copyright (c) audit_ext contributors
#
# 071_alerts.pl — real-time alerts: a session that LISTENs on audit_alert
# receives a JSON payload for each event that matches an enabled rule of
# audit.alert_rules, once the event is in the trail:
#
#   1. a privilege change (CREATE ROLE, GRANT): the alert arrives (latency
#      logged, not asserted); one rolled back sends nothing;
#   2. an UPDATE of more than 1000 rows (rows_above), not one of 10;
#   3. a refused statement (permission denied), and a refusal of the guard
#      (tamper_attempt, not refused_statement);
#   4. six failed logins from 127.0.0.1 within a minute (failed_logins),
#      not five;
#   5. DDL outside the allowed window, not inside it;
#   6. a disabled rule sends nothing; only audit_admin may change rules,
#      and nobody may write audit.alert_rules directly;
#   7. a verification failure (a tamper, with the guard off).
#
# "Nothing sent" is asserted without waiting: a later event that does
# alert is awaited, and notifications arrive in commit order.

use strict;
use warnings;

use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('alerts');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
audit.seal_interval = '1h'
audit.queue_wait_timeout = '10s'
});
my $superuser = getpwuid($>);
open my $hba, '>', $node->data_dir . '/pg_hba.conf' or die "pg_hba.conf: $!";
print $hba qq{local all all trust
host all "$superuser" 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
};
close $hba;
$node->start;
my $port = $node->port;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION audit_ext');
sql(q{CREATE ROLE watcher LOGIN PASSWORD 'watcher-secret';
	  GRANT audit_admin TO watcher;
	  CREATE ROLE nobody LOGIN PASSWORD 'nobody-secret';
	  CREATE TABLE big AS SELECT g AS id, 0 AS n FROM generate_series(1, 1500) g;
	  CREATE TABLE secrets (x int)});

my $listener;
my @pending;    # payloads received and not yet taken

sub listen_start
{
	$listener = $node->background_psql('postgres', on_error_stop => 1);
	$listener->query_safe('LISTEN audit_alert');
	@pending = ();
}

# Take what the listener has received so far into @pending.
sub poll
{
	my $out = $listener->query_safe('SELECT 1');
	push @pending, decode_json($1)
	  while $out =~ /Asynchronous notification "audit_alert" with payload "(.*)" received from server process/g;
}

# Wait (up to 30 s) for an alert of rule $rule whose statement matches
# $re; returns it with the seconds waited since $t0, and every alert taken
# before it.  undef if none came.
sub wait_alert
{
	my ($rule, $re, $t0) = @_;
	my $deadline = time() + 30;
	my @before;
	while (time() < $deadline)
	{
		poll();
		while (my $a = shift @pending)
		{
			my $text = ($a->{detail}{statement} // '') . ' ' . ($a->{detail}{message} // '');
			return ($a, time() - $t0, \@before)
			  if $a->{rule} eq $rule && $text =~ $re;
			push @before, $a;
		}
		usleep(20_000);
	}
	return (undef, undef, \@before);
}

sub rules_of { return join ',', map { $_->{rule} } @{ $_[0] }; }

listen_start();

###########################################################################
# 1. Privilege changes, committed and rolled back.

my $t0 = time();
sql('CREATE ROLE alerted_role');
my ($alert, $latency, $before) = wait_alert('role_change', qr/CREATE ROLE alerted_role/, $t0);
ok($alert, 'CREATE ROLE sends a role_change alert');
diag(sprintf('CREATE ROLE alert latency: %.3f s', $latency)) if $alert;
is($alert->{kind}, 'statement', 'the payload names the event kind');
is($alert->{command}, 'CREATE ROLE', 'the payload names the command');
is($alert->{session_role}, $superuser, 'the payload names the session role');
like($alert->{event_id}, qr/^\d+$/, 'the payload has the event id');
like($alert->{occurred_at}, qr/^\d{4}-\d\d-\d\dT/, 'the payload has the time');
is($alert->{detail}{rule_kind}, 'role_change', 'the detail names the rule kind');
is( sql("SELECT command FROM audit.event WHERE event_id = $alert->{event_id}"),
	'CREATE ROLE', 'the event id is the event in the trail');

$t0 = time();
$node->psql('postgres', 'GRANT SELECT ON secrets TO watcher',
	connstr => "host=127.0.0.1 port=$port dbname=postgres user=$superuser");
($alert, $latency) = wait_alert('role_change', qr/GRANT SELECT ON secrets/, $t0);
ok($alert, 'GRANT sends a role_change alert');
diag(sprintf('GRANT alert latency: %.3f s', $latency)) if $alert;
is($alert->{client_addr}, '127.0.0.1', 'the payload has the client address');

sql('BEGIN; CREATE ROLE rolled_back_role; GRANT SELECT ON secrets TO nobody; ROLLBACK');
sql('CREATE ROLE marker_1');
($alert, undef, $before) = wait_alert('role_change', qr/marker_1/, time());
ok($alert, 'the marker alert arrives');
is(rules_of($before), '', 'a rolled-back privilege change sends nothing');

###########################################################################
# 2. UPDATE of more than 1000 rows.

sql('UPDATE big SET n = 1 WHERE id <= 10');
sql('UPDATE big SET n = 2');
($alert, undef, $before) = wait_alert('rows_above', qr/UPDATE big SET n = 2/, time());
ok($alert, 'an UPDATE of 1500 rows sends a rows_above alert');
is($alert->{detail}{rows_affected}, 1500, 'with the number of rows');
is($alert->{detail}{rows_above}, 1000, 'and the threshold');
is(rules_of($before), '', 'an UPDATE of 10 rows sends nothing');

###########################################################################
# 3. A refused statement, a refusal of the guard.

$node->psql('postgres', 'SELECT * FROM secrets',
	connstr => "host=127.0.0.1 port=$port dbname=postgres user=nobody password=nobody-secret");
($alert) = wait_alert('refused_statement', qr/SELECT \* FROM secrets/, time());
ok($alert, 'a refused statement sends a refused_statement alert');
is($alert->{detail}{sqlstate}, '42501', 'with its SQLSTATE');
is($alert->{session_role}, 'nobody', 'and who was refused');

$node->psql('postgres', 'DELETE FROM audit.event');
($alert, undef, $before) = wait_alert('tamper_attempt', qr/DELETE FROM audit\.event/, time());
ok($alert, 'a refusal of the guard sends a tamper_attempt alert');
like($alert->{detail}{message}, qr/^audit_ext guard: /, 'with the guard\'s message');
is(rules_of($before), '', 'and no refused_statement alert');

###########################################################################
# 4. Failed logins from one address.

my $bad = "host=127.0.0.1 port=$port dbname=postgres user=nobody password=wrong";
sub failed_logins
{
	my ($n, $app) = @_;
	$node->psql('postgres', 'SELECT 1', connstr => "$bad application_name=$app") for 1 .. $n;
	$node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM audit.events WHERE kind = 'login_failed' AND application_name = '$app'")
	  or die "failed logins not recorded";
}
failed_logins(5, 'five');
sql('CREATE ROLE marker_2');
($alert, undef, $before) = wait_alert('role_change', qr/marker_2/, time());
is(rules_of($before), '', 'five failed logins send nothing');
$t0 = time();
failed_logins(1, 'sixth');
($alert) = wait_alert('failed_logins', qr//, $t0);
ok($alert, 'the sixth failed login within a minute sends a failed_logins alert');
is($alert->{client_addr}, '127.0.0.1', 'with the address');
is($alert->{detail}{failed_logins}, 6, 'and the count');
is($alert->{kind}, 'login_failed', 'of a login_failed event');

###########################################################################
# 5. DDL outside the window.

sql(q{SELECT audit.alert_rule_set('ddl_outside_window', true,
	'{"from": "00:00", "to": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]}')});
sql('CREATE TABLE inside_window (x int)');
sql(q{SELECT audit.alert_rule_set('ddl_outside_window', true, '{"days": []}')});
sql('CREATE TABLE outside_window (x int)');
($alert, undef, $before) = wait_alert('ddl_outside_window', qr/outside_window/, time());
ok($alert, 'DDL outside the window sends a ddl_outside_window alert');
is($alert->{object_name}, 'public.outside_window', 'naming the object');
is($alert->{detail}{window}, '08:00-18:00 UTC', 'and the window (parameters left out take their defaults)');
is(rules_of($before), '', 'DDL inside the window sends nothing');

###########################################################################
# 6. Disabled rules; who may change rules.

sql(q{SELECT audit.alert_rule_set('role_change', false)});
sql('CREATE ROLE unalerted_role');
sql(q{SELECT audit.alert_rule_set('role_change', true)});
sql('CREATE ROLE marker_3');
($alert, undef, $before) = wait_alert('role_change', qr/marker_3/, time());
ok($alert, 'a re-enabled rule alerts again');
is(rules_of($before), '', 'a disabled rule sends nothing');

my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT audit.alert_rule_set('role_change', false)},
	connstr => "host=127.0.0.1 port=$port dbname=postgres user=nobody password=nobody-secret");
like($err, qr/permission denied for function alert_rule_set/, 'a non-admin cannot change rules');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT enabled FROM audit.alert_rule_set('rows_above', false)},
	connstr => "host=127.0.0.1 port=$port dbname=postgres user=watcher password=watcher-secret");
is($out, 'f', 'audit_admin can');
($rc, $out, $err) = $node->psql('postgres', q{UPDATE audit.alert_rules SET enabled = false});
like($err, qr/audit_ext guard: /, 'nobody writes audit.alert_rules directly');
is( sql(q{SELECT string_agg(name, ',' ORDER BY rule_id) FROM audit.alert_rules WHERE NOT enabled}),
	'rows_above', 'the rules are as alert_rule_set() left them');
is( sql(q{SELECT count(*) FROM audit.events WHERE kind = 'config' AND command = 'ALERT RULE'}),
	'5', 'each change of a rule is a config event');

###########################################################################
# 7. A verification failure.

sql('SELECT audit.seal()');
$listener->quit;
$node->append_conf('postgresql.conf', 'audit.guard = off');
$node->restart;
listen_start();
sql(q{UPDATE audit.event SET statement = 'harmless' WHERE statement = 'CREATE ROLE alerted_role'});
sql('SELECT ok FROM audit.verify()');
($alert) = wait_alert('verification_failure', qr//, time());
ok($alert, 'a verification that finds a problem sends a verification_failure alert');
cmp_ok($alert->{detail}{problems}, '>=', 1, 'with the number of problems');
like($alert->{detail}{message}, qr/\S/, 'and the first problem');
is($alert->{event_id}, undef, 'not about one event');

$listener->quit;
$node->stop;
done_testing();
