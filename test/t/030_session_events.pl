# Copyright (c) audit_ext contributors
#
# 030_session_events.pl — events that cannot be written in the audited
# transaction travel through the event queue to the sealer:
#
#   1. a successful TCP login with scram-sha-256 is one 'login' event with
#      the session's role, client address and port, application name and
#      database; its disconnection a 'logout' with the session's duration;
#   2. a wrong password is one 'login_failed' event (role tried, client,
#      28P01, message), in the trail before the client hears of it; a
#      database that does not exist gives a server-log line instead;
#   3. refused and failing statements (42501, 42601, an error inside an
#      explicit transaction block that is then rolled back, an error under
#      SET ROLE) are 'error' events although their transactions rolled
#      back, in the trail before the error reaches the client;
#   4. the trail verifies, and the queued events are sealed;
#   5. killing the sealer while errors occur loses none of them;
#   6. a burst of 500 failed logins while the sealer is stopped fills the
#      queue, and every one of them is either recorded or written to the
#      server log; the queue works normally afterwards.
#
# audit.seal_interval is an hour: a sealer that recorded queued events
# promptly was woken for them.  audit.queue_wait_timeout is 10 s, so that
# a slow machine does not make a failure return before its event is in.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('session_events');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
audit.seal_interval = '1h'
audit.queue_wait_timeout = '10s'
});
my $superuser = getpwuid($>);

# The superuser keeps trust; every other role must give its password.
open my $hba, '>', $node->data_dir . '/pg_hba.conf' or die "pg_hba.conf: $!";
print $hba qq{local all all trust
host all "$superuser" 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
};
close $hba;
$node->start;

my $port = $node->port;
my ($rc, $out, $err);
my $alice = "host=127.0.0.1 port=$port dbname=postgres user=alice password=alice-secret";

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

# Poll until $query returns 't', for at most $secs seconds.
sub wait_until
{
	my ($query, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if sql($query) eq 't';
		usleep(100_000);
	}
	return 0;
}

sub sealer_pid
{
	return sql(q{
		SELECT string_agg(pid::text, ',') FROM pg_stat_activity
		 WHERE backend_type = 'audit_ext sealer' AND datname = 'postgres'});
}

sub wait_for_sealer
{
	wait_until(q{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'audit_ext sealer' AND datname = 'postgres'}, 60);
	return sealer_pid();
}

sql(q{
	CREATE EXTENSION audit_ext;
	CREATE ROLE alice LOGIN PASSWORD 'alice-secret';
	CREATE ROLE burst LOGIN PASSWORD 'burst-secret';
	CREATE ROLE quiet LOGIN PASSWORD 'quiet-secret';
	CREATE ROLE monitor LOGIN PASSWORD 'monitor-secret';
	ALTER ROLE quiet SET audit.log_connections = off;
	ALTER SYSTEM SET audit.exclude_roles = 'monitor';
	SELECT pg_reload_conf();
	CREATE TABLE public.secrets (id int);
	REVOKE ALL ON public.secrets FROM PUBLIC;
	CREATE TABLE public.notes (id int);
	GRANT ALL ON public.notes TO alice;
});
my $sealer = wait_for_sealer();
isnt($sealer, '', 'a sealer serves the database');

###########################################################################
# 1. Login and logout
###########################################################################

my $client_port = $node->safe_psql('postgres',
	'SELECT inet_client_port() FROM pg_sleep(0.3)',
	connstr => "$alice application_name=tap_login");
like($client_port, qr/^\d+$/, 'alice logs in over TCP with her password');

ok( wait_until(qq{
	SELECT count(*) = 2 FROM audit.events
	 WHERE client_port = $client_port AND kind IN ('login', 'logout')}, 30),
	'the login and the logout reach the trail');
