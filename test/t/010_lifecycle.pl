# Copyright (c) audit_ext contributors
#
# 010_lifecycle.pl — edge cases of the extension's life in a session:
# DROP and CREATE EXTENSION in one transaction that already wrote events,
# writes to temporary tables in read-only transactions, and a commit-
# position sequence given a cache (sealing must stop rather than skip).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION audit_ext');

# Events written before a DROP EXTENSION in the same transaction go with the
# dropped table; the digest written at commit covers only what survives.
$node->safe_psql('postgres', q{
	BEGIN;
	CREATE TABLE x1 (a int);
	DROP EXTENSION audit_ext;
	CREATE EXTENSION audit_ext;
	CREATE TABLE x2 (a int);
	COMMIT;
});
is($node->safe_psql('postgres', q{
	SELECT string_agg(command || ' ' || coalesce(object_name, ''), ', ' ORDER BY event_id)
	  FROM audit.events}),
	'CREATE EXTENSION audit_ext, CREATE TABLE public.x2',
	'after DROP and CREATE EXTENSION in one transaction, the new trail starts there');
$node->safe_psql('postgres', 'SELECT audit.seal()');
is($node->safe_psql('postgres', 'SELECT ok, problems FROM audit.verify()'), 't|0',
	'and its digest matches the events that survived');

# A read-only transaction may write temporary tables; that is not refused,
# and not recorded (nextval of the trail's sequences is not allowed there).
my ($rc, $out, $err) = $node->psql('postgres', q{
	CREATE TEMP TABLE tt (a int);
	BEGIN READ ONLY;
	INSERT INTO tt VALUES (1);
	SELECT count(*) FROM tt;
	COMMIT;
});
is($rc, 0, 'INSERT into a temporary table in a read-only transaction works');
is($out, '1', 'and the row is there');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM audit.events WHERE command = 'INSERT' AND object_name LIKE 'pg_temp%'}),
	'0', 'the read-only write is not recorded');
($rc, $out, $err) = $node->psql('postgres', 'BEGIN READ ONLY; SELECT audit.seal(); COMMIT;');
like($err, qr/cannot execute audit\.seal\(\) in a read-only transaction/,
	'audit.seal() refuses to write a block in a read-only transaction');

# A cache on the commit-position sequence would let the sealer pass
# positions that are handed out but not yet announced: sealing stops, with
# a clear error, and capture goes on.
$node->safe_psql('postgres', 'ALTER SEQUENCE audit.txn_position_seq CACHE 10');
$node->safe_psql('postgres', 'INSERT INTO x2 VALUES (1)');
($rc, $out, $err) = $node->psql('postgres', 'SELECT audit.seal()');
like($err, qr/audit\.txn_position_seq must not cache values/,
	'sealing refuses a cached position sequence');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM audit.events WHERE command = 'INSERT' AND object_name = 'public.x2'}),
	'1', 'capture goes on meanwhile');
$node->safe_psql('postgres', 'ALTER SEQUENCE audit.txn_position_seq CACHE 1');
$node->safe_psql('postgres', 'SELECT audit.seal()');
is($node->safe_psql('postgres', 'SELECT ok, unsealed_events FROM audit.verify()'), 't|0',
	'after CACHE 1 everything is sealed and verifies');

# DROP CAST names its types.
$node->safe_psql('postgres', q{
	CREATE TYPE pair AS (a int, b int);
	CREATE CAST (pair AS text) WITH INOUT;
	DROP CAST (pair AS text);
});
is($node->safe_psql('postgres', q{
	SELECT object_name FROM audit.events WHERE command = 'DROP CAST'}),
	'pair, text', 'DROP CAST records the two type names');

done_testing();
