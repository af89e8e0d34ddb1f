# Copyright (c) audit_ext contributors
#
# 060_archive.pl — verifiable retention: audit.archive() writes whole
# sealed blocks to a bundle under audit.archive_directory and removes the
# payload of their events; audit.verify() and audit_verify still pass over
# the whole history and count the archived events; the bundle verifies on
# its own with audit_verify --bundle; archiving continues after the last
# archived block; bad input, a disabled setting, an existing bundle and a
# role without audit_admin are refused; payload removed outside an archive
# and a modified bundle are reported.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Copy qw(copy);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $node = PostgreSQL::Test::Cluster->new('archive');
$node->init;
my $archdir = $node->basedir . '/archive';
make_path($archdir);
# Blocks come from audit.seal() only (the sealer waits an hour).  misc is
# logged: audit.archive()'s own LOCK and UPDATE must not be events.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 3600000
audit.log_connections = off
audit.log = 'ddl, write, role, misc'
audit.archive_directory = '$archdir'
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0], @_[1 .. $#_]); }

sub read_file_raw
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $content = <$fh>;
	close($fh);
	return $content;
}

sql('CREATE EXTENSION audit_ext');
sql('CREATE ROLE archivist LOGIN IN ROLE audit_admin');
sql('CREATE ROLE reader LOGIN IN ROLE audit_reader');
sql('CREATE TABLE t (id int PRIMARY KEY, note text)');
sql(q{SELECT audit.track('t')});
sql('SELECT audit.seal()');
sql(q{INSERT INTO t SELECT g, 'secret ' || g FROM generate_series(1, 3) g});
sql(q{UPDATE t SET note = 'changed' WHERE id = 1});
my $block2 = sql('SELECT audit.seal()');
sql(q{DELETE FROM t WHERE id = 3});
my $block3 = sql('SELECT audit.seal()');
sql(q{INSERT INTO t VALUES (4, 'newer')});
my $newest = sql('SELECT audit.seal()');
cmp_ok($newest, '>', $block3, 'four sealed blocks');

# --- archive the blocks sealed up to block 2 -----------------------------------

my $before = sql(qq{SELECT sealed_at + interval '1 microsecond' FROM audit.blocks
	WHERE block_id = $block2});
my $count12 = sql(qq{SELECT count(*) FROM audit.events WHERE block_id <= $block2});
my $leaves12 = sql(qq{SELECT string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY event_id)
	FROM audit.events WHERE block_id <= $block2});
my $events_before = sql('SELECT count(*) FROM audit.event');

my $res = $node->safe_psql('postgres',
	qq{SELECT r->>'archive_id', r->>'first_block', r->>'last_block', r->>'event_count',
	          r->>'bundle', r->>'sha256'
	     FROM audit.archive('$before'::timestamptz) r},
	connstr => $node->connstr('postgres') . ' user=archivist');
my ($id1, $first1, $last1, $n1, $bundle1, $sha1) = split /\|/, $res;
is("$id1 $first1 $last1", "1 1 $block2", 'archive 1 covers blocks 1 to 2');
is($n1, $count12, 'archive 1 counts the events of its blocks');
like($bundle1, qr{^\Q$archdir\E/archive-1-blocks-1-$block2$}, 'the bundle is under audit.archive_directory');
ok(-d $bundle1 && !-e "$bundle1.tmp", 'the bundle directory is in place, no temporary left');

is(sql(q{SELECT count(*) FROM audit.archives WHERE archive_id = 1
	AND archived_by = 'archivist'}), '1', 'audit.archives records the operation and who');
is(sql(qq{SELECT count(*) FILTER (WHERE archive_id = 1), count(*) FILTER (WHERE
		num_nonnulls(occurred_at, kind, command, statement, row_key, new_row, row_salt) > 0)
	FROM audit.event e WHERE archive_id IS NOT NULL}), "$count12|0",
	'the payload of the archived events is gone');
is(sql(qq{SELECT string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY event_id)
	FROM audit.events WHERE block_id <= $block2}), $leaves12, 'their leaf hashes stay');
is(sql('SELECT count(*) FROM audit.event'), $events_before + 1,
	'no event is deleted; the archive operation is one more');
is(sql(q{SELECT kind || ' ' || command || ' ' || (detail->>'archive_id') || ' '
		|| (detail->>'first_block') || '-' || (detail->>'last_block') || ' '
		|| (detail->>'event_count') || ' ' || (detail->>'sha256')
	FROM audit.events WHERE command = 'ARCHIVE'}),
	"config ARCHIVE 1 1-$block2 $count12 $sha1", 'the archive operation is a config event');

# --- verification over the whole history ----------------------------------------

my ($ok, $problems, $archived, $events) = split /\|/, sql(q{
	SELECT ok, problems, archived_events, events_checked FROM audit.verify()});
is("$ok $problems $archived", "t 0 $count12", 'audit.verify() passes and counts the archived events');
is($events, $events_before + 1, 'every event is checked');