is( sql(qq{
	SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', count(*), min(session_role),
	              min(effective_role), min(host(client_addr)), min(client_port),
	              min(application_name), min(database), min(detail::text),
	              bool_and(statement IS NULL AND sqlstate IS NULL))
	  FROM audit.events WHERE kind = 'login' AND client_port = $client_port}),
	"1|alice|alice|127.0.0.1|$client_port|tap_login|postgres|"
	  . '{"auth_method": "scram-sha-256"}|t',
	'one login event: role, client address and port, application name, database, method');
is( sql(qq{
	SELECT format('%s|%s|%s|%s|%s', count(*), min(session_role),
	              min(host(client_addr)), min(application_name), min(database))
	  FROM audit.events WHERE kind = 'logout' AND client_port = $client_port}),
	'1|alice|127.0.0.1|tap_login|postgres',
	'one logout event for the same session');
my ($ms, $duration) = split /\|/, sql(qq{
	SELECT format('%s|%s', detail->>'session_duration_ms', detail->>'session_duration')
	  FROM audit.events WHERE kind = 'logout' AND client_port = $client_port});
ok($ms >= 300 && $ms < 60000,
	"the logout's duration is plausible for a session that slept 0.3 s ($ms ms)");
like($duration, qr/^00:00:\d\d\.\d{3}$/, 'and is also given as HH:MM:SS.mmm');
my ($h, $m, $s) = split /:/, $duration;
is(int($s * 1000 + 0.5), $ms, 'both forms of the duration agree');

# Logins and logouts can be left out; the session's errors cannot.
for my $role ('quiet', 'monitor')
{
	my $conn = "host=127.0.0.1 port=$port dbname=postgres user=$role "
	  . "password=$role-secret application_name=tap_$role";
	($rc, $out, $err) = $node->psql('postgres', 'SELECT 1/0', connstr => $conn);
	like($err, qr/division by zero/, "$role logs in and fails a statement");
	$node->safe_psql('postgres', 'SELECT 1', connstr => $conn);
}
# Once their backends are gone, an error (which waits for its event) is
# recorded after anything they queued.
ok( wait_until(q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE usename IN ('quiet', 'monitor')}, 30),
	'their sessions have ended');
$node->psql('postgres', 'SELECT 1/0', connstr => "$alice application_name=tap_sentinel");
is( sql(q{
	SELECT string_agg(format('%s|%s|%s', session_role, kind, sqlstate), ',' ORDER BY session_role, event_id)
	  FROM audit.events WHERE session_role IN ('quiet', 'monitor')}),
	'monitor|error|22012,quiet|error|22012',
	'no login nor logout with audit.log_connections off or audit.exclude_roles, but their errors');

###########################################################################
# 2. Failed logins
###########################################################################

($rc, $out, $err) = $node->psql('postgres', 'SELECT 1',
	connstr => "host=127.0.0.1 port=$port dbname=postgres user=alice "
	  . 'password=wrong application_name=tap_badpw');
isnt($rc, 0, 'a wrong password is refused');
like($err, qr/password authentication failed for user "alice"/,
	'with the usual message');
# No polling: the backend waited for the event before telling the client.
is( sql(q{
	SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', count(*), min(session_role),
	              min(host(client_addr)), bool_and(client_port > 0),
	              min(application_name), min(database), min(sqlstate),
	              min(message), min(detail->>'auth_method'))
	  FROM audit.events WHERE kind = 'login_failed' AND application_name = 'tap_badpw'}),
	'1|alice|127.0.0.1|t|tap_badpw|postgres|28P01|'
	  . 'password authentication failed for user "alice"|scram-sha-256',
	'one login_failed event, in the trail as soon as the client is refused');

my $log_offset = -s $node->logfile;
($rc, $out, $err) = $node->psql('postgres', 'SELECT 1',
	connstr => "host=127.0.0.1 port=$port dbname=no_such_db user=alice password=alice-secret");
like($err, qr/database "no_such_db" does not exist/,
	'a login to a database that does not exist fails');
ok( eval {
		$node->wait_for_log(
			qr/LOG: .*"audit_ext": "event not recorded in the audit trail", "reason": "the database does not exist[^\n]*"kind": "login_failed"[^\n]*"session_role": "alice"[^\n]*"database": "no_such_db"/,
			$log_offset);
	},
	'it is written to the server log as one JSON line');
