# Copyright (c) audit_ext contributors
#
# 091_operations.pl — two procedures of docs/OPERATIONS.md, run as written:
#
#   Rotating the signing key: a new key file, audit.signing_key pointed at it,
#   a reload.  Blocks sealed before carry the old key id, blocks after the new
#   one; the change itself is an event; audit.verify() checks the blocks of
#   the key it holds and counts the others as not checked (never as good);
#   audit_verify with both public keys checks every signature, with the new
#   one alone it reports each old block as signed by another key.
#
#   Recovering after detected tampering: an event altered behind the
#   server's back (guard off, as an attacker who restarted it) is found by
#   audit.verify_report(); the operator keeps the evidence (the report, a
#   bundle of the trail as found), then puts the event back from a bundle
#   exported before (the last good copy), with the guard off for that
#   maintenance only; the trail verifies again, and the maintenance is itself
#   on record (the restart with the guard off is a startup event).

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();
my %key;
for my $k ('old', 'new')
{
	system_or_bail('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', "$dir/$k.pem");
	system_or_bail('openssl', 'pkey', '-in', "$dir/$k.pem", '-pubout', '-out', "$dir/$k.pub");
	chmod 0600, "$dir/$k.pem";
	$key{$k} = "$dir/$k.pem";
}

my $node = PostgreSQL::Test::Cluster->new('operations');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 3600000
audit.signing_key = '$key{old}'
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql(q{CREATE EXTENSION audit_ext;
	CREATE TABLE accounts (id int PRIMARY KEY, balance numeric);
	SELECT audit.track('accounts');
	INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 5) g});
my $old_last = sql('SELECT audit.seal()');
my $old_id = sql('SELECT DISTINCT key_id FROM audit.blocks');

# --- rotating the signing key ------------------------------------------------------

sql(qq{ALTER SYSTEM SET audit.signing_key = '$key{new}'});
sql('SELECT pg_reload_conf()');
$node->poll_query_until('postgres', qq{SELECT current_setting('audit.signing_key') = '$key{new}'})
  or die 'the new key setting was not loaded';
sql('UPDATE accounts SET balance = 90 WHERE id = 1');
my $new_last = sql('SELECT audit.seal()');
cmp_ok($new_last, '>', $old_last, 'blocks are sealed after the rotation');
my $new_id = sql(qq{SELECT DISTINCT key_id FROM audit.blocks WHERE block_id > $old_last});
isnt($new_id, $old_id, 'blocks after the rotation carry the new key id');
is(sql(qq{SELECT count(*) FROM audit.blocks WHERE block_id <= $old_last AND key_id <> '$old_id'}),
	'0', 'blocks before it keep the old one');
like(sql(q{SELECT string_agg(statement, ' ') FROM audit.events WHERE class = 'config'
		OR statement LIKE 'ALTER SYSTEM%'}),
	qr/ALTER SYSTEM SET audit\.signing_key/, 'the key change is on record');
my ($db_pub, $file_pub) = (sql('SELECT audit.public_key()'), slurp_file("$dir/new.pub"));
s/\s+$// for ($db_pub, $file_pub);
is($db_pub, $file_pub, 'audit.public_key() now gives the new public key');

my ($ok, $problems) = split /\|/, sql('SELECT ok, problems FROM audit.verify()');
is("$ok $problems", 't 0', 'audit.verify() holds across the rotation');

my ($rc, $out) = av('-k', "$dir/old.pub", '-k', "$dir/new.pub", $node->connstr('postgres'));
is($rc, 0, 'audit_verify with both public keys: ok');
# (Blocks keep being sealed meanwhile: the sealer writes each session's
# login event and seals it.  Compare within one report.)
my ($blocks, $checked) = $out =~ /ok: (\d+) blocks, .* (\d+) signatures checked/;
ok(defined $checked && $checked == $blocks, "every block's signature checked, old and new ($checked of $blocks)");
($rc, $out) = av('-k', "$dir/new.pub", $node->connstr('postgres'));
is($rc, 1, 'with the new key alone, the old blocks do not pass');
my @other = grep { /signature/ } split /\n/, $out;
is(scalar(@other), sql(qq{SELECT count(*) FROM audit.blocks WHERE key_id = '$old_id'}),
	'one problem per block signed by the old key');

# --- recovering after detected tampering ------------------------------------------

# The last good copy, exported while the trail verifies (kept off the server).
my $good = "$dir/good-bundle";
($rc, $out) = av('--export', $good, $node->connstr('postgres'));
is($rc, 0, 'a bundle of the good trail is exported');

# The attacker: restart with the guard off, alter a row image.
$node->append_conf('postgresql.conf', "audit.guard = off\n");
$node->restart;
wait_for_startup_event($node);
my $victim = sql(q{SELECT min(event_id) FROM audit.event WHERE kind = 'row'});
sql(qq{UPDATE audit.event SET new_row = '{"id": 1, "balance": 1000000}' WHERE event_id = $victim});
$node->adjust_conf('postgresql.conf', 'audit.guard', 'on');
$node->restart;
wait_for_startup_event($node);

# Detection, and the evidence kept before anything is changed.
my $report = sql('SELECT problem || \' \' || event_id FROM audit.verify_report()');
is($report, "event altered $victim", 'verify_report() names the altered event');
my $evidence = "$dir/evidence-bundle";
($rc, $out) = av('--export', $evidence, $node->connstr('postgres'));
is($rc, 0, 'the trail as found is exported as evidence');
($rc, $out) = av('--bundle', $evidence);
is($rc, 1, 'and the evidence bundle shows the same problem offline');
like($out, qr/event $victim: /, 'naming the same event');

# Repair: the event's row image from the good bundle, written back with the
# guard off for the maintenance only.
my ($line) = grep { /"event_id":\s*"?$victim"?[,}]/ } split /\n/, slurp_file("$good/events.jsonl");
ok(defined $line, 'the good bundle holds the event');
# A row image is in a bundle as its jsonb text (docs/FORMAT.md "Bundle").
my $image = decode_json($line)->{new_row};
$node->adjust_conf('postgresql.conf', 'audit.guard', 'off');
$node->restart;
wait_for_startup_event($node);
sql(qq{UPDATE audit.event SET new_row = \$img\$$image\$img\$::jsonb WHERE event_id = $victim});
$node->adjust_conf('postgresql.conf', 'audit.guard', 'on');
$node->restart;
wait_for_startup_event($node);

($ok, $problems) = split /\|/, sql('SELECT ok, problems FROM audit.verify()');
is("$ok $problems", 't 0', 'after the repair the trail verifies again');
($rc, $out) = av('-k', "$dir/old.pub", '-k', "$dir/new.pub", $node->connstr('postgres'));
is($rc, 0, 'and audit_verify agrees');
is(sql(q{SELECT count(*) FROM audit.events WHERE kind = 'server' AND detail->>'guard' = 'false'}),
	'2', 'both restarts with the guard off (the attack and the repair) are on record');

done_testing();
