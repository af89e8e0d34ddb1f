# Copyright (c) audit_ext contributors
#
# 010_lifecycle.pl — edge cases of the extension's life in a session:
# DROP and CREATE EXTENSION in one transaction that already wrote events,
# writes to temporary tables in read-only transactions (recorded through the
# event queue), and a commit-position sequence given a cache (sealing must
# stop rather than skip).  The refusals along the way are error events.
# Dropping the extension takes the guard off (a start-time setting):
# 050_guard.pl tests the refusal with it on.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
# The first check lists the whole trail.  Logins and logouts of the test's
# own sessions would be written into it by the sealer at moments of its own;
# they are not what this test is about (030_session_events covers them):
# leave them out.
audit.log_connections = off
audit.guard = off
});
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

# A read-only transaction may write temporary tables; that is not refused.
# The trail cannot be written there (nextval of its sequences is not
# allowed), so the event travels the event queue and the sealer writes it a
# moment later, in a transaction of its own.
my ($rc, $out, $err) = $node->psql('postgres', q{
	CREATE TEMP TABLE tt (a int);
	BEGIN READ ONLY;
	INSERT INTO tt VALUES (1);
	SELECT count(*) FROM tt;
	COMMIT;
	SELECT pg_backend_pid();
});
is($rc, 0, 'INSERT into a temporary table in a read-only transaction works');
my ($rows, $ro_pid) = split /\n/, $out;
is($rows, '1', 'and the row is there');
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM audit.events
	 WHERE command = 'INSERT' AND object_name LIKE 'pg_temp%'}),
	'the read-only write is recorded, by the sealer');
is($node->safe_psql('postgres', q{
	SELECT format('%s|%s|%s|%s|%s|%s|%s', kind, class, statement, rows_affected,
	              e.backend_pid, e.statement_id = e.event_id,
	              EXISTS (SELECT FROM audit.transactions t WHERE t.txid = e.txid))
	  FROM audit.events e WHERE command = 'INSERT' AND object_name LIKE 'pg_temp%'}),
	"statement|write|INSERT INTO tt VALUES (1)|1|$ro_pid|t|t",
	"with its text, rows and the writer's pid; a statement of its own, in a digested transaction");
($rc, $out, $err) = $node->psql('postgres', 'BEGIN READ ONLY; SELECT audit.seal(); COMMIT;');
like($err, qr/cannot execute audit\.seal\(\) in a read-only transaction/,
	'audit.seal() refuses to write a block in a read-only transaction');
is($node->safe_psql('postgres', q{
	SELECT format('%s|%s|%s', count(*), min(sqlstate), min(message))
	  FROM audit.events WHERE kind = 'error' AND statement = 'SELECT audit.seal()'}),
	'1|25006|cannot execute audit.seal() in a read-only transaction',
	'the refusal is an error event (25006), in the trail when the error returns');

# A cache on the commit-position sequence would let the sealer pass
# positions that are handed out but not yet announced: sealing stops, with
# a clear error, and capture goes on.
$node->safe_psql('postgres', 'ALTER SEQUENCE audit.txn_position_seq CACHE 10');
$node->safe_psql('postgres', 'INSERT INTO x2 VALUES (1)');
($rc, $out, $err) = $node->psql('postgres', 'SELECT audit.seal()');
like($err, qr/audit\.txn_position_seq must not cache values/,
	'sealing refuses a cached position sequence');
is($node->safe_psql('postgres', q{
	SELECT format('%s|%s', count(*), min(sqlstate)) FROM audit.events
	 WHERE kind = 'error' AND message LIKE 'audit.txn_position_seq must not cache values%'}),
	'1|XX001', 'the refusal is an error event (XX001)');
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