is(sql('SELECT 1'), '1', 'the server is still up');
is(sql(q{SELECT count(*) FROM audit.events WHERE database = 'no_such_db'}),
	'0', 'and that event is not in this database\'s trail');

###########################################################################
# 3. Failed statements
###########################################################################

($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM public.secrets',
	connstr => "$alice application_name=tap_denied");
like($err, qr/permission denied for table secrets/, 'alice may not read secrets');
is( sql(q{
	SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', count(*), min(session_role),
	              min(effective_role), min(host(client_addr)), min(sqlstate),
	              min(message), min(statement), min(database),
	              bool_and(class IS NULL AND command IS NULL))
	  FROM audit.events WHERE kind = 'error' AND application_name = 'tap_denied'}),
	'1|alice|alice|127.0.0.1|42501|permission denied for table secrets|'
	  . 'SELECT * FROM public.secrets|postgres|t',
	'the refused statement is an error event, in the trail when the error returns');

($rc, $out, $err) = $node->psql('postgres', 'SELEC 1',
	connstr => "$alice application_name=tap_syntax");
like($err, qr/syntax error/, 'a syntax error');
is( sql(q{
	SELECT format('%s|%s|%s|%s|%s', count(*), min(sqlstate), min(message),
	              min(statement), min(detail->>'position'))
	  FROM audit.events WHERE kind = 'error' AND application_name = 'tap_syntax'}),
	'1|42601|syntax error at or near "SELEC"|SELEC 1|1',
	'is recorded with its SQLSTATE, message, text and position');

($rc, $out, $err) = $node->psql('postgres', q{
BEGIN;
INSERT INTO public.notes VALUES (42);
SELECT 1 / (SELECT count(*) - 1 FROM public.notes);
ROLLBACK;
}, connstr => "$alice application_name=tap_block", on_error_stop => 0);
like($err, qr/division by zero/, 'an error inside an explicit transaction block');
is( sql(q{
	SELECT format('%s|%s|%s|%s', count(*), min(sqlstate), min(message),
	              min(statement))
	  FROM audit.events WHERE kind = 'error' AND application_name = 'tap_block'}),
	'1|22012|division by zero|SELECT 1 / (SELECT count(*) - 1 FROM public.notes)',
	'is recorded although the block was rolled back');
is( sql(q{
	SELECT format('%s|%s|%s', e.detail ? 'failed_txid',
	              (e.detail->>'failed_txid')::xid8 <> e.txid,
	              NOT EXISTS (SELECT FROM audit.txn t
	                           WHERE t.txid = (e.detail->>'failed_txid')::xid8))
	  FROM audit.events e WHERE kind = 'error' AND application_name = 'tap_block'}),
	't|t|t',
	'it names the failed transaction, which left no digest of its own');
is( sql(q{
	SELECT count(*) FROM audit.events
	 WHERE statement LIKE 'INSERT INTO public.notes%' OR kind = 'statement' AND application_name = 'tap_block'}),
	'0', 'the rolled-back INSERT left no event');

# Roles that changed since the login are looked up by the sealer.
($rc, $out, $err) = $node->psql('postgres', q{
SET ROLE alice;
SELECT * FROM public.secrets WHERE id = 7;
}, on_error_stop => 0);
is( sql(q{
	SELECT format('%s|%s|%s|%s', count(*), min(session_role),
	              min(effective_role), min(sqlstate))
	  FROM audit.events
	 WHERE kind = 'error' AND statement LIKE '%public.secrets WHERE id = 7%'}),
	"1|$superuser|alice|42501",
	'an error under SET ROLE names the session role and the effective role');

###########################################################################
# 4. Verification and sealing
###########################################################################

is(sql('SELECT ok, problems FROM audit.verify()'), 't|0',
	'verify() is ok with queued events in the trail');
