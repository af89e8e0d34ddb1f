# Copyright (c) audit_ext contributors
#
# 090_hub.pl — a central audit hub on PostgreSQL's own logical replication
# (docs/HUB.md).  Two source clusters with audit_ext publish their trail
# tables (insert only); a hub cluster, which itself preloads audit_ext,
# receives both in one database with audit_hub, one subscription per source.
#
#   - each source's trail arrives whole: the same events (leaf hashes, in
#     order), transactions and blocks as at the source, tagged with the
#     source's name; the chain ids are the sources' own;
#   - audit_verify --source NAME verifies each source's chain at the hub,
#     with the source's public key (one source signs), live and through an
#     exported bundle; a checkpoint saved at the source is extended there;
#   - a source that archived blocks before the hub subscribed arrives with
#     its archive rows and verifies; archiving after subscribing does not
#     reach the hub (insert only), which keeps the full events;
#   - tampering with one source's events at the hub is reported for that
#     source, and the other source still verifies;
#   - a row written at the hub by hand, not through a subscription, has no
#     source and is refused; audit_hub refuses a database with audit_ext;
#     an unknown source is a usage error of audit_verify.

use strict;
use warnings;

use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $key = "$dir/east.pem";
my $pub = "$dir/east.pub.pem";
system_or_bail('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $key);
system_or_bail('openssl', 'pkey', '-in', $key, '-pubout', '-out', $pub);
chmod 0600, $key;

# A source: audit_ext with its defaults (guard on), wal_level logical.
sub new_source
{
	my ($name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical');
	my $archdir = $node->basedir . '/archive';
	make_path($archdir);
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 200
audit.archive_directory = '$archdir'
$extra
});
	$node->start;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION audit_ext;
		CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
		SELECT audit.track('accounts');
		INSERT INTO accounts SELECT g, 'owner ' || g, 100 FROM generate_series(1, 20) g;
		UPDATE accounts SET balance = balance - 5 WHERE id <= 3;
	});
	return $node;
}

my $east = new_source('east', "audit.signing_key = '$key'");
my $west = new_source('west', '');

# Everything committed so far is sealed (the background sealer, 200 ms).
sub wait_sealed
{
	my ($node) = @_;
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 0 FROM audit.transactions WHERE block_id IS NULL})
	  or die 'the sealer did not seal everything';
}
wait_sealed($_) for ($east, $west);

# West archives its first blocks before the hub subscribes: the hub's
# initial copy finds those events without payload, and their archive row.
my $west_archived = $west->safe_psql('postgres', q{
	SELECT (audit.archive(up_to_block => (SELECT max(block_id) FROM audit.blocks)))->>'event_count'});
cmp_ok($west_archived, '>', 0, 'west archived its sealed events before the hub subscribed');

my $publish = q{CREATE PUBLICATION audit_hub
	FOR TABLE audit.chain, audit.event, audit.txn, audit.block, audit.archive
	WITH (publish = 'insert')};
$_->safe_psql('postgres', $publish) for ($east, $west);
is($east->safe_psql('postgres', q{SELECT count(*) FROM audit.events WHERE command = 'CREATE PUBLICATION'}),
	'1', 'publishing the trail is itself an event at the source');

# --- the hub ---------------------------------------------------------------------

my $hub = PostgreSQL::Test::Cluster->new('hub');
$hub->init;
$hub->append_conf('postgresql.conf', q{
shared_preload_libraries = 'audit_ext'
max_logical_replication_workers = 8
max_worker_processes = 16
});
$hub->start;
$hub->safe_psql('postgres', 'CREATE DATABASE hub');
$hub->safe_psql('hub', 'CREATE EXTENSION audit_hub');

for my $src ([ 'east', $east ], [ 'west', $west ])
{
	my ($name, $node) = @$src;
	my $conn = $node->connstr . ' dbname=postgres';
	$hub->safe_psql('hub', qq{CREATE SUBSCRIPTION $name CONNECTION '$conn' PUBLICATION audit_hub});
}
$hub->wait_for_subscription_sync($east, 'east', 'hub');
$hub->wait_for_subscription_sync($west, 'west', 'hub');

