# Copyright (c) audit_ext contributors
#
# 020_audit_verify.pl — the offline verifier, audit_verify, against a real
# server: a live database verifies (as superuser and as audit_reader), so
# does its exported bundle, with saved checkpoints and signatures, row
# events (event format 3) included; proofs from the server verify, and so
# does one built here by hand from docs/FORMAT.md, which the server checks
# too; every kind of tampering is reported, exit status 1, with
# the very lines audit.verify_report() gives inside the server; a truncated
# tail and a rewritten history are caught by a saved checkpoint only; bad
# usage and malformed input exit with status 2 and a clear message.
#
# Tampering is done by the superuser with the library unloaded, as in
# 002_tamper.pl, so that no guard inside the server stands in the way.

use strict;
use warnings;

use Digest::SHA qw(sha256);
use File::Copy qw(copy);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $key = "$dir/signing.pem";
my $pub = "$dir/signing.pub";
my $other_key = "$dir/other.pem";
my $other_pub = "$dir/other.pub";
system_or_bail('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $key);
system_or_bail('openssl', 'pkey', '-in', $key, '-pubout', '-out', $pub);
system_or_bail('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $other_key);
system_or_bail('openssl', 'pkey', '-in', $other_key, '-pubout', '-out', $other_pub);
chmod 0600, $key;

# Every trail of this cluster is signed.  The sealing worker waits an hour
# between rounds (it may still seal once when it starts), so the blocks come
# from audit.seal(); no test relies on more than blocks 1 to 4 existing.
# Logins, logouts and misc statements are not recorded: each connection,
# and audit_verify's own DECLARE CURSOR and FETCH, would add events (sealed
# as they come through the event queue), and the counts compared here would
# move.
# Each database with the extension gets a worker: leave room for them all.
my $node = PostgreSQL::Test::Cluster->new('audit_verify');
$node->init(extra => [ '--encoding=UTF8', '--no-locale' ]);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
max_worker_processes = 32
audit.seal_interval = 3600000
audit.signing_key = '$key'
audit.log_connections = off
audit.log = 'ddl, write, role'
# Tampering is done by SQL: the guard (050_guard.pl) is off, as for an
# attacker who restarted the server with it off.
audit.guard = off
});
$node->start;

# --- helpers -------------------------------------------------------------------

sub conn { return $node->connstr($_[0]); }

# A trail of a few blocks: DDL, DML, a two-event transaction with awkward
# text, a statement over TCP (client_addr set), row events of a tracked
# table, and one transaction left unsealed.
sub make_trail
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION audit_ext');
	$node->safe_psql($db, 'CREATE TABLE accounts (id int PRIMARY KEY, balance numeric, note text)');
	$node->safe_psql($db, 'SELECT audit.seal()');
	$node->safe_psql($db, q{INSERT INTO accounts SELECT g, g * 10, 'n' || g FROM generate_series(1, 5) g});
	# Row events (format 3) of a tracked table whose column names need
	# escaping in JSON (a quote, a tab, a backslash, an o umlaut) and whose
	# values are of every jsonb type: inserted, updated, deleted.
	$node->safe_psql($db, qq{
		CREATE TABLE ledger (id int PRIMARY KEY, "N\xc3\xb6te ""q""" text,
		                     "tab\tcol" numeric, "\\" jsonb);
		SELECT audit.track('ledger');});
	$node->safe_psql($db, qq|INSERT INTO ledger VALUES
		(1, 'zo\xc3\xab', 12.50, '{"b": [1, "x]}"], "a": null}'),
		(2, NULL, 0, '[]'), (3, E'ctl\\x01 "q" \\\\', -1e-5, '"s"')|);
	$node->safe_psql($db, qq{UPDATE ledger SET "tab\tcol" = "tab\tcol" + 1,
		"N\xc3\xb6te ""q""" = 'changed' WHERE id = 1});
	$node->safe_psql($db, 'DELETE FROM ledger WHERE id = 2');
	# A tab, quotes, a backslash, an e acute and a snowman (UTF-8 bytes).
	$node->safe_psql($db, qq{
		BEGIN;
		UPDATE accounts SET balance = 0 WHERE id <= 2;
		INSERT INTO accounts VALUES (6, 1, 'tab\t "quoted" \\ \xc3\xa9 \xe2\x98\x83');
		COMMIT;});
	$node->safe_psql($db, 'SELECT audit.seal()');
	$node->safe_psql($db, 'DELETE FROM accounts WHERE id = 5');
	$node->safe_psql($db, 'INSERT INTO accounts VALUES (7, 7, NULL)',
		connstr => 'host=127.0.0.1 port=' . $node->port . " dbname=$db");
	# Format 2's columns: an application user and a request context (jsonb;
	# a tab, quotes and an e acute in one of its strings).
	$node->safe_psql($db, qq{
		BEGIN;
		SELECT audit.set_context('carol', '{"tenant": 7, "note": "tab\\t \\"q\\" \xc3\xa9"}');
		UPDATE accounts SET note = 'ctx' WHERE id = 4;
		COMMIT;});
	$node->safe_psql($db, 'SELECT audit.seal()');
	$node->safe_psql($db, 'CREATE INDEX accounts_balance_idx ON accounts (balance)');
	$node->safe_psql($db, 'SELECT audit.seal()');
	$node->safe_psql($db, 'UPDATE accounts SET note = NULL WHERE id = 1');
}

sub digest_to_file
{
	my ($db, $path) = @_;
	write_file($path, $node->safe_psql($db, 'SELECT audit.digest()') . "\n");
}

