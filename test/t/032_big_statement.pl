
# Copyright (c) audit_ext contributors
#
# 032_big_statement.pl — huge inputs stay bounded in the trail: a 100 MB
# statement text is recorded cut to audit.statement_max_bytes with a marker
# giving its full length, a 10 MB bind parameter likewise to
# audit.log_parameter_max_bytes, a password inside a huge statement is
# still redacted, and the statement runs normally; verify() is ok.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('big');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.log = 'all'
audit.log_parameters = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION audit_ext');

my $size = 100 * 1024 * 1024;
my $big = 'x' x $size;

# A 100 MB statement: runs, and is recorded capped (default 1 MB).
my $len = $node->safe_psql('postgres',
	"SELECT length('$big') AS big_statement_marker");
is($len, $size, 'the 100 MB statement ran');

my ($stmt_len, $tail) = split /\|/, $node->safe_psql('postgres', q{
	SELECT octet_length(statement), right(statement, 60)
	  FROM audit.events
	 WHERE statement LIKE 'SELECT length(''xxx%' AND class = 'read'});
ok($stmt_len > 1024 * 1024 && $stmt_len < 1024 * 1024 + 100,
	"recorded text is cut near 1 MB ($stmt_len bytes)");
my $full = $size + length("SELECT length('') AS big_statement_marker");
like($tail, qr/\[audit_ext: statement truncated, $full bytes in all\]$/,
	'the marker gives the full length');

# A smaller cap, set by a superuser for the session.
$node->safe_psql('postgres', qq{
	SET audit.statement_max_bytes = 1000;
	SELECT 2, length('$big')});
is($node->safe_psql('postgres', q{
	SELECT octet_length(statement) < 1100
	  FROM audit.events WHERE statement LIKE 'SELECT 2, length(''xxx%'}),
	't', 'audit.statement_max_bytes is followed');

# A 10 MB parameter of a prepared statement: capped at 4 kB with a marker.
my $param = $node->safe_psql('postgres', q{
	PREPARE p(text) AS SELECT length($1) AS param_marker;
	EXECUTE p(repeat('y', 10000000));
	SELECT octet_length(parameters->>0) || '|' || right(parameters->>0, 70)
	  FROM audit.events WHERE statement LIKE '%param_marker%' AND command = 'SELECT'});
my ($plen, $ptail) = split /\|/, (split /\n/, $param)[-1];
ok($plen > 4096 && $plen < 4096 + 100, "parameter cut near 4 kB ($plen bytes)");
like($ptail, qr/\[audit_ext: parameter truncated, 10000000 bytes in all\]$/,
	'the parameter marker gives its full length');

# A password in a huge statement is redacted even where the text is cut.
my $pad = 'z' x (2 * 1024 * 1024);
$node->safe_psql('postgres', qq{CREATE ROLE big_pw PASSWORD 'hunter2' /* $pad */});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM audit.event WHERE event::text LIKE '%hunter2%'}),
	'0', 'the password is nowhere in the trail');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM audit.events
	 WHERE command = 'CREATE ROLE' AND statement LIKE 'CREATE ROLE big_pw PASSWORD ''[redacted]''%'}),
	'1', 'the CREATE ROLE is recorded with the password redacted');

is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'verify() is ok');

$node->stop;
done_testing();
