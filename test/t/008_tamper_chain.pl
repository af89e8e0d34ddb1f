# Copyright (c) audit_ext contributors
#
# 008_tamper_chain.pl — the tamper suite of the integrity layer.  For each
# attack the superuser restarts a copy of a sealed, checkpointed trail
# WITHOUT audit_ext (so nothing can stand in the way), changes the audit
# tables with plain SQL, and restarts it with audit_ext.  Then
# audit.verify_report() must name the right problem at the right place,
# audit.verify(checkpoint) must fail, and the offline verifier audit_verify
# must exit 1.  Two attacks leave every internal hash consistent — deleting
# the newest blocks, and rewriting history so that the server seals it
# again — and only the saved checkpoint catches them.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Logins and logouts are not recorded: each connection would add events,
# sealed as they come, and the blocks compared here would move.
my $origin = PostgreSQL::Test::Cluster->new('origin');
$origin->init(allows_streaming => 1);
$origin->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 100
audit.log_connections = off
});
$origin->start;

# A trail of several transactions in several blocks; first, row events
# (format 3) of a tracked table.
$origin->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE pay (id int PRIMARY KEY, amount numeric);
	CREATE TABLE note (id int PRIMARY KEY, body text, tags jsonb);
	SELECT audit.track('note');
	INSERT INTO note VALUES (1, 'zoë "q"', '{"b": [1, 2.50], "a": null}'), (2, NULL, '[]');
	SELECT audit.seal();
});
for my $i (1 .. 4)
{
	$origin->safe_psql('postgres', qq{
		BEGIN;
		INSERT INTO pay VALUES ($i, $i * 10);
		UPDATE pay SET amount = amount + 1 WHERE id = $i;
		COMMIT;
		SELECT audit.seal();
	});
}
$origin->safe_psql('postgres', q{
	INSERT INTO pay VALUES (99, 1);   -- a one-event transaction
	SELECT audit.seal();
});
is($origin->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'the trail verifies before any attack');
my $checkpoint = $origin->safe_psql('postgres', 'SELECT audit.digest()');
my $blocks = $origin->safe_psql('postgres', 'SELECT max(block_id) FROM audit.blocks');
cmp_ok($blocks, '>=', 5, 'several blocks were sealed');
my $cpfile = PostgreSQL::Test::Utils::tempdir() . '/checkpoint.json';
PostgreSQL::Test::Utils::append_to_file($cpfile, $checkpoint);
$origin->backup('sealed');

my %q = (
	upd_event => q{SELECT event_id FROM audit.event WHERE command = 'UPDATE' ORDER BY event_id LIMIT 1},
	upd_txid => q{SELECT txid FROM audit.event WHERE command = 'UPDATE' ORDER BY event_id LIMIT 1},
	upd_block => q{SELECT block_id FROM audit.events WHERE command = 'UPDATE' ORDER BY event_id LIMIT 1},
	row_event => q{SELECT event_id FROM audit.event WHERE kind = 'row' AND row_key = '{"id": 1}'},
	row_txid => q{SELECT txid FROM audit.event WHERE kind = 'row' AND row_key = '{"id": 1}'},
	row_block => q{SELECT block_id FROM audit.events WHERE kind = 'row' AND row_key = '{"id": 1}'},
);
my %at = map { $_ => $origin->safe_psql('postgres', $q{$_}) } keys %q;

# Run one attack on a fresh copy of the sealed trail; return the node,
# restarted with audit_ext.
my $n = 0;
sub attack
{
	my ($sql, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new('attack' . ++$n);
	$node->init_from_backup($origin, 'sealed');
	$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
	$node->start;
	$node->safe_psql('postgres', "SET session_replication_role = replica;\n$sql");
	$node->stop;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'audit_ext'\n" . ($conf // ''));
	$node->start;
	return $node;
}

# The problems as "block|txid|event|problem" lines.
sub report
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SELECT concat(block_id, '|', txid, '|', event_id, '|', problem)
		  FROM audit.verify_report()});
}

