
# Copyright (c) audit_ext contributors
#
# 033_extended_protocol.pl — statements sent through the extended protocol
# (Parse/Bind/Execute, as drivers send them; here pgbench -M extended and
# -M prepared) are recorded as the statement that ran, with its bind
# parameters under audit.log_parameters, once per execution, and without
# them when the setting is off.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('extended');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.log_connections = off
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE ext_t (n int, s text);
});

my $script = $node->basedir . '/ext.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"\\set v random(1000, 1000)\nINSERT INTO ext_t VALUES (:v, 'it''s');\n");

sub run_pgbench
{
	my ($mode) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-M', $mode, '-t', '3', '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		"pgbench -M $mode runs");
}

# New sessions see a reloaded setting once the postmaster has read it.
sub set_and_reload
{
	my ($value) = @_;
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET audit.log_parameters = $value; SELECT pg_reload_conf()");
	$node->poll_query_until('postgres', 'SHOW audit.log_parameters', $value)
	  or die "audit.log_parameters did not become $value";
}

set_and_reload('on');
run_pgbench('extended');
run_pgbench('prepared');

is($node->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT statement_id), min(statement), min(parameters::text), max(parameters::text)
	  FROM audit.events WHERE command = 'INSERT' AND object_name = 'public.ext_t'}),
	q{6|6|INSERT INTO ext_t VALUES ($1, 'it''s')|["1000"]|["1000"]},
	'six executions, each its own statement, with the real text and its parameter');

set_and_reload('off');
run_pgbench('extended');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE parameters IS NULL)
	  FROM audit.events WHERE command = 'INSERT' AND object_name = 'public.ext_t'}),
	'3', 'without audit.log_parameters, no parameters');

is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't', 'verify() is ok');

$node->stop;
done_testing();