my ($rc, $out) = av($node->connstr('postgres'));
is($rc, 0, 'audit_verify live: exit status 0');
like($out, qr/^ok: .*, $count12 archived events\n$/, 'audit_verify live counts the archived events');
($rc, $out) = av($node->connstr('postgres') . ' user=reader');
is($rc, 0, 'audit_verify live as audit_reader (through the views): exit status 0');

# --- the bundle ---------------------------------------------------------------

($rc, $out) = av('--bundle', $bundle1);
is($rc, 0, 'audit_verify --bundle: the archive bundle verifies');
like($out, qr/^ok: $block2 blocks, \d+ transactions, $count12 events, 0 unsealed events, 1 checkpoint extended\n$/,
	'the bundle holds blocks 1 to 2, their events, its checkpoint');
is(sha256_hex(read_file_raw("$bundle1/SHA256SUMS")), $sha1, 'sha256 is the SHA-256 of SHA256SUMS');
my $sums_ok = 1;
for my $line (split /\n/, read_file_raw("$bundle1/SHA256SUMS"))
{
	my ($h, $f) = split /  /, $line;
	$sums_ok &&= sha256_hex(read_file_raw("$bundle1/$f")) eq $h;
}
ok($sums_ok, 'SHA256SUMS lists the SHA-256 of each file');
like(read_file_raw("$bundle1/events.jsonl"), qr/secret 2/, 'the bundle holds the payload');

# --- archiving continues after the last archived block --------------------------

$res = sql(qq{SELECT r->>'first_block', r->>'last_block', r->>'bundle' FROM audit.archive(${block3}::bigint) r});
my ($first2, $last2, $bundle2) = split /\|/, $res;
is("$first2 $last2", "$block3 $block3", 'archive 2 starts after archive 1');
($rc, $out) = av('--bundle', $bundle2);
is($rc, 0, 'audit_verify --bundle: the second bundle verifies');
like($out, qr/, $count12 archived events, 1 checkpoint extended\n$/,
	'the second bundle lists the events archived before by their leaf hashes');
my ($stderr);
$node->psql('postgres', "SELECT audit.archive(${block3}::bigint)", stderr => \$stderr);
like($stderr, qr/NOTICE:  nothing to archive: blocks up to $block3 are archived already/,
	'archiving the same blocks again: nothing to archive');
is(sql("SELECT audit.archive(${block3}::bigint) IS NULL"), 't', '... and NULL');
is(sql(q{SELECT ok::text || ' ' || archived_events FROM audit.verify()}),
	'true ' . sql(q{SELECT count(*) FROM audit.events WHERE block_id <= } . $block3),
	'audit.verify() passes after two archives');

# A bundle exported now carries the archived events and the archives.
my $exported = PostgreSQL::Test::Utils::tempdir() . '/export';
($rc) = av('--export', $exported, $node->connstr('postgres'));
is($rc, 0, 'audit_verify --export after archiving: exit status 0');
($rc, $out) = av('--bundle', $exported);
is($rc, 0, 'the exported bundle verifies');
like($out, qr/, \d+ archived events/, 'the exported bundle counts the archived events');

# --- errors -------------------------------------------------------------------

sub fails_like
{
	my ($query, $re, $name, @opts) = @_;
	my ($ret, $o, $e) = $node->psql('postgres', $query, @opts);
	isnt($ret, 0, "$name: refused");
	like($e, $re, "$name: message");
}

# --- history next to archives: whole answers, or refused ------------------------

is(sql(q{SELECT audit.row_as_of('t', '{"id": 4}', now()) ->> 'note'}), 'newer',
	'row_as_of(): a row changed after the archive horizon is answered');
fails_like(q{SELECT audit.row_as_of('t', '{"id": 2}', now())},
	qr/ERROR:  the row's state at that moment may rest on archived events/,
	'row_as_of() of a row whose events are archived');
fails_like(q{SELECT * FROM audit.table_as_of('t', now())},
	qr/ERROR:  the table's state at that moment may rest on archived events/,
	'table_as_of() with archived events');
my $archived_txid = sql('SELECT txid FROM audit.event WHERE archive_id IS NOT NULL LIMIT 1');
fails_like(qq{SELECT * FROM audit.transaction('$archived_txid')},
	qr/ERROR:  transaction $archived_txid is archived/, 'transaction() of an archived transaction');
my ($hist_rc, $hist_out, $hist_err) = $node->psql('postgres',
	q{SELECT count(*) FROM audit.history('t', '{"id": 4}')});
is("$hist_rc $hist_out", '0 1', 'history() lists the events still in the trail');
like($hist_err, qr/NOTICE:  events before .* are archived and not listed/,
	'and says that older ones are archived');
# The refusals above are error events, which the sealer may seal any time:
# the first block not sealed is the one after what seal() seals now.
my $unsealed = sql('SELECT audit.seal()') + 1;
fails_like("SELECT audit.archive(${unsealed}::bigint)",
	qr/ERROR:  block $unsealed is not sealed yet/, 'unsealed blocks');
