# Copyright (c) audit_ext contributors
#
# 031_pooled_context.pl — one database role ('app') behind a transaction
# pooler serves several application users.  audit.set_context() inside each
# transaction tags that transaction's events with the application user and
# the W3C traceparent, and nothing of it is left for the next transaction on
# the same connection; two connections interleaving keep theirs apart.  A
# non-superuser cannot switch auditing off (SET audit.log is refused with
# 42501) and the session's later statements are recorded as before.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pooled_context');
$node->init;
$node->append_conf('postgresql.conf', q{shared_preload_libraries = 'audit_ext'});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE ROLE app LOGIN;
	CREATE TABLE public.orders (id int PRIMARY KEY, note text);
	GRANT SELECT, INSERT, UPDATE ON public.orders TO app;
	GRANT CREATE ON SCHEMA public TO app;
});

my %tp = (
	alice => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
	bob   => '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
	carol => '00-11111111111111111111111111111111-2222222222222222-01',
	dave  => '00-33333333333333333333333333333333-4444444444444444-00',);

# The events of the orders table since event id $after, one line each:
# statement|app_user|traceparent|context as text|txid rank.
sub order_events
{
	my ($after, $where) = @_;
	$where //= 'true';
	return $node->safe_psql(
		'postgres', qq{
		SELECT format('%s|%s|%s|%s', statement, coalesce(app_user, '-'),
		              coalesce(context->>'traceparent', '-'),
		              coalesce(context::text, '-'))
		  FROM audit.events
		 WHERE event_id > $after AND kind = 'statement'
		   AND object_name = 'public.orders' AND $where
		 ORDER BY event_id});
}

sub max_event_id
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(event_id), 0) FROM audit.events');
}

sub set_context_sql
{
	my ($user) = @_;
	return qq{SELECT audit.set_context('$user', '{"traceparent":"$tp{$user}"}')};
}

# --- one connection, handed over at every commit ------------------------------

my $start = max_event_id();
my $pool = $node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
my $pool_pid = $pool->query_safe('SELECT pg_backend_pid()');

$pool->query_safe(
	'BEGIN; ' . set_context_sql('alice') . q{;
	INSERT INTO public.orders VALUES (1, 'by alice');
	UPDATE public.orders SET note = 'by alice, again' WHERE id = 1;
	COMMIT;});
$pool->query_safe(
	'BEGIN; ' . set_context_sql('bob') . q{;
	INSERT INTO public.orders VALUES (2, 'by bob');
	COMMIT;});
# A transaction of someone who did not call set_context(): nothing leaks in.
$pool->query_safe(q{BEGIN; INSERT INTO public.orders VALUES (3, 'by nobody'); COMMIT;});
$pool->query_safe(q{INSERT INTO public.orders VALUES (4, 'autocommit, nobody')});
# A rolled-back transaction leaves nothing either.
$pool->query_safe(
	'BEGIN; ' . set_context_sql('alice') . q{;
	INSERT INTO public.orders VALUES (5, 'rolled back');
	ROLLBACK;});
$pool->query_safe(q{INSERT INTO public.orders VALUES (6, 'after the rollback')});
# Session mode: set for the session, cleared by the pooler's DISCARD ALL.
$pool->query_safe(q{SELECT audit.set_context('erin', '{"tenant": "t1"}', false)});
$pool->query_safe(q{INSERT INTO public.orders VALUES (7, 'by erin')});
$pool->query_safe(q{BEGIN; INSERT INTO public.orders VALUES (8, 'by erin, in a transaction'); COMMIT;});
$pool->query_safe(q{DISCARD ALL});
$pool->query_safe(q{INSERT INTO public.orders VALUES (9, 'after DISCARD ALL')});

is( order_events($start),
	join("\n",
		"INSERT INTO public.orders VALUES (1, 'by alice')|alice|$tp{alice}|{\"traceparent\": \"$tp{alice}\"}",
		"UPDATE public.orders SET note = 'by alice, again' WHERE id = 1|alice|$tp{alice}|{\"traceparent\": \"$tp{alice}\"}",
		"INSERT INTO public.orders VALUES (2, 'by bob')|bob|$tp{bob}|{\"traceparent\": \"$tp{bob}\"}",
		"INSERT INTO public.orders VALUES (3, 'by nobody')|-|-|-",
		"INSERT INTO public.orders VALUES (4, 'autocommit, nobody')|-|-|-",
		"INSERT INTO public.orders VALUES (6, 'after the rollback')|-|-|-",
		"INSERT INTO public.orders VALUES (7, 'by erin')|erin|-|{\"tenant\": \"t1\"}",
		"INSERT INTO public.orders VALUES (8, 'by erin, in a transaction')|erin|-|{\"tenant\": \"t1\"}",
		"INSERT INTO public.orders VALUES (9, 'after DISCARD ALL')|-|-|-"),
	'one pooled connection: each transaction carries its own application user and traceparent, and none leaks into the next');
is( $node->safe_psql(
		'postgres', qq{
	SELECT format('%s|%s|%s', count(DISTINCT backend_pid), min(backend_pid) = $pool_pid,
	              count(*) FILTER (WHERE session_role <> 'app' OR effective_role <> 'app'))
	  FROM audit.events
	 WHERE event_id > $start AND kind = 'statement' AND object_name = 'public.orders'}),
	'1|t|0',
	'all of it came from the one backend of role app');
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(app_user || ':' || n, ',' ORDER BY app_user)
	  FROM (SELECT app_user, count(DISTINCT txid) AS n FROM audit.events
	         WHERE event_id > $start AND kind = 'statement' AND app_user IS NOT NULL
	         GROUP BY app_user) s}),
	'alice:1,bob:1,erin:2',
	'alice and bob each in one transaction; erin in two');
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(*) FROM audit.events
	 WHERE event_id > $start AND statement LIKE '%rolled back%'}),
	'0', 'the rolled-back transaction left no event');
