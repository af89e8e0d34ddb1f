
# Copyright (c) audit_ext contributors
#
# 004_unix_socket.pl — client_addr and client_port are NULL for a session
# over a Unix socket, and the peer's address and port over TCP, as
# inet_client_addr() and inet_client_port() report them in that session.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unix_socket');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE public.hits (n int, via text);
});

# Over the Unix socket (the framework's default connection).
like($node->connstr('postgres'), qr/host=\//, 'the default connection is a Unix socket');
my $unix_pid = $node->safe_psql('postgres', q{
	INSERT INTO public.hits VALUES (1, 'unix');
	SELECT pg_backend_pid()});
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', client_addr IS NULL, client_port IS NULL, backend_pid)
	  FROM audit.events WHERE statement = 'INSERT INTO public.hits VALUES (1, ''unix'')'}),
	"t|t|$unix_pid",
	'over a Unix socket client_addr and client_port are NULL');

# Over TCP: the same session reports its own address and port.
my $tcp = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres';
my $me = $node->safe_psql('postgres', q{
	INSERT INTO public.hits VALUES (2, 'tcp');
	SELECT format('%s|%s|%s', inet_client_addr(), inet_client_port(), pg_backend_pid())},
	connstr => $tcp);
like($me, qr/^127\.0\.0\.1\|\d+\|\d+$/, 'the TCP session sees its address and port');
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', client_addr, client_port, backend_pid)
	  FROM audit.events WHERE statement = 'INSERT INTO public.hits VALUES (2, ''tcp'')'}),
	$me,
	'over TCP client_addr and client_port are those of inet_client_addr() and inet_client_port()');
is( $node->safe_psql(
		'postgres', q{
	SELECT pg_typeof(client_addr)::text || '|' || pg_typeof(client_port)::text
	  FROM audit.events LIMIT 1}),
	'inet|integer', 'client_addr is inet and client_port integer');

# A second TCP session gets its own port, recorded per session.
my $me2 = $node->safe_psql('postgres', q{
	DELETE FROM public.hits WHERE n = 2;
	SELECT format('%s|%s|%s', inet_client_addr(), inet_client_port(), pg_backend_pid())},
	connstr => $tcp);
is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', client_addr, client_port, backend_pid)
	  FROM audit.events WHERE statement = 'DELETE FROM public.hits WHERE n = 2'}),
	$me2, 'each TCP session records its own port');

is($node->safe_psql('postgres', 'SELECT ok, problems FROM audit.verify()'),
	't|0', 'the trail verifies');

$node->stop;
done_testing();
