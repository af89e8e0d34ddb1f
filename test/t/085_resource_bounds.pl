# Copyright (c) audit_ext contributors
#
# 085_resource_bounds.pl — huge rows and huge statements of a tracked table
# stay bounded (issue 9, "Resource bounds"; 032_big_statement.pl has the
# 100 MB statement cut to audit.statement_max_bytes):
#
# - a 200 MB jsonb value: the row is written and its event holds it whole
#   (the row image is about as large), verify() is ok;
# - a row whose image would pass jsonb's limit of 256 MB (a 300 MB text, or
#   two values of 150 MB, or a 1 GB text): the statement fails with 54000
#   (program_limit_exceeded), nothing of it stays, neither the row nor an
#   event: a clear error, never a cut or wrong image.  For the 1 GB text
#   the backend's peak memory grows by less than 3 GB more than for the
#   same INSERT into an untracked table (which itself takes about 2 GB);
# - a 1 GB jsonb value cannot be made at all: PostgreSQL refuses it (54000,
#   jsonb strings cannot pass 256 MB) before anything of ours runs;
# - a 100 MB statement text: cut to audit.statement_max_bytes (1 MB), it
#   costs no more peak memory than unrecorded (the server itself needs about
#   4 times the text to run it); with audit.statement_max_bytes = 0 it is
#   recorded intact (its length and md5 checked) for less than 3 times the
#   text more, and verify() is ok;
# - an UPDATE of every row of a 300,000-row tracked table (AUDIT_EXT_BIG_ROWS
#   for more, e.g. 10000000 by hand): one event per row, and the backend's
#   peak memory (VmHWM, read from /proc/self/status by the backend itself)
#   grows by less than 16 MB plus 40 bytes a row — the server's after-trigger
#   queue keeps about 20 bytes a row until the statement ends; our own
#   memory is one row's images plus a bounded buffer.  shared_buffers is
#   small, so that touching shared pages cannot hide a leak or fake one.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = $ENV{AUDIT_EXT_BIG_ROWS} || 300000;

my $node = PostgreSQL::Test::Cluster->new('bounds');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
shared_buffers = 16MB
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE big (id int PRIMARY KEY, j jsonb, t text);
	SELECT audit.track('big');
});

# The SQLSTATE of a failing statement (psql's verbose error), or 'ok'.
sub sqlstate_of
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return 'ok' if $rc == 0;
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : "no SQLSTATE in: $err";
}

# The backend's peak memory (kB), read by the backend itself.
my $hwm = q{SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+)')};

# In one new session: $setup, then $sql between two readings of the peak.
# Returns how much the peak grew (kB), the SQLSTATE ('ok' if none) and
# psql's stderr.
sub peak_growth
{
	my ($setup, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$setup\n$hwm;\n$sql;\n$hwm;\n", on_error_stop => 0);
	my @kb = grep { /^\d+$/ } split /\n/, $out;
	die "no peak memory readings in: $out / $err" unless @kb == 2;
	my $state = $err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : 'ok';
	return ($kb[1] - $kb[0], $state, $err);
}

# --- huge values ------------------------------------------------------------------

is(sqlstate_of(q{INSERT INTO big VALUES (1, jsonb_build_object('v', repeat('x', 200000000)), NULL)}),
	'ok', 'a row with a 200 MB jsonb value is written');
is($node->safe_psql('postgres', q{
	SELECT octet_length(new_row->'j'->>'v') FROM audit.event
	 WHERE kind = 'row' AND object_name = 'public.big' AND row_key = '{"id": 1}'}),
	'200000000', 'its event holds the 200 MB value whole');

is(sqlstate_of(q{INSERT INTO big VALUES (2, NULL, repeat('y', 300000000))}),
	'54000', 'a row with a 300 MB text: its image passes jsonb\'s limit, 54000');
is(sqlstate_of(q{INSERT INTO big VALUES (3, jsonb_build_object('v', repeat('x', 150000000)),
	                                     repeat('z', 150000000))}),
	'54000', 'a row of two 150 MB values: 54000');
is(sqlstate_of(q{UPDATE big SET t = repeat('w', 100000000) WHERE id = 1}),
	'54000', 'an UPDATE that makes the row image pass the limit: 54000');

# --- 1 GB values --------------------------------------------------------------------

my (undef, $state, $err) = peak_growth('',
	q{INSERT INTO big VALUES (4, jsonb_build_object('v', repeat('x', 1000000000)), NULL)});
is($state, '54000', 'a 1 GB jsonb value: PostgreSQL refuses to make it, 54000');
like($err, qr/jsonb strings cannot exceed 268435455 bytes/, 'jsonb strings cannot pass 256 MB');

my $gb = 1000000000;
$node->safe_psql('postgres', 'CREATE TABLE untracked (id int, t text)');
my ($plain_growth, $plain_state) = peak_growth('', qq{INSERT INTO untracked VALUES (1, repeat('y', $gb))});
is($plain_state, 'ok', 'a 1 GB text goes into an untracked table');
$node->safe_psql('postgres', 'DROP TABLE untracked');
my $growth;
($growth, $state, $err) = peak_growth('', qq{INSERT INTO big VALUES (5, NULL, repeat('y', $gb))});
is($state, '54000', 'a 1 GB text in a tracked table: its row image cannot be jsonb, 54000');
like($err, qr/total size of jsonb object elements exceeds the maximum of 268435455 bytes/,
	'the error says why');
note("1 GB text: peak memory grew by $plain_growth kB untracked, $growth kB tracked");
cmp_ok($growth - $plain_growth, '<', 3 * $gb / 1024,
	'tracked, the peak grew by less than 3 times the value more than untracked');

is($node->safe_psql('postgres', q{
	SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM big) || ' / ' ||
	       (SELECT count(*) FROM audit.event WHERE kind = 'row' AND object_name = 'public.big')}),
	'1 / 1', 'the failed statements left no row and no event');