sql('SELECT audit.seal()');
is( sql(q{
	SELECT format('%s|%s', count(*) > 0, count(*) FILTER (WHERE block_id IS NULL))
	  FROM audit.events WHERE kind IN ('login', 'logout', 'login_failed', 'error')}),
	't|0', 'the queued events are sealed into blocks');
is(sql('SELECT ok, problems, unsealed_events FROM audit.verify()'), 't|0|0',
	'and the sealed trail verifies');

###########################################################################
# 5. Killing the sealer while errors occur
###########################################################################

my $script = '';
for my $i (1 .. 40)
{
	$script .= "SELECT pg_sleep(0.05);\nSELECT 1 / 0 AS kill_$i;\n";
}
my ($bg_out, $bg_err) = ('', '');
my $bg = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres') ],
	'<', \$script, '>', \$bg_out, '2>', \$bg_err);

my $killed = 0;
for my $round (1 .. 2)
{
	usleep(600_000);
	my $pid = wait_for_sealer();
	$killed++ if $pid ne '' && sql("SELECT pg_terminate_backend($pid)") eq 't';
}
$bg->finish;
is($killed, 2, 'the sealer was terminated twice while errors occurred');
my @errors = $bg_err =~ /division by zero/g;
is(scalar(@errors), 40, 'the client saw its 40 errors');
ok( wait_until(q{
	SELECT count(*) = 40 FROM audit.events
	 WHERE kind = 'error' AND statement LIKE 'SELECT 1 / 0 AS kill_%'}, 60),
	'every one of them reaches the trail: none was lost with the sealer');
is( sql(q{
	SELECT count(DISTINCT statement) FROM audit.events
	 WHERE kind = 'error' AND statement LIKE 'SELECT 1 / 0 AS kill_%'}),
	'40', 'each exactly once');

###########################################################################
# 6. A burst of failed logins with the sealer stopped
###########################################################################

sql(q{ALTER SYSTEM SET audit.queue_wait_timeout = '200ms'});
$node->reload;
$log_offset = -s $node->logfile;
$sealer = wait_for_sealer();
kill 'STOP', $sealer;

my $burst = "host=127.0.0.1 port=$port dbname=postgres user=burst password=wrong";
IPC::Run::run(
	[ 'bash', '-c',
		"seq 500 | xargs -P 25 -I{} psql -X -w '$burst application_name=burst_{}' -c 'SELECT 1' >/dev/null 2>&1" ]);
kill 'CONT', $sealer;

sub burst_logged
{
	my $log = slurp_file($node->logfile, $log_offset);
	my @lines = $log =~ /^.*"audit_ext": "event not recorded in the audit trail".*"kind": "login_failed".*"session_role": "burst".*$/mg;
	return scalar(@lines);
}
my $burst_recorded_sql = q{
	SELECT count(*) FROM audit.events WHERE kind = 'login_failed' AND session_role = 'burst'};
my $deadline = time() + 60;
my ($recorded, $logged) = (0, 0);
while (time() < $deadline)
{
	($recorded, $logged) = (sql($burst_recorded_sql), burst_logged());
	last if $recorded + $logged >= 500;
	usleep(200_000);
}
is($recorded + $logged, 500,
	"all 500 failed logins are accounted for: $recorded in the trail, $logged in the server log");
ok($recorded > 0 && $logged > 0,
	'the queue filled up: some were recorded, the rest logged');
is( sql(q{
	SELECT count(DISTINCT application_name) FROM audit.events
	 WHERE kind = 'login_failed' AND session_role = 'burst'}),
	$recorded, 'no failed login was recorded twice');

sql(q{ALTER SYSTEM RESET audit.queue_wait_timeout});
$node->reload;
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM public.secrets',
	connstr => "$alice application_name=tap_after_burst");
is( sql(q{
	SELECT count(*) FROM audit.events
	 WHERE kind = 'error' AND application_name = 'tap_after_burst'}),
	'1', 'after the burst, a refused statement is in the trail as soon as it returns');
is(sql('SELECT ok, problems FROM audit.verify()'), 't|0', 'and the trail verifies');

$node->stop;
done_testing();