fails_like('SELECT audit.archive(NULL::bigint)', qr/ERROR:  up_to_block must not be NULL/, 'NULL block');
fails_like('SELECT audit.archive(NULL::timestamptz)', qr/ERROR:  before must not be NULL/, 'NULL time');
fails_like('SELECT audit.archive(0::bigint)', qr/ERROR:  up_to_block must be at least 1/, 'block 0');
fails_like("SELECT audit.archive(now())", qr/ERROR:  permission denied for function archive/,
	'a role without audit_admin', connstr => $node->connstr('postgres') . ' user=reader');
my $archived_id = sql(q{SELECT min(event_id) FROM audit.event WHERE archive_id = 1});
fails_like("SELECT audit.inclusion_proof($archived_id)",
	qr/ERROR:  event $archived_id was archived; its proof is in archive bundle "\Q$bundle1\E"/,
	'the inclusion proof of an archived event');

my $next_id = sql('SELECT last_value + 1 FROM audit.archive_archive_id_seq');
make_path("$archdir/archive-$next_id-blocks-$newest-$newest");
fails_like("SELECT audit.archive(${newest}::bigint)",
	qr/ERROR:  archive bundle ".*archive-$next_id-blocks-$newest-$newest" already exists/,
	'a bundle name that exists');
rmdir("$archdir/archive-$next_id-blocks-$newest-$newest");

sql(q{ALTER SYSTEM SET audit.archive_directory = ''});
sql('SELECT pg_reload_conf()');
fails_like("SELECT audit.archive(${newest}::bigint)", qr/ERROR:  archiving is disabled/,
	'audit.archive_directory unset');
sql(qq{ALTER SYSTEM SET audit.archive_directory = '$archdir/missing'});
sql('SELECT pg_reload_conf()');
fails_like("SELECT audit.archive(${newest}::bigint)",
	qr/ERROR:  could not create archive bundle directory .*: No such file or directory/,
	'audit.archive_directory not writable');
sql('ALTER SYSTEM RESET audit.archive_directory');
sql('SELECT pg_reload_conf()');
is(sql('SELECT count(*) FROM audit.archive'), '2', 'failed attempts leave no archive row');

# --- tampering ----------------------------------------------------------------

# A modified bundle file is reported.
my $copy = PostgreSQL::Test::Utils::tempdir() . '/bundle';
make_path($copy);
copy("$bundle1/$_", "$copy/$_") or die "copy $_: $!" for
  qw(chain.json blocks.jsonl transactions.jsonl events.jsonl checkpoint.json archives.jsonl);
my $ev = read_file_raw("$copy/events.jsonl");
$ev =~ s/secret 2/secret X/ or die 'no payload to alter';
write_file("$copy/events.jsonl", $ev);
($rc, $out) = av('--bundle', $copy);
is($rc, 1, 'audit_verify --bundle: a modified bundle fails, exit status 1');
like($out, qr/event altered: block \d+, txid \d+, event \d+: stored leaf hash/,
	'the altered event is named');

# Payload removed outside an archive: an event of block 4 marked archived.
$node->append_conf('postgresql.conf', 'audit.guard = off');
$node->restart;
my $victim = sql(qq{SELECT min(event_id) FROM audit.events WHERE block_id = $newest});
sql(qq{UPDATE audit.event SET statement = NULL, occurred_at = NULL, kind = NULL,
	command = NULL, object_name = NULL, session_role = NULL, effective_role = NULL,
	client_addr = NULL, client_port = NULL, application_name = NULL, backend_pid = NULL,
	database = NULL, rows_affected = NULL, class = NULL, statement_id = NULL,
	nesting_level = NULL, app_user = NULL, context = NULL, parameters = NULL,
	objects = NULL, sqlstate = NULL, message = NULL, detail = NULL, row_key = NULL,
	old_row = NULL, new_row = NULL, changed_columns = NULL, archive_id = 1
	WHERE event_id = $victim});
is(sql(q{SELECT problem || ': event ' || event_id || ': ' || detail FROM audit.verify_report()}),
	"event altered: event $victim: payload removed outside an archive: archive 1 does not cover its block",
	'audit.verify_report(): payload removed outside an archive');
($rc, $out) = av($node->connstr('postgres'));
is($rc, 1, 'audit_verify live: exit status 1');
is(problems_of($out), server_report($node, 'postgres'), 'audit_verify reports what the server reports');

# An archived event whose payload comes back is reported, and so is payload
# removed without an archive_id (its leaf hash no longer matches).
sql(qq{UPDATE audit.event SET archive_id = NULL WHERE event_id = $victim});
sql(qq{UPDATE audit.event SET statement = 'forged' WHERE event_id = $archived_id});
like(sql(q{SELECT string_agg('event ' || event_id || ': ' || detail, '; ' ORDER BY event_id)
		FROM audit.verify_report() WHERE problem = 'event altered'}),
	qr/^event $archived_id: an archived event holds payload; event $victim: stored leaf hash \\x[0-9a-f]{64}, computed/,
	'an archived event that holds payload; payload removed without archive_id');
($rc, $out) = av($node->connstr('postgres'));
is(problems_of($out), server_report($node, 'postgres'), 'audit_verify agrees');

done_testing();