# The offline verifier, against the live copy and the saved checkpoint.
sub offline
{
	my ($node, @args) = @_;
	my ($stdout, $stderr);
	IPC::Run::run(['audit_verify', @args, $node->connstr('postgres')],
		'>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout . $stderr);
}

sub expect_caught
{
	my ($name, $node, $expected, $problem) = @_;
	is(report($node), $expected, "$name: verify_report() names it");
	is($node->safe_psql('postgres', "SELECT ok FROM audit.verify('$checkpoint'::jsonb)"),
		'f', "$name: verify(checkpoint) fails");
	my ($rc, $out) = offline($node, '--checkpoint', $cpfile);
	is($rc, 1, "$name: audit_verify exits 1");
	like($out, qr/\Q$problem\E/, "$name: audit_verify says '$problem'");
	$node->stop;
}

# 1. Alter an event's content.
expect_caught('altered statement',
	attack("UPDATE audit.event SET statement = 'SELECT 1' WHERE event_id = $at{upd_event}"),
	"$at{upd_block}|$at{upd_txid}|$at{upd_event}|event altered", 'event altered');

# 1b. Alter a column that format 2 added.
expect_caught('altered format 2 column',
	attack("UPDATE audit.event SET app_user = 'mallory' WHERE event_id = $at{upd_event}"),
	"$at{upd_block}|$at{upd_txid}|$at{upd_event}|event altered", 'event altered');

# 1c. Alter a value of a row image (format 3).
expect_caught('altered row image',
	attack(q{UPDATE audit.event SET new_row = jsonb_set(new_row, '{body}', '"forged"')}
		  . " WHERE event_id = $at{row_event}"),
	"$at{row_block}|$at{row_txid}|$at{row_event}|event altered", 'event altered');

# 2. Delete an event.
expect_caught('deleted event',
	attack("DELETE FROM audit.event WHERE event_id = $at{upd_event}"),
	"$at{upd_block}|$at{upd_txid}||event missing", 'event missing');

# 3. Delete a whole transaction: its events and its digest.
expect_caught('deleted transaction',
	attack("DELETE FROM audit.event WHERE txid = '$at{upd_txid}';
	        DELETE FROM audit.txn WHERE txid = '$at{upd_txid}'"),
	"$at{upd_block}|||transaction missing", 'transaction missing');

# The leaf hash of an audit.event row, computed in SQL from docs/FORMAT.md:
# what an attacker who read the specification would do.  Each row in its
# own format version: 1 encodes the first 15 fields, 2 ten more, 3 four
# more, among them the row images, key by key (salted commitments).
sub field
{
	my ($tag, $expr, $int, $column) = @_;
	my $bytes = $int ? "int8send(($expr)::bigint)" : "convert_to($expr, 'UTF8')";
	my $len = $int ? '8' : "octet_length($bytes)";
	$column //= $expr;
	return "CASE WHEN ($column) IS NULL THEN '\\x00'::bytea ELSE '\\x$tag'::bytea || int4send($len) || $bytes END";
}
my @v1_fields = (
	field('01', 'event_id', 1),
	field('01', 'txid::text::bigint', 1),
	field('03', '(extract(epoch FROM occurred_at) - 946684800) * 1000000', 1),
	field('02', 'kind'), field('02', 'command'), field('02', 'object_name'),
	field('02', 'session_role'), field('02', 'effective_role'),
	field('04', "format('%s', client_addr)", 0, 'client_addr'),
	field('01', 'client_port', 1), field('02', 'application_name'),
	field('01', 'backend_pid', 1), field('02', 'database'),
	field('02', 'statement'), field('01', 'rows_affected', 1));
my @v2_fields = (
	field('02', 'class'), field('01', 'statement_id', 1),
	field('01', 'nesting_level', 1), field('02', 'app_user'),
	(map { field('05', "$_\::text", 0, $_) } qw(context parameters objects)),
	field('02', 'sqlstate'), field('02', 'message'),
	field('05', 'detail::text', 0, 'detail'));
sub image
{
	my ($column, $side) = @_;
	my $commitment = "sha256('\\x03'::bytea || substr(sha256('\\x04'::bytea || row_salt"
	  . " || '$side'::bytea || k), 1, 16) || convert_to(m.value::text, 'UTF8'))";
	return "CASE WHEN $column IS NULL THEN '\\x00'::bytea ELSE"
	  . " (SELECT '\\x06'::bytea || int4send(octet_length(b)) || b FROM"
	  . " (SELECT int4send(count(*)::int) || coalesce(string_agg(int4send(octet_length(k)) || k"
	  . " || $commitment, ''::bytea ORDER BY octet_length(k), k), ''::bytea) AS b"
	  . " FROM jsonb_each($column) m, convert_to(m.key, 'UTF8') k) s) END";
}
my @v3_fields = (image('row_key', 'k'), image('old_row', 'o'), image('new_row', 'n'),
	field('05', 'changed_columns::text', 0, 'changed_columns'));
my $leaf_sql = "sha256('\\x00'::bytea || CASE format_version"
  . " WHEN 1 THEN '\\x010f'::bytea || " . join(' || ', @v1_fields)
  . " WHEN 2 THEN '\\x0219'::bytea || " . join(' || ', @v1_fields, @v2_fields)
  . " WHEN 3 THEN '\\x031d'::bytea || " . join(' || ', @v1_fields, @v2_fields, @v3_fields)
  . ' END)';
is($origin->safe_psql('postgres',
	"SELECT bool_and(leaf_hash = $leaf_sql) AND bool_and(format_version = 3)"
	  . " AND count(*) FILTER (WHERE kind = 'row') = 2 FROM audit.event"),
	't', 'the attacker\'s SQL formula reproduces every stored leaf hash (format 3, row events included)');

# 4. Insert a forged event into a sealed transaction, with a correct leaf
#    hash: only the transaction's digest and count can tell.
my $node = attack(qq{
	INSERT INTO audit.event
	SELECT e.event_id + 100000, e.format_version, e.txid, e.occurred_at, e.kind,
	       'DELETE', e.object_name, e.session_role, e.effective_role, e.client_addr,
	       e.client_port, e.application_name, e.backend_pid, e.database,
	       'DELETE FROM pay', 4, e.leaf_hash, e.class, e.statement_id,
	       e.nesting_level, e.app_user, e.context, e.parameters, e.objects,
	       e.sqlstate, e.message, e.detail
	  FROM audit.event e WHERE event_id = $at{upd_event};
	UPDATE audit.event SET leaf_hash = $leaf_sql WHERE event_id > 100000;});
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM audit.verify_report() WHERE problem = 'event altered'}),
	'0', 'forged event: its leaf hash is right');