# --- a live database, untouched --------------------------------------------------

make_trail('app');
my ($events, $txns, $blocks, $unsealed) = split /\|/, $node->safe_psql('app', q{
	SELECT events_checked, transactions_checked, blocks_checked, unsealed_events
	  FROM audit.verify()});
cmp_ok($blocks, '>=', 4, 'the trail has sealed blocks');

my ($rc, $out, $err, $sig) = av(conn('app'));
is($rc, 0, 'live: an untouched trail verifies, exit status 0');
is($out, "ok: $blocks blocks, $txns transactions, $events events, $unsealed unsealed event"
	  . ($unsealed == 1 ? '' : 's') . "\n",
	'live: the summary counts what audit.verify() counts');
is($node->safe_psql('app', q{
		SELECT string_agg(command || ' ' || octet_length(row_salt), ', ' ORDER BY event_id)
		  FROM audit.event WHERE kind = 'row' AND format_version = 3}),
	'INSERT 16, INSERT 16, INSERT 16, UPDATE 16, DELETE 16',
	'live: the trail verified holds row events of format 3, salted');

# The public view audit.events shows row_salt: audit_reader verifies the
# row events through it like the others.
$node->safe_psql('postgres', 'CREATE ROLE auditor LOGIN IN ROLE audit_reader');
is($node->safe_psql('app', q{
		SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		 WHERE attrelid = 'audit.events'::regclass AND attname = 'row_salt' AND NOT attisdropped}),
	'bytea', 'audit.events shows row_salt');
($rc, $out, $err) = av(conn('app') . ' user=auditor');
is($rc, 0, 'live as audit_reader (through the public views): exit status 0');
like($out, qr/^ok: $blocks blocks, $txns transactions, $events events/,
	'live as audit_reader: the same counts, row events included');

($rc, $out) = av('-k', $pub, conn('app'));
is($rc, 0, 'live with the public key: the signatures hold');
like($out, qr/, $blocks signatures checked$/m, 'every block signature was checked');

my $pub_from_db = "$dir/db.pub";
write_file($pub_from_db, $node->safe_psql('app', 'SELECT audit.public_key()') . "\n");
($rc, $out) = av('--public-key', $pub_from_db, conn('app'));
is($rc, 0, 'the key audit.public_key() returns checks the signatures too');

($rc, $out) = av('-k', $other_pub, conn('app'));
is($rc, 1, 'live with a wrong public key: exit status 1');
like($out, qr/^signature invalid: block 1: the checkpoint at this block is signed by key [0-9a-f]{16}, which is not among the given public keys/m,
	'a wrong public key: signature invalid');

# --- checkpoints -------------------------------------------------------------------

my $cp_app = "$dir/app.checkpoint.json";
digest_to_file('app', $cp_app);
($rc, $out) = av('-c', $cp_app, '-k', $pub, conn('app'));
is($rc, 0, 'the trail extends its own checkpoint');
like($out, qr/, 1 checkpoint extended$/m, 'the checkpoint was matched');

# An older checkpoint still holds once the trail has grown; an array works.
$node->safe_psql('app', 'INSERT INTO accounts VALUES (8, 8, NULL)');
$node->safe_psql('app', 'SELECT audit.seal()');
my $cp_both = "$dir/both.checkpoint.json";
write_file($cp_both, '[' . slurp_file($cp_app) . ','
	  . $node->safe_psql('app', 'SELECT audit.digest()') . ']');
($rc, $out) = av('--checkpoint', $cp_both, '-c', $cp_app, conn('app'));
is($rc, 0, 'older checkpoints, one file holding an array: still extended');
like($out, qr/, 3 checkpoints extended$/m, 'all three were matched');

# --- export and bundle --------------------------------------------------------------

my $bundle = "$dir/bundle";
($rc, $out) = av('--export', $bundle, conn('app'));
is($rc, 0, 'export: exit status 0');
like($out, qr/^exported \d+ blocks, \d+ transactions, \d+ events to \Q$bundle\E \(checkpoint at block \d+\)$/,
	'export says what it wrote');
for my $f (qw(chain.json blocks.jsonl transactions.jsonl events.jsonl checkpoint.json))
{
	ok(-s "$bundle/$f", "the bundle has $f");
}
my ($live_rc, $live_out) = av('-k', $pub, conn('app'));
($rc, $out) = av('--bundle', $bundle, '-k', $pub, '-c', $cp_app);
is($rc, 0, 'bundle: exit status 0');
my $live_counts = ($live_out =~ /^ok: (.*? events)/m)[0];
like($out, qr/^ok: \Q$live_counts\E, .* signatures checked, 2 checkpoints extended$/m,
	'bundle: the same counts as live, its own checkpoint.json and the saved one extended');
($rc, $out) = av('--export', "$dir/bundle_auditor", conn('app') . ' user=auditor');
is($rc, 0, 'export as audit_reader (through the public views): exit status 0');
($rc, $out) = av('--bundle', "$dir/bundle_auditor", '-k', $pub);
is($rc, 0, 'the bundle exported as audit_reader verifies: exit status 0');
like($out, qr/^ok: \Q$live_counts\E, /m, 'with the same counts');
($rc, $out) = av('--bundle', $bundle, '--sort-buffer', '2');
is($rc, 0, 'bundle sorted through temporary files: exit status 0');
like($out, qr/^ok: \Q$live_counts\E/m, 'the same counts');
($rc, $out) = av('--bundle', $bundle, '-k', $other_pub);
is($rc, 1, 'bundle with a wrong public key: exit status 1');
like($out, qr/^signature invalid: block \d+: the saved checkpoint .*checkpoint\.json is signed by key/m,
	'the bundle\'s own checkpoint signature is checked too');

