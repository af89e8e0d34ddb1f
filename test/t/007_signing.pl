# Copyright (c) audit_ext contributors
#
# 007_signing.pl — Ed25519 checkpoint signatures with audit.signing_key:
# a key file open to others is refused; with a private key file, every
# block is signed; the signature checks out with OpenSSL's own command line
# over the message bytes of docs/FORMAT.md (an implementation independent of
# ours); the key id is what FORMAT.md says; a forged signature is reported
# by verify() as 'signature invalid'.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $key = "$dir/signing.pem";
my $pub = "$dir/signing.pub.pem";
system_or_bail('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $key);
system_or_bail('openssl', 'pkey', '-in', $key, '-pubout', '-out', $pub);

# The key is configured from the start, but others may read the file: the
# sealer (background worker and audit.seal() alike) must refuse to use it,
# and seal nothing unsigned meanwhile.
chmod 0644, $key;
my $node = PostgreSQL::Test::Cluster->new('signing');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.signing_key = '$key'
audit.seal_interval = 100
# A forged signature is written by SQL: the guard (050_guard.pl) is off, as
# for an attacker who restarted the server with it off.
audit.guard = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE t (a int);
	INSERT INTO t VALUES (1);
});

my ($rc, $out, $err) = $node->psql('postgres', 'SELECT audit.seal()');
isnt($rc, 0, 'sealing with a world-readable key file fails');
like($err, qr/signing key file ".*signing\.pem" has group or world access/,
	'the error names the key file and the problem');
is($node->safe_psql('postgres', 'SELECT count(*) FROM audit.blocks'), '0',
	'no unsigned block was sealed meanwhile');

# With the file private, blocks are sealed and signed.
chmod 0600, $key;
my $block = $node->safe_psql('postgres', 'SELECT audit.seal()');
ok($block >= 1, 'sealed once the key file is private');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (2)');
$block = $node->safe_psql('postgres', 'SELECT audit.seal()');
is($node->safe_psql('postgres',
	'SELECT count(*) FROM audit.blocks WHERE signature IS NULL OR octet_length(signature) <> 64'),
	'0', 'every block carries a 64-byte signature');

# The key id is the first 8 bytes of SHA-256 of the raw public key.
my $der = `openssl pkey -pubin -in $pub -outform DER`;
my $raw = substr($der, -32);
open(my $rawfh, '>:raw', "$dir/raw.pub") or die;
print $rawfh $raw;
close($rawfh);
my $sha = (split ' ', `openssl dgst -sha256 -r $dir/raw.pub`)[0];
is($node->safe_psql('postgres', "SELECT DISTINCT key_id FROM audit.blocks"),
	substr($sha, 0, 16), 'key_id is the hex of the first 8 bytes of SHA-256 of the public key');

# audit.public_key() is the public half of the key.
my $pem = slurp_file($pub);
$pem =~ s/\s+$//;
my $db_pem = $node->safe_psql('postgres', 'SELECT audit.public_key()');
$db_pem =~ s/\s+$//;
is($db_pem, $pem, 'audit.public_key() returns the PEM public key');

# OpenSSL's own verifier accepts the checkpoint signature over the message
# of FORMAT.md: "AUDIT_EXT-CHECKPOINT-1" || chain_id || tree_size || root.
my $hex = $node->safe_psql('postgres', q{
	SELECT encode(convert_to('AUDIT_EXT-CHECKPOINT-1', 'UTF8')
	              || (SELECT chain_id FROM audit.chain)
	              || int8send(block_id) || tree_root, 'hex')
	       || ' ' || encode(signature, 'hex')
	  FROM audit.blocks ORDER BY block_id DESC LIMIT 1});
my ($msg_hex, $sig_hex) = split ' ', $hex;
open(my $m, '>:raw', "$dir/msg") or die;
print $m pack('H*', $msg_hex);
close($m);
open(my $s, '>:raw', "$dir/sig") or die;
print $s pack('H*', $sig_hex);
close($s);
is(length(pack('H*', $msg_hex)), 78, 'the signed message is 78 bytes');
my $verified = system('openssl', 'pkeyutl', '-verify', '-pubin', '-inkey', $pub,
	'-rawin', '-in', "$dir/msg", '-sigfile', "$dir/sig");
is($verified, 0, 'openssl pkeyutl -verify accepts the signature');

# The checkpoint carries the same signature and key id.
is($node->safe_psql('postgres', q{
	SELECT (audit.digest() ->> 'signature') = encode(signature, 'hex')
	       AND (audit.digest() ->> 'key_id') = key_id
	  FROM audit.blocks ORDER BY block_id DESC LIMIT 1}),
	't', 'audit.digest() shows the newest signature and key id');

is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'verify() checks the signatures and finds them good');

# A forged signature (made by the superuser, the library unloaded so that
# nothing stands in the way) is reported for that block.
$node->safe_psql('postgres', q{
	UPDATE audit.block SET signature = sha256('x') || sha256('y') WHERE block_id = 1});
my $report = $node->safe_psql('postgres',
	q{SELECT block_id || ' ' || problem FROM audit.verify_report()});
is($report, '1 signature invalid', 'the forged signature is reported, on its block only');

done_testing();
