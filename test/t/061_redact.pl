# Copyright (c) audit_ext contributors
#
# 061_redact.pl — GDPR erasure seen from outside the database: after
# audit.redact() erased values from row events, audit_verify passes on the
# live database (as superuser and as audit_reader, through the views), on
# an exported bundle, and on the inclusion proof of an erased event; the
# erased values are in none of them.  Tampering after the erasure (a value
# that stays, an erased commitment, row_salt put back, a kept salt) is
# reported by audit_verify exactly as by audit.verify_report().

use strict;
use warnings;

use JSON::PP qw(decode_json encode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $node = PostgreSQL::Test::Cluster->new('redact');
$node->init;
# Blocks come from audit.seal() only; tampering below needs the guard off.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 3600000
audit.log_connections = off
audit.log = 'ddl, write, role'
audit.guard = off
});
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0], @_[1 .. $#_]); }
sub conn { return $node->connstr('postgres') . ($_[0] // ''); }

sql('CREATE EXTENSION audit_ext');
sql('CREATE ROLE eraser LOGIN IN ROLE audit_admin');
sql('CREATE ROLE auditor LOGIN IN ROLE audit_reader');
sql('CREATE TABLE person (id int PRIMARY KEY, name text, email text)');
sql(q{SELECT audit.track('person')});
sql(q{INSERT INTO person SELECT 1, 'Zoë', 'zoe' || chr(64) || 'example.org'});
sql(q{UPDATE person SET email = 'z' || chr(64) || 'example.net' WHERE id = 1});
sql(q{INSERT INTO person SELECT 2, 'Bob', 'bob' || chr(64) || 'example.org'});
sql('SELECT audit.seal()');
my $ins = sql(q{SELECT event_id FROM audit.event WHERE kind = 'row' AND command = 'INSERT'
	AND row_key = '{"id": 1}'});

# --- erase ------------------------------------------------------------------

my $erased = $node->safe_psql('postgres',
	q{SELECT audit.redact('person', '{"id": 1}', '{name, email}', 'request 42')},
	connstr => conn(' user=eraser'));
is($erased, '5', 'audit_admin erased 5 values (INSERT: 2, UPDATE: 2 new, 1 old)');
sql('SELECT audit.seal()');
is(sql(q{SELECT count(*) FROM audit.event WHERE kind = 'row'
	AND concat(row_key, old_row, new_row) ~ '(Zo|zoe@|z@)'}), '0',
	'the erased values are gone from the row events');
is(sql('SELECT ok FROM audit.verify()'), 't', 'audit.verify() passes after the erasure');

my ($rc, $out) = av(conn());
is($rc, 0, 'audit_verify live: exit status 0');
like($out, qr/^ok:/m, 'audit_verify live: ok');
($rc, $out) = av(conn(' user=auditor'));
is($rc, 0, 'audit_verify live as audit_reader (the views show erasure): exit status 0');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $bundle = "$dir/bundle";
($rc, $out) = av('--export', $bundle, conn());
is($rc, 0, 'export: exit status 0');
my @events = map { decode_json($_) } split /\n/, slurp_file("$bundle/events.jsonl");
my @images = map { $_->{row_key} // '', $_->{old_row} // '', $_->{new_row} // '' } @events;
is(scalar(grep { /(Zo|zoe@|z\@example)/ } @images), 0, 'the row images in the bundle hold no erased value');
my ($ev) = grep { $_->{event_id} == $ins } @events;
like($ev->{erasure}, qr/"erased"/, 'the bundle carries the erasure record');
is($ev->{row_salt}, undef, 'and no row_salt');
($rc, $out) = av('--bundle', $bundle);
is($rc, 0, 'audit_verify --bundle: exit status 0');

my $proof = "$dir/proof.json";
write_file($proof, sql("SELECT audit.inclusion_proof($ins)"));
($rc, $out) = av('--proof', $proof);
is($rc, 0, 'audit_verify --proof of the erased event: exit status 0');
like($out, qr/^ok: event $ins is in block \d+/, 'and names the event');
my $doc = decode_json(slurp_file($proof));
my %ev = %{ $doc->{event} };
delete $ev{erasure};
write_file("$dir/proof.bad.json", encode_json({ %$doc, event => \%ev }));
($rc, $out) = av('--proof', "$dir/proof.bad.json");
is($rc, 1, 'the proof without its erasure record: exit status 1');
like($out, qr/a row image cannot be encoded/, 'the images cannot be encoded without the kept salts');

# --- tampering after the erasure ---------------------------------------------

my @tampering = (
	[ 'a value that stays', q{new_row = jsonb_set(new_row, '{id}', '9')} ],
	[ 'an erased commitment',
		q{erasure = jsonb_set(erasure, '{erased,n,name}', to_jsonb(encode(sha256('x'), 'hex')))} ],
	[ 'row_salt put back', q{row_salt = '\x000102030405060708090a0b0c0d0e0f'} ],
	[ 'a kept salt removed', q{erasure = erasure #- '{salts,n,id}'} ]);
for my $t (@tampering)
{
	my ($what, $change) = @$t;
	sql("CREATE TABLE saved AS SELECT * FROM audit.event WHERE event_id = $ins;"
		  . " UPDATE audit.event SET $change WHERE event_id = $ins;");
	my $server = server_report($node, 'postgres');
	like($server, qr/^event altered: .*event $ins: /m, "$what: audit.verify_report() reports it");
	($rc, $out) = av(conn());
	is($rc, 1, "$what: audit_verify live: exit status 1");
	is(problems_of($out), $server, "$what: audit_verify reports what the server does");
	sql(qq{UPDATE audit.event e SET new_row = s.new_row, row_salt = s.row_salt, erasure = s.erasure
		FROM saved s WHERE e.event_id = s.event_id; DROP TABLE saved});
}
($rc, $out) = av(conn());
is($rc, 0, 'restored: audit_verify live passes again');

# --- with the guard on --------------------------------------------------------
# audit.redact() writes audit.event from a SECURITY DEFINER function of the
# extension, which the guard lets through; direct writes stay refused.

$node->append_conf('postgresql.conf', 'audit.guard = on');
$node->restart;
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"UPDATE audit.event SET erasure = NULL WHERE event_id = $ins");
like($stderr, qr/permission denied|42501|refused/i, 'guard on: a direct UPDATE of audit.event is refused');
is($node->safe_psql('postgres',
	q{SELECT audit.redact('person', '{"id": 2}', '{email}', 'request 43')},
	connstr => conn(' user=eraser')), '1', 'guard on: audit.redact() erases');
is(sql('SELECT ok FROM audit.verify()'), 't', 'guard on: audit.verify() passes');
($rc, $out) = av(conn());
is($rc, 0, 'guard on: audit_verify live passes');

done_testing();