# jsonb travels as its canonical text, a JSON string, byte for byte.
{
	my ($line) = grep { /"command": "UPDATE".*"app_user": "carol"/ }
	  split /\n/, slurp_file("$bundle/events.jsonl");
	my $ev = JSON::PP->new->decode($line // '{}');
	is($ev->{context},
		$node->safe_psql('app', q{SELECT context::text FROM audit.event WHERE app_user = 'carol' AND command = 'UPDATE'}),
		'events.jsonl holds the context as a string of its canonical text');
	like($ev->{context} // '', qr/\\t \\"q\\"/, 'with its JSON escapes kept');
}

# Row images travel like jsonb, as strings of their canonical text, and
# row_salt as hex.
{
	my ($line) = grep { /"kind": "row", "command": "UPDATE"/ }
	  split /\n/, slurp_file("$bundle/events.jsonl");
	my $ev = JSON::PP->new->decode($line // '{}');
	is(join("\n", map { $ev->{$_} // 'NULL' } qw(row_key old_row new_row changed_columns row_salt)),
		$node->safe_psql('app', q{
			SELECT concat_ws(E'\n', row_key, old_row, new_row, changed_columns, encode(row_salt, 'hex'))
			  FROM audit.event WHERE kind = 'row' AND command = 'UPDATE'}),
		'events.jsonl holds the row images as strings of canonical text, row_salt as hex');
	like($ev->{new_row} // '', qr/^\{"\\\\": \{"a": null, "b": \[1, "x\]\}"\]\}, "id": 1, /,
		'with the escapes jsonb prints, keys in its order');
}

# The text survives the round trip byte for byte: the bundle verifies, so
# the awkward statement hashed the same; and it reads back as written.
like(slurp_file("$bundle/events.jsonl"),
	qr/"statement": "INSERT INTO accounts VALUES \(6, 1, 'tab\\t \\"quoted\\" \\\\ \xc3\xa9 \xe2\x98\x83'\)"/,
	'events.jsonl holds the statement text as stored, escaped as JSON');

# --- proofs ------------------------------------------------------------------------------

my $event_id = $node->safe_psql('app', q{SELECT min(event_id) FROM audit.event WHERE command = 'DELETE' AND object_name = 'public.accounts'});
my $proof = "$dir/inclusion.json";
write_file($proof, $node->safe_psql('app', "SELECT audit.inclusion_proof($event_id)"));
($rc, $out) = av('--proof', $proof, '-k', $pub, '-c', $cp_app);
is($rc, 0, 'an inclusion proof from the server verifies');
like($out, qr/^ok: event $event_id is in block \d+, under the checkpoint at block \d+, signed by key [0-9a-f]{16}$/,
	'and says where the event is');

my $doc = decode_json(slurp_file($proof));
$doc->{event}{statement} = 'DELETE FROM accounts WHERE id = 6';
write_file("$dir/inclusion.bad.json", encode_json($doc));
($rc, $out) = av('--proof', "$dir/inclusion.bad.json");
is($rc, 1, 'an inclusion proof of an altered event: exit status 1');
like($out, qr/^event altered: block \d+, txid \d+, event $event_id: the event hashes to/m,
	'the altered event is named');

# The proof of a row event: its images as canonical text, its row_salt as
# hex.  An edited value, another salt, edited changed_columns do not hold;
# without a salt the images cannot be encoded; without the key, malformed.
{
	my $row_id = $node->safe_psql('app', q{SELECT event_id FROM audit.event WHERE kind = 'row' AND command = 'UPDATE'});
	write_file("$dir/row.json", $node->safe_psql('app', "SELECT audit.inclusion_proof($row_id)"));
	($rc, $out) = av('--proof', "$dir/row.json", '-k', $pub);
	is($rc, 0, 'an inclusion proof of a row event verifies');
	like($out, qr/^ok: event $row_id is in block \d+/, 'and names the row event');
	my $row_doc = decode_json(slurp_file("$dir/row.json"));
	my ($tab_col, $note) = (q{"tab\tcol": 13.50}, qq{"N\x{f6}te \\"q\\"": "changed"});
	my @edits = (
		[ 'a value', new_row => $row_doc->{event}{new_row} =~ s/"changed"/"forged"/r,
			qr/the event hashes to \\x[0-9a-f]{64}, the proof's leaf_hash is/ ],
		[ 'another salt', row_salt => '00' x 16, qr/the event hashes to/ ],
		[ 'changed_columns', changed_columns => '[]', qr/the event hashes to/ ],
		[ 'no salt', row_salt => undef,
			qr/a row image cannot be encoded: it is not an object, or row_salt is not 16 bytes\n/ ],
		[ 'two keys swapped', new_row => $row_doc->{event}{new_row} =~ s/\Q$tab_col, $note\E/$note, $tab_col/r,
			qr/a row image cannot be encoded/ ]);
	for my $e (@edits)
	{
		my ($what, $key, $value, $msg) = @$e;
		my %ev = (%{ $row_doc->{event} }, $key => $value);
		write_file("$dir/row.bad.json", encode_json({ %$row_doc, event => \%ev }));
		($rc, $out) = av('--proof', "$dir/row.bad.json");
		is($rc, 1, "the proof of a row event with $what: exit status 1");
		like($out, qr/^event altered: block \d+, txid \d+, event $row_id: $msg/m,
			"the proof of a row event with $what: event altered");
	}
	my %no_key = %{ $row_doc->{event} };
	delete $no_key{row_salt};
	write_file("$dir/row.bad.json", encode_json({ %$row_doc, event => \%no_key }));
	($rc, $out, $err) = av('--proof', "$dir/row.bad.json");
	is($rc, 2, 'the proof of a row event without "row_salt": exit status 2');
	like($err, qr/event: "row_salt" is missing/, 'the missing key is named');
}

write_file("$dir/consistency.json", $node->safe_psql('app', 'SELECT audit.consistency_proof(2)'));
($rc, $out) = av('--proof', "$dir/consistency.json", '-c', $cp_app);
is($rc, 0, 'a consistency proof from the server verifies');
like($out, qr/^ok: the trail of \d+ blocks extends the one of 2 blocks/, 'and says so');

# A proof built here from docs/FORMAT.md alone, with the test vector events:
# a transaction of three events (the format 1 vector, the format 2 one with
# another id, and the format 3 one), a block of one transaction, a trail of
# three blocks, the checkpoint signed with openssl's own command line.  The
# proof of the format 1 event has no keys for the columns of formats 2 and
# 3, as proofs made by 0.1.  The server checks the proof of the format 3
# vector too: its own encoding (src/event_format.c) agrees with this one.
{
	my %vector = (
		event_id => 42, txid => 1000, occurred_at_us => 820638245678901,
		kind => 'statement', command => 'UPDATE', object_name => 'public.accounts',
		session_role => 'alice', effective_role => 'bob', client_addr => '127.0.0.1',
		client_port => 54321, application_name => 'psql', backend_pid => 4242,
		database => 'shop', statement => 'UPDATE accounts SET balance = 0 WHERE id = 1',
		rows_affected => 1, format_version => 1);
	my $int = sub { defined $_[0] ? pack('CNq>', 1, 8, $_[0]) : "\0" };
	my $txt = sub { my ($v, $tag) = @_; defined $v ? pack('CN', $tag // 2, length $v) . $v : "\0" };
	# A row image: its members as [key, value text], in jsonb's key order.
	my $image = sub {
		my ($members, $row_salt, $side) = @_;
		return "\0" unless defined $members;
		my $body = pack('N', scalar @$members);
		for my $m (@$members)
		{
			my ($k, $v) = @$m;
			my $salt = substr(sha256("\x04" . $row_salt . $side . $k), 0, 16);
			$body .= pack('N', length $k) . $k . sha256("\x03" . $salt . $v);
		}
		return pack('CN', 6, length $body) . $body;
	};
	my $object = sub { '{' . join(', ', map { qq("$_->[0]": $_->[1]) } @{ $_[0] }) . '}' };
	my $encode = sub {
		my ($e, $rows) = @_;
		my $v = $e->{format_version};
		my $salt = pack('H*', $e->{row_salt} // '');
		return pack('CC', $v, (0, 15, 25, 29)[$v]) . $int->($e->{event_id}) . $int->($e->{txid})
		  . pack('CNq>', 3, 8, $e->{occurred_at_us})
		  . join('', map { $txt->($e->{$_}) } qw(kind command object_name session_role effective_role))
		  . $txt->($e->{client_addr}, 4) . $int->($e->{client_port})
		  . $txt->($e->{application_name}) . $int->($e->{backend_pid})
		  . $txt->($e->{database}) . $txt->($e->{statement}) . $int->($e->{rows_affected})
		  . ($v < 2 ? '' : $txt->($e->{class}) . $int->($e->{statement_id})
			  . $int->($e->{nesting_level}) . $txt->($e->{app_user})
			  . join('', map { $txt->($e->{$_}, 5) } qw(context parameters objects))
			  . $txt->($e->{sqlstate}) . $txt->($e->{message}) . $txt->($e->{detail}, 5))
		  . ($v < 3 ? '' : $image->($rows->{row_key}, $salt, 'k')
			  . $image->($rows->{old_row}, $salt, 'o') . $image->($rows->{new_row}, $salt, 'n')
			  . $txt->($e->{changed_columns}, 5));
	};
	my $node_hash = sub { sha256("\x01" . $_[0] . $_[1]) };
	my %vector2 = (%vector, format_version => 2, class => 'write', statement_id => 42,
		nesting_level => 0, app_user => 'carol',
		context => qq({"user": "zo\xc3\xab", "tenant": 7, "request": "r-17"}),
		map { $_ => undef } qw(parameters objects sqlstate message detail));
	my %second = (%vector2, event_id => 43);
	my %rows3 = (row_key => [ [ id => '1' ] ], old_row => [ [ balance => '100' ] ],
		new_row => [ [ id => '1' ], [ note => qq("zo\xc3\xab") ], [ balance => '0' ] ]);
	my %vector3 = (%vector2, format_version => 3,
		(map { $_ => $object->($rows3{$_}) } keys %rows3),
		changed_columns => '["balance"]', row_salt => '000102030405060708090a0b0c0d0e0f');
	my $leaf = sha256("\x00" . $encode->(\%vector));
	is(unpack('H*', $leaf), '51d8d9dbb17500674a416cd667b40c4729853e01568bf0f29bf30d51d6cb3ce4',
		'the test vector of FORMAT.md, encoded here, has its documented leaf hash');
	is(unpack('H*', sha256("\x00" . $encode->(\%vector2))),
		'498eba12a93c6803559e1c528a06c6402b12cd39660a6bec96ae8410bcd504c8',
		'so has the format 2 test vector');
	my $leaf3 = sha256("\x00" . $encode->(\%vector3, \%rows3));
	is(unpack('H*', $leaf3), '4e6e6f1aac60ea34d58fac99cd20ba9ae17629070488c0bb21e69d497c53e94b',
		'so has the format 3 test vector');
	is($vector3{new_row}, qq({"id": 1, "note": "zo\xc3\xab", "balance": 0}),
		'whose new_row is the canonical text FORMAT.md gives');
	my $leaf2 = sha256("\x00" . $encode->(\%second));
	my $digest = $node_hash->($node_hash->($leaf, $leaf2), $leaf3);
	my $txn_entry = pack('CQ>q>Nq>a32', 1, 1000, 17, 3, 820638245679000, $digest);
	my $txn_leaf = sha256("\x00" . $txn_entry);
	my $chain_id = pack('H*', '00112233445566778899aabbccddeeff');
	my ($h1, $h3) = (sha256('block one'), sha256('block three'));
	my $head = pack('Ca16q>q>q>Nq>q>a32a32', 1, $chain_id, 2, 15, 20, 1, 3,
		820638245680000, $txn_leaf, $h1);
	my $block_hash = sha256("\x02" . $head);
	my $root = $node_hash->($node_hash->($h1, $block_hash), $h3);
	write_file("$dir/msg", 'AUDIT_EXT-CHECKPOINT-1' . $chain_id . pack('Q>', 3) . $root);
	system_or_bail('openssl', 'pkeyutl', '-sign', '-inkey', $key, '-rawin',
		'-in', "$dir/msg", '-out', "$dir/sig");
	my $key_id = ($node->safe_psql('app', 'SELECT DISTINCT key_id FROM audit.blocks'));
	my $hex = sub { unpack('H*', $_[0]) };
	my %hand = (
		format => 1, chain_id => $hex->($chain_id), event => \%vector,
		leaf_hash => $hex->($leaf),
		transaction => { txid => 1000, position => 17, event_count => 3,
			committed_at_us => 820638245679000, digest => $hex->($digest),
			index => 0, path => [ $hex->($leaf2), $hex->($leaf3) ] },
		block => { block_id => 2, first_position => 15, last_position => 20,
			txn_count => 1, event_count => 3, sealed_at_us => 820638245680000,
			txn_root => $hex->($txn_leaf), prev_hash => $hex->($h1),
			index => 0, path => [] },
		tree => { index => 1, size => 3, path => [ $hex->($h1), $hex->($h3) ] },
		checkpoint => { format => 1, chain_id => $hex->($chain_id), block_id => 3,
			tree_size => 3, root_hash => $hex->($root),
			signature => $hex->(slurp_file("$dir/sig")), key_id => $key_id });
	my $json = JSON::PP->new->canonical;
	write_file("$dir/hand.json", $json->encode(\%hand));
	($rc, $out) = av('--proof', "$dir/hand.json", '-k', $pub);
	is($rc, 0, 'a proof built by hand from FORMAT.md verifies, signature included');

	my %bad = %hand;
	$bad{transaction} = { %{ $hand{transaction} }, path => [ $hex->($leaf) ] };
	write_file("$dir/hand.bad.json", $json->encode(\%bad));
	($rc, $out) = av('--proof', "$dir/hand.bad.json");
	is($rc, 1, 'a wrong transaction path: exit status 1');
	like($out, qr/^digest mismatch: block 2, txid 1000, event 42: the path from leaf 0 of 3 does not lead/m,
		'the wrong path is reported as a digest mismatch');

	($rc, $out) = av('--proof', "$dir/hand.json", '-k', $other_pub);
	is($rc, 1, 'the hand-made proof with a wrong public key: exit status 1');
	like($out, qr/^signature invalid: block 3: the proof's checkpoint is signed by key/m,
		'signature invalid');

	# The second event, of format 2: its jsonb context is a string of
	# canonical text, hashed as its bytes; it has no keys for format 3.
	my %hand2 = (%hand, event => \%second, leaf_hash => $hex->($leaf2),
		transaction => { %{ $hand{transaction} }, index => 1,
			path => [ $hex->($leaf), $hex->($leaf3) ] });
	write_file("$dir/hand2.json", $json->encode(\%hand2));
	($rc, $out) = av('--proof', "$dir/hand2.json", '-k', $pub);
	is($rc, 0, 'a hand-made proof of a format 2 event verifies');
	my %respaced = (%second, context => qq({"user":"zo\xc3\xab","tenant":7,"request":"r-17"}));
	write_file("$dir/hand2.bad.json", $json->encode({ %hand2, event => \%respaced }));
	($rc, $out) = av('--proof', "$dir/hand2.bad.json");
	is($rc, 1, 'the same context with other spacing: exit status 1');
	like($out, qr/^event altered: block 2, txid 1000, event 43: the event hashes to/m,
		'JSON text is hashed as it is, not parsed');
	my %stray = (%vector, app_user => 'mallory');
	write_file("$dir/hand.stray.json", $json->encode({ %hand, event => \%stray }));
	($rc, $out) = av('--proof', "$dir/hand.stray.json");
	is($rc, 1, 'a format 1 event with a value in a column of format 2: exit status 1');
	like($out, qr/^event altered: block 2, txid 1000, event 42: fields its format version does not hash hold values$/m,
		'the value no hash covers is reported');
	my %short = %second;
	delete $short{app_user};
	write_file("$dir/hand2.short.json", $json->encode({ %hand2, event => \%short }));
	($rc, $out, $err) = av('--proof', "$dir/hand2.short.json");
	is($rc, 2, 'a format 2 event without a key of format 2: exit status 2');
	like($err, qr/event: "app_user" is missing/, 'the missing key is named');

	# The third event, the format 3 vector: audit_verify and the server
	# both hold its proof, and neither once a value of its new_row is
	# edited (its leaf hash left as it was).
	my %hand3 = (%hand, event => \%vector3, leaf_hash => $hex->($leaf3),
		transaction => { %{ $hand{transaction} }, index => 2,
			path => [ $hex->($node_hash->($leaf, $leaf2)) ] });
	my %edited3 = (%vector3, new_row => $vector3{new_row} =~ s/"balance": 0/"balance": 1/r);
	# (The server reads the very bytes audit_verify reads.)
	my $server_holds = sub {
		$node->safe_psql('app', "SELECT audit.verify_inclusion_proof(pg_read_file('$_[0]')::jsonb)");
	};
	write_file("$dir/hand3.json", $json->encode(\%hand3));
	($rc, $out) = av('--proof', "$dir/hand3.json", '-k', $pub);
	is($rc, 0, 'a hand-made proof of the format 3 vector verifies');
	is($server_holds->("$dir/hand3.json"), 't',
		'the server holds it too: its encoding is the vector\'s');
	write_file("$dir/hand3.bad.json", $json->encode({ %hand3, event => \%edited3 }));
	($rc, $out) = av('--proof', "$dir/hand3.bad.json");
	is($rc, 1, 'the format 3 vector with a value edited: exit status 1');
	like($out, qr/^event altered: block 2, txid 1000, event 42: the event hashes to/m,
		'the edited value is caught');
	is($server_holds->("$dir/hand3.bad.json"), 'f', 'by the server too');
}

# --- tampering: one database per kind ------------------------------------------------

# Each kind of alteration, the problem audit_verify must name, and the SQL
# the superuser runs with the library unloaded; for an alteration of one
# event, the kind and command of the event that must be the only one
# named.
my $row_altered = qr/^event altered: block \d+, txid \d+, event \d+: stored leaf hash \\x[0-9a-f]{64}, computed/m;
my @tampers = (
	[ 'event_altered', qr/^event altered: block \d+, txid \d+, event \d+: stored leaf hash \\x[0-9a-f]{64}, computed/m,
		q{UPDATE audit.event SET statement = 'SELECT 1' WHERE command = 'DELETE' AND object_name = 'public.accounts'} ],
	[ 'event_deleted', qr/^event missing: block \d+, txid \d+: the transaction recorded 2 events, 1 are present$/m,
		q{DELETE FROM audit.event WHERE command = 'UPDATE' AND statement LIKE '%balance = 0%'} ],
	[ 'event_inserted', qr/^event inserted: block \d+, txid \d+: the transaction recorded 1 events, 2 are present$/m,
		q{INSERT INTO audit.event
		  SELECT event_id + 1000, format_version, txid, occurred_at, kind, command, object_name,
		         session_role, effective_role, client_addr, client_port, application_name,
		         backend_pid, database, 'DELETE FROM accounts', rows_affected, leaf_hash,
		         class, statement_id, nesting_level, app_user, context, parameters, objects,
		         sqlstate, message, detail
		    FROM audit.event WHERE command = 'DELETE' AND object_name = 'public.accounts'} ],
	[ 'event_orphan', qr/^event inserted: txid 99999, event \d+: its transaction has no digest/m,
		q{INSERT INTO audit.event
		  SELECT event_id + 1000, format_version, '99999', occurred_at, kind, command, object_name,
		         session_role, effective_role, client_addr, client_port, application_name,
		         backend_pid, database, statement, rows_affected, leaf_hash,
		         class, statement_id, nesting_level, app_user, context, parameters, objects,
		         sqlstate, message, detail
		    FROM audit.event WHERE command = 'DELETE' AND object_name = 'public.accounts'} ],
	[ 'context_altered', qr/^event altered: block \d+, txid \d+, event \d+: stored leaf hash \\x[0-9a-f]{64}, computed/m,
		q{UPDATE audit.event SET context = context || '{"tenant": 8}' WHERE app_user = 'carol'} ],
	[ 'txn_deleted', qr/^transaction missing: block \d+: the block sealed \d+ transactions, \d+ are present$/m,
		q{DELETE FROM audit.txn WHERE txid = (SELECT txid FROM audit.event WHERE command = 'DELETE' AND object_name = 'public.accounts')} ],
	[ 'txn_altered', qr/^transaction altered: block \d+: stored transaction root/m,
		q{UPDATE audit.txn SET committed_at = committed_at + interval '1 second'
		   WHERE txid = (SELECT txid FROM audit.event WHERE command = 'DELETE' AND object_name = 'public.accounts')} ],
	[ 'digest_altered', qr/^digest mismatch: block \d+, txid \d+: stored digest \\x[0-9a-f]{64}, computed from its events/m,
		q{UPDATE audit.txn SET digest = sha256('x') WHERE event_count = 2} ],
	[ 'block_altered', qr/^block altered: block 2: stored block hash/m,
		q{UPDATE audit.block SET event_count = event_count + 1 WHERE block_id = 2} ],
	[ 'chain_broken', qr/^chain broken: block 3: prev_hash/m,
		q{UPDATE audit.block SET prev_hash = sha256('x') WHERE block_id = 3} ],
	[ 'block_deleted', qr/^chain broken: block 3: block 3 follows block 1$/m,
		q{DELETE FROM audit.block WHERE block_id = 2} ],
	[ 'signature_forged', qr/^signature invalid: block 1: the signature by key [0-9a-f]{16} does not match the checkpoint at this block$/m,
		q{UPDATE audit.block SET signature = sha256('x') || sha256('y') WHERE block_id = 1} ],
	# Row events: a value of a row image, the salt of its commitments, the
	# changed columns; a row image left without its salt.
	[ 'row_value_altered', $row_altered,
		q{UPDATE audit.event SET new_row = jsonb_set(new_row, ARRAY[E'tab\tcol'], '1000')
		   WHERE kind = 'row' AND command = 'INSERT' AND row_key = '{"id": 3}'}, 'row INSERT' ],
	[ 'row_salt_altered', $row_altered,
		q{UPDATE audit.event SET row_salt = substr(sha256('x'), 1, 16)
		   WHERE kind = 'row' AND command = 'DELETE'}, 'row DELETE' ],
	[ 'changed_columns_altered', $row_altered,
		q{UPDATE audit.event SET changed_columns = '["id"]' WHERE kind = 'row' AND command = 'UPDATE'},
		'row UPDATE' ],
	[ 'row_salt_removed', qr/^event altered: block \d+, txid \d+, event \d+: a row image cannot be encoded: it is not an object, or row_salt is not 16 bytes$/m,
		q{UPDATE audit.event SET row_salt = NULL WHERE kind = 'row' AND command = 'UPDATE'},
		'row UPDATE' ],
);

make_trail($_->[0]) for @tampers;
make_trail('truncated');
make_trail('rewritten');
make_trail('rechained');
my %saved;
for my $db (qw(truncated rewritten rechained))
{
	$saved{$db} = "$dir/$db.checkpoint.json";
	digest_to_file($db, $saved{$db});
	($rc) = av('-c', $saved{$db}, conn($db));
	is($rc, 0, "$db: verifies against its checkpoint before the attack");
}
my $old_chain = $node->safe_psql('rechained', q{SELECT encode(chain_id, 'hex') FROM audit.chain});

# The attack: the library unloaded, the superuser edits the trail.
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
$node->safe_psql($_->[0], $_->[2]) for @tampers;
$node->safe_psql('truncated', 'DELETE FROM audit.block WHERE block_id >= 3');
$node->safe_psql($_, 'DROP EXTENSION audit_ext CASCADE') for qw(rewritten rechained);
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'");
$node->start;

for my $t (@tampers)
{
	my ($db, $expected, undef, $which) = @$t;
	($rc, $out, $err, $sig) = av('-k', $pub, conn($db));
	is($rc, 1, "$db: live verification fails, exit status 1");
	like($out, $expected, "$db: the problem is named");
	like($out, qr/^FAILED: \d+ problems? \(/m, "$db: the summary says FAILED");
	is(problems_of($out), server_report($node, $db),
		"$db: the same problems, word for word, as audit.verify_report()");
	if ($which)
	{
		my ($id) = $out =~ /^event altered: .*?, event (\d+): /m;
		is($node->safe_psql($db, "SELECT kind || ' ' || command FROM audit.event WHERE event_id = "
				  . ($id // 0)), $which, "$db: the event named is the $which event");
		like($out, qr/^FAILED: 1 problem \(/m, "$db: and it is the only problem");
	}

	($rc, $out) = av('--export', "$dir/$db", conn($db));
	is($rc, 0, "$db: the tampered trail exports");
	($rc, $out) = av('--bundle', "$dir/$db", '-k', $pub, '--sort-buffer', '3');
	is($rc, 1, "$db: its bundle fails too, exit status 1");
	like($out, $expected, "$db: the bundle names the same problem");
}

# A truncated tail verifies on its own: only the saved checkpoint shows it.
($rc, $out) = av(conn('truncated'));
is($rc, 0, 'truncated: without the checkpoint the shortened trail looks whole');
($rc, $out) = av('-c', $saved{truncated}, conn('truncated'));
is($rc, 1, 'truncated: with the saved checkpoint, exit status 1');
like($out, qr/^trail truncated: block (\d+): a checkpoint was saved at block \1, the trail ends at block \d+$/m,
	'truncated: trail truncated');
($rc, $out) = av('--export', "$dir/truncated", conn('truncated'));
($rc, $out) = av('--bundle', "$dir/truncated", '-c', $saved{truncated});
is($rc, 1, 'truncated: its bundle with the saved checkpoint fails too');
like($out, qr/^trail truncated: /m, 'truncated: the bundle says so');

# A whole history rewritten consistently: the extension recreated and the
# statements replayed, sealed into as many blocks as before.  With a new
# chain id, and with the old one put back before anything was sealed.
for my $db (qw(rewritten rechained))
{
	# In one transaction: the sealing worker may seal the CREATE EXTENSION
	# as soon as it commits.
	$node->safe_psql($db, 'BEGIN; CREATE EXTENSION audit_ext; '
		  . ($db eq 'rechained'
			? "UPDATE audit.chain SET chain_id = decode('$old_chain', 'hex'); "
			: '')
		  . 'COMMIT;');
	for my $i (1 .. 6)
	{
		$node->safe_psql($db, "INSERT INTO accounts VALUES (100 + $i, $i, 'replayed')");
		$node->safe_psql($db, 'SELECT audit.seal()');
	}
	($rc, $out) = av('-k', $pub, conn($db));
	is($rc, 0, "$db: the rewritten trail is consistent in itself");
}
($rc, $out) = av('-c', $saved{rewritten}, conn('rewritten'));
is($rc, 1, 'rewritten: the saved checkpoint catches it, exit status 1');
like($out, qr/^checkpoint mismatch: block \d+: the checkpoint belongs to another trail \(chain id differs\)$/m,
	'rewritten: checkpoint mismatch (another trail)');
($rc, $out) = av('-c', $saved{rechained}, conn('rechained'));
is($rc, 1, 'rechained: the saved checkpoint catches it, exit status 1');
like($out, qr/^checkpoint mismatch: block \d+: saved root \\x[0-9a-f]{64}, root of the trail now \\x[0-9a-f]{64}: history up to this block was rewritten$/m,
	'rechained: checkpoint mismatch (history rewritten)');

# --- usage and connection errors: exit status 2 -------------------------------------

my @usage = (
	[ [], qr/no connection string given/, 'no arguments' ],
	[ ['--no-such-option'], qr/unrecognized option/, 'an unknown option' ],
	[ [ '--bundle', $bundle, conn('app') ], qr/read no database/, '--bundle with a connection string' ],
	[ [ '--export', "$dir/x", '--bundle', $bundle ], qr/exclude each other/, '--export with --bundle' ],
	[ [ '--export', "$dir/x", '-c', $cp_app, conn('app') ], qr/do not apply/, '--export with --checkpoint' ],
	[ [ '--sort-buffer', '0', '--bundle', $bundle ], qr/--sort-buffer must be/, 'a bad --sort-buffer' ],
	[ [ conn('app'), 'extra' ], qr/too many arguments/, 'two connection strings' ],
	[ [ '-c', "$dir/missing.json", conn('app') ], qr/could not open ".*missing\.json"/, 'a missing checkpoint file' ],
	[ [ '-k', $key, conn('app') ], qr/does not hold an Ed25519 public key/, 'a private key as --public-key' ],
	[ [ 'host=127.0.0.1 port=1 connect_timeout=5' ], qr/could not connect to the database/, 'no server' ],
	[ [ conn('postgres') ], qr/audit_ext is not installed in database "postgres"/, 'no extension' ],
	[ [ '--bundle', "$dir/nowhere" ], qr/bundle directory ".*nowhere" does not exist/, 'no bundle' ],
);
for my $u (@usage)
{
	my ($args, $msg, $what) = @$u;
	($rc, $out, $err, $sig) = av(@$args);
	is($rc, 2, "$what: exit status 2");
	like($err, $msg, "$what: a clear message");
}
($rc, $out) = av('--help');
is($rc, 0, '--help: exit status 0');
like($out, qr/^Usage:$/m, '--help shows the usage');

# --- malformed bundles and proofs: exit status 2, never a crash ----------------------

sub broken_bundle
{
	my ($name, $file, $edit) = @_;
	my $b = "$dir/broken_$name";
	mkdir $b;
	copy("$bundle/$_", "$b/$_") for qw(chain.json blocks.jsonl transactions.jsonl events.jsonl);
	my $text = slurp_file("$b/$file");
	write_file("$b/$file", $edit->($text));
	return $b;
}

my @malformed = (
	[ 'truncated_line', 'events.jsonl', sub { substr($_[0], 0, length($_[0]) - 40) },
		qr/events\.jsonl line \d+: malformed JSON: unexpected end of data \(truncated\?\)/ ],
	[ 'bad_hex', 'blocks.jsonl', sub { my $t = shift; $t =~ s/"txn_root": "../"txn_root": "zz/; $t },
		qr/blocks\.jsonl line 1: "txn_root" is not a hexadecimal string/ ],
	[ 'odd_hex', 'transactions.jsonl', sub { my $t = shift; $t =~ s/"digest": "./"digest": "/; $t },
		qr/transactions\.jsonl line 1: "digest" is not a hexadecimal string/ ],
	[ 'wrong_type', 'events.jsonl', sub { my $t = shift; $t =~ s/"event_id": (\d+)/"event_id": "$1"/; $t },
		qr/events\.jsonl line 1: "event_id" must be a whole number/ ],
	[ 'missing_key', 'transactions.jsonl', sub { my $t = shift; $t =~ s/"position": \d+, //; $t },
		qr/transactions\.jsonl line 1: "position" is missing/ ],
	[ 'not_json', 'chain.json', sub { "chain\n" }, qr/chain\.json: malformed JSON/ ],
	[ 'out_of_order', 'transactions.jsonl', sub { join("\n", reverse split /\n/, $_[0]) . "\n" },
		qr/transactions\.jsonl line 2: transactions are not in position order/ ],
	[ 'huge_number', 'blocks.jsonl', sub { my $t = shift; $t =~ s/"event_count": \d+/"event_count": 99999999999999999999/; $t },
		qr/blocks\.jsonl line 1: "event_count" is out of range/ ],
);
for my $m (@malformed)
{
	my ($name, $file, $edit, $msg) = @$m;
	my $b = broken_bundle($name, $file, $edit);
	($rc, $out, $err, $sig) = av('--bundle', $b);
	is($sig, 0, "malformed bundle, $name: no crash");
	is($rc, 2, "malformed bundle, $name: exit status 2");
	like($err, $msg, "malformed bundle, $name: a clear message");
}

write_file("$dir/proof.truncated.json", substr(slurp_file($proof), 0, 100));
($rc, $out, $err, $sig) = av('--proof', "$dir/proof.truncated.json");
is($rc, 2, 'a truncated proof: exit status 2');
like($err, qr/malformed JSON: unexpected end of data/, 'a truncated proof: a clear message');
write_file("$dir/proof.other.json", '{"format": 1, "something": "else"}');
($rc, $out, $err) = av('--proof', "$dir/proof.other.json");
is($rc, 2, 'a JSON document that is no proof: exit status 2');
like($err, qr/neither an inclusion proof .* nor a consistency proof/, 'a JSON document that is no proof: a clear message');

$node->stop;
done_testing();