$pool->quit;

# --- two connections, interleaved ---------------------------------------------

$start = max_event_id();
my $c1 = $node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
my $c2 = $node->background_psql('postgres', extra_params => [ '-U', 'app' ]);
$c1->query_safe('BEGIN; ' . set_context_sql('carol'));
$c2->query_safe('BEGIN; ' . set_context_sql('dave'));
$c1->query_safe(q{INSERT INTO public.orders VALUES (10, 'c1 carol')});
$c2->query_safe(q{INSERT INTO public.orders VALUES (11, 'c2 dave')});
$c1->query_safe(q{INSERT INTO public.orders VALUES (12, 'c1 carol')});
$c2->query_safe(q{COMMIT});
$c1->query_safe(q{UPDATE public.orders SET note = 'c1 carol, after c2 committed' WHERE id = 12});
$c2->query_safe(q{INSERT INTO public.orders VALUES (13, 'c2 nobody')});
$c2->query_safe('BEGIN; ' . set_context_sql('alice'));
$c1->query_safe(q{COMMIT});
$c2->query_safe(q{INSERT INTO public.orders VALUES (14, 'c2 alice')});
$c1->query_safe(q{INSERT INTO public.orders VALUES (15, 'c1 nobody')});
$c2->query_safe(q{COMMIT});
$c1->quit;
$c2->quit;

is( order_events($start),
	join("\n",
		"INSERT INTO public.orders VALUES (10, 'c1 carol')|carol|$tp{carol}|{\"traceparent\": \"$tp{carol}\"}",
		"INSERT INTO public.orders VALUES (11, 'c2 dave')|dave|$tp{dave}|{\"traceparent\": \"$tp{dave}\"}",
		"INSERT INTO public.orders VALUES (12, 'c1 carol')|carol|$tp{carol}|{\"traceparent\": \"$tp{carol}\"}",
		"UPDATE public.orders SET note = 'c1 carol, after c2 committed' WHERE id = 12|carol|$tp{carol}|{\"traceparent\": \"$tp{carol}\"}",
		"INSERT INTO public.orders VALUES (13, 'c2 nobody')|-|-|-",
		"INSERT INTO public.orders VALUES (14, 'c2 alice')|alice|$tp{alice}|{\"traceparent\": \"$tp{alice}\"}",
		"INSERT INTO public.orders VALUES (15, 'c1 nobody')|-|-|-"),
	'two interleaved connections keep their application users and traceparents apart');
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(app_user || ':' || n, ',' ORDER BY app_user)
	  FROM (SELECT app_user, count(DISTINCT backend_pid) AS n FROM audit.events
	         WHERE event_id > $start AND kind = 'statement' AND app_user IS NOT NULL
	         GROUP BY app_user) s}),
	'alice:1,carol:1,dave:1',
	'each application user\'s events come from one backend');
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(DISTINCT backend_pid) FROM audit.events
	 WHERE event_id > $start AND kind = 'statement' AND app_user IN ('carol', 'dave')}),
	'2', 'carol and dave were on different backends');

# --- a non-superuser cannot switch auditing off -------------------------------

$start = max_event_id();
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
\set VERBOSITY verbose
SET application_name = 'refused_set';
SET audit.log = 'none';
SHOW audit.log;
SELECT set_config('audit.log', 'none', false);
INSERT INTO public.orders VALUES (20, 'after the refused SET');
SELECT count(*) FROM public.orders WHERE id = 20;
CREATE TABLE public.app_table (a int);
},
	extra_params => [ '-U', 'app' ],
	on_error_stop => 0);
like(
	$stderr,
	qr/ERROR:  42501: permission denied to set parameter "audit\.log"/,
	'SET audit.log by a non-superuser fails with 42501');
my @refusals = ($stderr =~ /ERROR:  42501: permission denied to set parameter "audit\.log"/g);
is(scalar(@refusals), 2, 'so does set_config(\'audit.log\', ...)');
is($stdout, "ddl, write, role, misc\n1", 'audit.log stays at its default in that session');
is( $node->safe_psql(
		'postgres', qq{
	SELECT string_agg(format('%s|%s|%s|%s', class, command, object_name, session_role),
	                  ',' ORDER BY event_id)
	  FROM audit.events
	 WHERE event_id > $start AND application_name = 'refused_set' AND kind = 'statement'}),
	'write|INSERT|public.orders|app,ddl|CREATE TABLE|public.app_table|app',
	'the session\'s later statements are recorded with the default classes (write, ddl; not the read)');

# Failed statements may be recorded as kind 'error' events (when that is
# built): if there is one for the refused SET, it must say what happened.
my $errors = $node->safe_psql(
	'postgres', qq{
	SELECT format('%s|%s|%s|%s', statement, sqlstate, message, session_role)
	  FROM audit.events
	 WHERE event_id > $start AND application_name = 'refused_set' AND kind = 'error'
	 ORDER BY event_id});
if ($errors eq '')
{
	note('no error events recorded (not built yet): not checked');
}
else
{
	is( (split /\n/, $errors)[0],
		q{SET audit.log = 'none'|42501|permission denied to set parameter "audit.log"|app},
		'the refused SET is recorded as an error event with its SQLSTATE');
}

is($node->safe_psql('postgres', 'SELECT ok, problems FROM audit.verify()'),
	't|0', 'verify() is ok');

$node->stop;
done_testing();
