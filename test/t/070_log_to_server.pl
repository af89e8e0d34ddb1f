# Copyright (c) audit_ext contributors
#
# 070_log_to_server.pl — audit.log_to_server writes each committed event to
# the server log as one line "AUDIT_EXT_JSON {...}":
#
#   1. every event of the trail is logged once, statements and row events
#      from the sessions, a failed statement (an 'error' event the sealer
#      writes from the event queue) from the sealer;
#   2. what a rolled-back transaction or a rolled-back savepoint wrote is
#      not logged; what the transaction kept is;
#   3. each logged document equals audit.export()'s document for the same
#      event_id, except audit.block_id (not sealed yet when logged);
#   4. the setting is superuser-only, and off means no line.

use strict;
use warnings;

use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('log_to_server');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'audit_ext'
audit.log_to_server = on
audit.log_connections = off
audit.log = 'ddl, write, role'
audit.queue_wait_timeout = '10s'
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION audit_ext');
sql('CREATE TABLE item (id int PRIMARY KEY, label text)');
sql(q{SELECT audit.track('item')});
sql(q{INSERT INTO item VALUES (1, 'committed "quoted" \ and
a new line')});
sql(q{BEGIN; INSERT INTO item VALUES (2, 'rolled-back-marker'); ROLLBACK});
sql(q{BEGIN; INSERT INTO item VALUES (3, 'kept-marker');
	SAVEPOINT s; INSERT INTO item VALUES (4, 'savepoint-marker'); ROLLBACK TO s;
	COMMIT});
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT 1/0');
like($err, qr/division by zero/, 'the failing statement failed');

# The documents logged so far, by event id, and how often each id was.
my (%logged, %times);
for my $line (split /\n/, slurp_file($node->logfile))
{
	next unless $line =~ /AUDIT_EXT_JSON (\{.*\})$/;
	my $d = decode_json($1);
	$logged{ $d->{audit}{event_id} } = $d;
	$times{ $d->{audit}{event_id} }++;
}
my $logged = \%logged;
my @ids = split /\n/, sql('SELECT event_id FROM audit.event ORDER BY event_id');
ok(@ids >= 8, 'the trail has events (' . scalar(@ids) . ')');
is_deeply([ sort { $a <=> $b } keys %logged ], \@ids,
	'every event of the trail is logged, and nothing else');
is(scalar(grep { $_ != 1 } values %times), 0, 'each event is logged once');

my $log = slurp_file($node->logfile);
my @json_lines = grep { /AUDIT_EXT_JSON / } split /\n/, $log;
is(scalar(grep { /rolled-back-marker|savepoint-marker/ } @json_lines), 0,
	'nothing a rolled-back transaction or savepoint wrote is logged');
is(scalar(grep { /kept-marker/ } @json_lines), 2,
	'the statement and row event the transaction kept are logged');
my @lines = split /\n/, $log;
my $followed = 0;
for my $i (0 .. $#lines - 1)
{
	next unless $lines[$i] =~ /\[(\d+)\].*AUDIT_EXT_JSON /;
	$followed++ if $lines[ $i + 1 ] =~ /\[$1\].*(STATEMENT|CONTEXT):  /;
}
is($followed, 0, 'the lines carry no STATEMENT or CONTEXT');

my ($error) = grep { $_->{audit}{kind} eq 'error' } values %$logged;
ok($error, 'the failed statement is logged (from the sealer)');
is($error->{error}{code}, '22012', 'with its SQLSTATE');
is($error->{event}{outcome}, 'failure', 'as a failure');
is($error->{db}{statement}, 'SELECT 1/0', 'with its statement');
isnt($error->{process}{pid}, undef, 'with the pid of the session it happened in');

my ($row) = grep { $_->{audit}{kind} eq 'row' && $_->{audit}{row_key}{id} == 1 } values %$logged;
is($row->{audit}{new_row}{label}, "committed \"quoted\" \\ and\na new line",
	'quotes, backslashes and new lines survive');

# Each logged document is audit.export()'s, but for block_id.
sql('SELECT audit.seal()');
my $same = 0;
for my $id (@ids)
{
	my $exported = decode_json(sql("SELECT audit.export($id - 1, 1)"));
	ok(defined delete $exported->{audit}{block_id}, "event $id is sealed")
	  or next;
	if (is_deeply($logged->{$id}, $exported, "event $id: logged = exported"))
	{
		$same++;
	}
}
is($same, scalar(@ids), 'all logged documents equal the exported ones');

# Superuser-only; off means off.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($rc, $out, $err) = $node->psql('postgres', 'SET audit.log_to_server = off',
	extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied to set parameter "audit.log_to_server"/,
	'an ordinary role cannot turn it off');
sql(q{SET audit.log_to_server = off; INSERT INTO item VALUES (5, 'off-marker')});
like(sql(q{SELECT count(*) FROM audit.event WHERE new_row ->> 'label' = 'off-marker'}),
	qr/^1$/, 'the event is in the trail');
unlike(slurp_file($node->logfile), qr/AUDIT_EXT_JSON .*off-marker/,
	'but not in the log while the setting is off');

$node->stop;
done_testing();