# More work at both sources after the subscription, streamed to the hub.
for my $node ($east, $west)
{
	$node->safe_psql('postgres', q{
		INSERT INTO accounts VALUES (21, 'late owner', 7);
		DELETE FROM accounts WHERE id = 2;
		CREATE INDEX ON accounts (owner);
	});
	wait_sealed($node);
}
# East archives after the hub subscribed: an UPDATE, which the insert-only
# publication does not carry.
$east->safe_psql('postgres', q{
	SELECT audit.archive(up_to_block => (SELECT min(block_id) FROM audit.blocks))});
wait_sealed($east);

# A source's trail up to a point, as "count md5" of (id, hash) pairs.
# Every query at a source adds events of its own (a login, the statement):
# the hub is compared with what the source held at one moment, once it has
# caught up past that moment.
sub summary
{
	my ($node, $db, $table, $id, $hash, $upto, $where) = @_;
	return $node->safe_psql($db, qq{
		SELECT count(*) || ' ' || md5(string_agg($id || ':' || encode($hash, 'hex'), ',' ORDER BY $id))
		  FROM audit.$table WHERE $id <= $upto $where});
}

for my $src ([ 'east', $east ], [ 'west', $west ])
{
	my ($name, $node) = @$src;
	my ($ev, $bl, $pos) = split /\|/, $node->safe_psql('postgres', q{
		SELECT (SELECT max(event_id) FROM audit.event), (SELECT max(block_id) FROM audit.block),
		       (SELECT max(position) FROM audit.txn)});
	my @at_source = (summary($node, 'postgres', 'event', 'event_id', 'leaf_hash', $ev, ''),
		summary($node, 'postgres', 'block', 'block_id', 'block_hash', $bl, ''),
		summary($node, 'postgres', 'txn', 'position', 'digest', $pos, ''));
	$node->wait_for_catchup($name);
	my $where = "AND source = '$name'";
	is(summary($hub, 'hub', 'event', 'event_id', 'leaf_hash', $ev, $where), $at_source[0],
		"$name: the hub holds the source's events, the same leaf hashes");
	is(summary($hub, 'hub', 'block', 'block_id', 'block_hash', $bl, $where), $at_source[1],
		"$name: and its blocks");
	is(summary($hub, 'hub', 'txn', 'position', 'digest', $pos, $where), $at_source[2],
		"$name: and its transaction digests");
	is($hub->safe_psql('hub', qq{SELECT chain_id FROM audit_hub.sources WHERE source = '$name'}),
		$node->safe_psql('postgres', q{SELECT encode(chain_id, 'hex') FROM audit.chain}),
		"$name: audit_hub.sources shows the source's chain id");
}
is($hub->safe_psql('hub', q{SELECT string_agg(source || ' ' || receiving, ',' ORDER BY source)
	FROM audit_hub.sources}), 'east true,west true', 'both sources are receiving');

# East's archiving after the subscription did not reach the hub: the events
# are whole there.  West's, before it, arrived as the initial copy found it.
is($hub->safe_psql('hub', q{SELECT count(*) FROM audit.event WHERE source = 'east'
	AND (archive_id IS NOT NULL OR leaf_hash IS NULL OR kind IS NULL)}), '0',
	'east: events archived at the source after the subscription stay whole at the hub');
is($hub->safe_psql('hub', q{SELECT count(*) FROM audit.event WHERE source = 'west'
	AND archive_id IS NOT NULL AND kind IS NULL}), $west_archived,
	'west: events archived before the subscription arrive archived, with their archive row');

# --- verification, each source on its own ---------------------------------------