expect_caught('forged event', $node,
	"$at{upd_block}|$at{upd_txid}||event inserted", 'event inserted');

# 5. Reorder: swap the commit positions of two transactions in two blocks.
my ($pa, $ba, $pb, $bb) = split /\|/, $origin->safe_psql('postgres', q{
	SELECT string_agg(position || '|' || block_id, '|' ORDER BY position)
	  FROM (SELECT position, block_id FROM audit.transactions t
	         WHERE EXISTS (SELECT FROM audit.event e WHERE e.txid = t.txid AND e.command = 'UPDATE')
	         ORDER BY position LIMIT 2) s});
isnt($ba, $bb, 'the two transactions to swap are in different blocks');
expect_caught('reordered transactions',
	attack(qq{
		UPDATE audit.txn SET position = -1 WHERE position = $pa;
		UPDATE audit.txn SET position = $pa WHERE position = $pb;
		UPDATE audit.txn SET position = $pb WHERE position = -1;}),
	"$ba|||transaction altered\n$bb|||transaction altered", 'transaction altered');

# 6. Delete the newest blocks: every hash that is left still agrees.
$node = attack("DELETE FROM audit.block WHERE block_id > $blocks - 2");
is($node->safe_psql('postgres', 'SELECT ok FROM audit.verify()'), 't',
	'truncated tail: the trail alone looks consistent');
is($node->safe_psql('postgres',
	"SELECT first_problem ~ '^block $blocks: trail truncated' FROM audit.verify('$checkpoint'::jsonb)"),
	't', 'truncated tail: the saved checkpoint catches it');
my ($rc, $out) = offline($node, '--checkpoint', $cpfile);
is($rc, 1, 'truncated tail: audit_verify exits 1');
like($out, qr/trail truncated/, "truncated tail: audit_verify says 'trail truncated'");
$node->stop;

# 7. Rewrite history consistently: change the one-event transaction's
#    event, recompute its leaf hash and its digest (one leaf: the digest is
#    the leaf), remove every block, and let the server seal it all again,
#    one transaction a block so that the new trail is at least as long as
#    the checkpoint.  Every hash inside agrees; the saved checkpoint does not.
$node = attack(qq{
	UPDATE audit.event SET rows_affected = 0 WHERE statement LIKE '%(99, 1)%';
	UPDATE audit.event SET leaf_hash = $leaf_sql WHERE statement LIKE '%(99, 1)%';
	UPDATE audit.txn t SET digest = e.leaf_hash FROM audit.event e
	 WHERE e.txid = t.txid AND e.statement LIKE '%(99, 1)%';
	DELETE FROM audit.block;}, "audit.block_max_transactions = 1\n");
$node->safe_psql('postgres', 'SELECT audit.seal()');
is($node->safe_psql('postgres', 'SELECT ok, problems FROM audit.verify()'), 't|0',
	'rewritten history: every internal check passes');
is($node->safe_psql('postgres',
	"SELECT first_problem ~ 'checkpoint mismatch' FROM audit.verify('$checkpoint'::jsonb)"),
	't', 'rewritten history: the saved checkpoint catches it');
($rc, $out) = offline($node, '--checkpoint', $cpfile);
is($rc, 1, 'rewritten history: audit_verify exits 1');
like($out, qr/checkpoint mismatch/, "rewritten history: audit_verify says 'checkpoint mismatch'");
$node->stop;

done_testing();