is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'verify() is ok with the 200 MB event');

# --- a 100 MB statement text ----------------------------------------------------------

my $size = 100 * 1024 * 1024;
my $stmt = "UPDATE big SET t = NULL WHERE id = -1 AND length('" . ('x' x $size) . "') > 0";
my ($unrecorded) = peak_growth(q{SET audit.log = 'none';}, $stmt);
my ($cut) = peak_growth('', $stmt);
my $full;
($full, $state) = peak_growth('SET audit.statement_max_bytes = 0;', $stmt);
is($state, 'ok', 'the 100 MB statement ran, recorded in full');
note("100 MB statement: peak memory grew by $unrecorded kB unrecorded, $cut kB recorded cut,"
	  . " $full kB recorded in full");
cmp_ok($cut - $unrecorded, '<', 16 * 1024,
	'recorded cut to 1 MB, the peak grew by less than 16 MB more than unrecorded');
cmp_ok($full - $unrecorded, '<', 3 * $size / 1024,
	'recorded in full, by less than 3 times the text more');
is($node->safe_psql('postgres', q{
	SELECT octet_length(statement) || ' ' || md5(statement) FROM audit.event
	 WHERE kind = 'statement' AND command = 'UPDATE' ORDER BY event_id DESC LIMIT 1}),
	length($stmt) . ' ' . md5_hex($stmt), 'the 100 MB statement is recorded intact');
is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'verify() is ok with the 100 MB statement event');

# --- a large UPDATE -----------------------------------------------------------------

$node->safe_psql('postgres', qq{
	TRUNCATE big;
	CREATE TABLE wide (id int PRIMARY KEY, v text, n int);
	SELECT audit.track('wide');
	INSERT INTO wide SELECT i, 'value ' || i, i FROM generate_series(1, $rows) i;
});

# In one session: a small UPDATE first (caches, plans), then the peak, the
# big UPDATE, the peak again.
my @kb = split /\n/, $node->safe_psql('postgres', qq{
	UPDATE wide SET n = n + 1 WHERE id <= 1000;
	$hwm;
	UPDATE wide SET n = n + 1, v = v || '!';
	$hwm;
});
$growth = $kb[1] - $kb[0];
my $bound = 16 * 1024 + int($rows * 40 / 1024);
note("UPDATE of $rows rows: VmHWM $kb[0] kB -> $kb[1] kB, grew by $growth kB (bound $bound kB)");
cmp_ok($growth, '<', $bound,
	"the backend's peak memory grew by less than 16 MB + 40 bytes a row ($growth kB)");

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM audit.event
	 WHERE kind = 'row' AND object_name = 'public.wide' AND command = 'UPDATE'
	   AND new_row->>'v' LIKE '%!'}),
	$rows, "one row event for each of the $rows rows updated");
is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't', 'verify() is ok');

$node->stop;
done_testing();