my $hubconn = $hub->connstr('hub');
my ($rc, $out, $err) = av('--source', 'east', '--public-key', $pub, $hubconn);
is($rc, 0, 'east verifies at the hub, signatures checked');
like($out, qr/^ok: /m, 'east: audit_verify says ok');
like($out, qr/signature/i, 'east: its report counts checked signatures');
($rc, $out) = av('--source', 'west', $hubconn);
is($rc, 0, 'west verifies at the hub, archived events included');
like($out, qr/archived/, 'west: the archived events are counted as such');

# A checkpoint saved at east is extended by east's trail at the hub.
my $cp = "$dir/east-checkpoint.json";
write_file($cp, $east->safe_psql('postgres', 'SELECT audit.digest()'));
($rc, $out) = av('--source', 'east', '--checkpoint', $cp, '--public-key', $pub, $hubconn);
is($rc, 0, 'east at the hub extends a checkpoint saved at east');

# A bundle of west exported from the hub verifies without a database.
my $bundle = "$dir/west-bundle";
($rc, $out) = av('--export', $bundle, '--source', 'west', $hubconn);
is($rc, 0, 'a bundle of west is exported from the hub');
($rc, $out) = av('--bundle', $bundle);
is($rc, 0, 'and verifies on its own');

# --- tampering at the hub ---------------------------------------------------------

my $victim = $hub->safe_psql('hub', q{
	SELECT max(event_id) FROM audit.event WHERE source = 'east' AND kind = 'row'});
$hub->safe_psql('hub', qq{UPDATE audit.event SET new_row = '{"id": 21, "owner": "mallory", "balance": 7}'
	WHERE source = 'east' AND event_id = $victim});
($rc, $out) = av('--source', 'east', '--public-key', $pub, $hubconn);
is($rc, 1, 'a row image altered at the hub: east fails verification');
like($out, qr/event $victim: /, 'and the altered event is named');
($rc, $out) = av('--source', 'west', $hubconn);
is($rc, 0, 'west, untouched, still verifies');

my $dropped = $hub->safe_psql('hub', q{
	DELETE FROM audit.event WHERE source = 'west'
	   AND event_id = (SELECT min(event_id) FROM audit.event WHERE source = 'west' AND archive_id IS NULL)
	RETURNING event_id});
($rc, $out) = av('--source', 'west', $hubconn);
is($rc, 1, 'an event removed at the hub: west fails verification');
like($out, qr/$dropped|missing/, 'and says what is missing');

# --- what the hub refuses -----------------------------------------------------------

my ($prc, $pout, $perr) = $hub->psql('hub', q{
	INSERT INTO audit.chain (chain_id, created_at, singleton) VALUES ('\x00', now(), true)});
like($perr, qr/null value in column "source"/, 'a row written by hand at the hub has no source: refused');
$hub->safe_psql('postgres', 'CREATE DATABASE both_ext');
$hub->safe_psql('both_ext', 'CREATE EXTENSION audit_ext');
($prc, $pout, $perr) = $hub->psql('both_ext', 'CREATE EXTENSION audit_hub');
like($perr, qr/audit_hub cannot be installed in a database that has audit_ext/,
	'audit_hub refuses a database with audit_ext');
($prc, $pout, $perr) = $hub->psql('hub', 'CREATE EXTENSION audit_ext');
like($perr, qr/schema "audit" already exists/, 'and audit_ext refuses the hub database');
($rc, $out, $err) = av('--source', 'north', $hubconn);
is($rc, 2, 'an unknown source: exit status 2');
like($err, qr/has no source "north"/, 'with the reason');
($rc, $out, $err) = av('--source', 'east', $east->connstr('postgres'));
is($rc, 2, '--source against a database without audit_hub: exit status 2');
like($err, qr/audit_hub is not installed/, 'with the reason');

# The sources' own trails are untouched by all this.
for my $node ($east, $west)
{
	is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
		$node->name . ': its own trail verifies');
}

$hub->safe_psql('hub', 'DROP SUBSCRIPTION east; DROP SUBSCRIPTION west');
$_->stop for ($hub, $east, $west);
done_testing();
