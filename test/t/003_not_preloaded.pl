
# Copyright (c) audit_ext contributors
#
# 003_not_preloaded.pl — audit_ext refuses to load other than through
# shared_preload_libraries (its hooks would miss statements otherwise), and
# in a server that does preload it, a database without the extension works
# as if it were not there; installed later into that database, its data
# untouched, its trail starts there.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('not_preloaded');
$node->init;
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'the server does not preload audit_ext');

# --- refused without preloading ----------------------------------------------

my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION audit_ext');
isnt($rc, 0, 'CREATE EXTENSION audit_ext fails');
like($err, qr/ERROR:  audit_ext must be loaded via shared_preload_libraries/,
	'CREATE EXTENSION: the error says why');
like($err,
	qr/HINT:  Add audit_ext to shared_preload_libraries in postgresql\.conf and restart the server\./,
	'CREATE EXTENSION: the hint names shared_preload_libraries');

($rc, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCREATE EXTENSION audit_ext");
like($err, qr/ERROR:  55000: audit_ext must be loaded via shared_preload_libraries/,
	'CREATE EXTENSION: SQLSTATE 55000 (object not in prerequisite state)');

is( $node->safe_psql(
		'postgres', q{
	SELECT format('%s|%s',
	       (SELECT count(*) FROM pg_extension WHERE extname = 'audit_ext'),
	       (SELECT count(*) FROM pg_namespace WHERE nspname = 'audit'))}),
	'0|0', 'the failed CREATE EXTENSION left no extension and no audit schema');

($rc, $out, $err) = $node->psql('postgres', "LOAD 'audit_ext'");
isnt($rc, 0, 'LOAD fails');
like($err, qr/ERROR:  audit_ext must be loaded via shared_preload_libraries/,
	'LOAD: the error says why');
like($err, qr/HINT:  .*shared_preload_libraries/, 'LOAD: the hint names shared_preload_libraries');

# A failed load does not leave the session or the server broken.
is($node->safe_psql('postgres', 'CREATE TABLE t (n int); INSERT INTO t VALUES (1); SELECT count(*) FROM t'),
	'1', 'the server works normally after the refusals');

# --- preloaded, but a database without the extension ---------------------------

$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
# The audited database's trail is compared before and after the statements
# in the other database.  Logins and logouts of the test's own sessions would
# be written into it by the sealer at moments of its own; they are not what
# this test is about (030_session_events covers them): leave them out.
audit.log_connections = off
});
$node->restart;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'audit_ext', 'the server now preloads audit_ext');

$node->safe_psql('postgres', 'CREATE DATABASE plain; CREATE DATABASE audited');
$node->safe_psql('audited', 'CREATE EXTENSION audit_ext');
my $audited_before = $node->safe_psql('audited', 'SELECT count(*) FROM audit.events');

# Every kind of statement audit_ext captures, in a database without it.
$node->safe_psql('plain', q{
	CREATE TABLE items (id int PRIMARY KEY, name text);
	INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 10) g;
	UPDATE items SET name = upper(name) WHERE id <= 5;
	DELETE FROM items WHERE id > 8;
	MERGE INTO items i USING (VALUES (1, 'merged'), (20, 'new')) v(id, name) ON i.id = v.id
	  WHEN MATCHED THEN UPDATE SET name = v.name
	  WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.name);
	COPY items FROM PROGRAM 'printf "30\tcopied\n31\tcopied\n"';
	ALTER TABLE items ADD COLUMN note text;
	CREATE INDEX items_name_idx ON items (name);
	CREATE TABLE scratch AS SELECT * FROM items;
	TRUNCATE scratch;
	DROP TABLE scratch;
	BEGIN;
	INSERT INTO items VALUES (40, 'rolled back');
	ROLLBACK;
});
is( $node->safe_psql(
		'plain', q{
	SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM items}),
	'1:merged,2:ITEM 2,3:ITEM 3,4:ITEM 4,5:ITEM 5,6:item 6,7:item 7,8:item 8,'
	  . '20:new,30:copied,31:copied',
	'DDL and DML succeed in a database without the extension');
is( $node->safe_psql(
		'plain', q{
	SELECT format('%s|%s|%s',
	       (SELECT count(*) FROM pg_namespace WHERE nspname = 'audit'),
	       (SELECT count(*) FROM pg_extension WHERE extname = 'audit_ext'),
	       to_regclass('scratch') IS NULL)}),
	'0|0|t', 'no audit schema appears in it');
is($node->safe_psql('audited', 'SELECT count(*) FROM audit.events'),
	$audited_before,
	'statements in the other database are not recorded in this one');

# The audited database of the same cluster still records its own.
$node->safe_psql('audited', 'CREATE TABLE own (n int); INSERT INTO own VALUES (1), (2)');
is( $node->safe_psql(
		'audited', q{
	SELECT string_agg(format('%s|%s|%s|%s', command, object_name, rows_affected, database), ','
	                  ORDER BY event_id)
	  FROM audit.events WHERE event_id > (SELECT max(event_id) FROM audit.events
	                                        WHERE command = 'CREATE EXTENSION')}),
	'CREATE TABLE|public.own||audited,INSERT|public.own|2|audited',
	'the database with the extension records its own statements');
is($node->safe_psql('audited', 'SELECT ok, problems FROM audit.verify()'),
	't|0', 'and verifies');

# --- installing into the database that has data --------------------------------

my $items = $node->safe_psql('plain', 'SELECT string_agg(id || name, \',\' ORDER BY id) FROM items');
$node->safe_psql('plain', q{
	CREATE EXTENSION audit_ext;
	SELECT audit.track('items');
	UPDATE items SET name = 'changed' WHERE id = 1;
});
is($node->safe_psql('plain', q{
	SELECT string_agg(concat_ws(' ', kind, command, row_key, old_row, new_row ->> 'name'), ', '
	                  ORDER BY event_id)
	  FROM audit.events}),
	'statement CREATE EXTENSION, config TRACK, row UPDATE {"id": 1} {"name": "merged"} changed, '
	  . 'statement UPDATE',
	'CREATE EXTENSION in a database with data: the trail starts there, and a row that was '
	  . 'there before is captured when it changes');
is($node->safe_psql('plain', q{
	SELECT string_agg(id || name, ',' ORDER BY id) FROM items WHERE id <> 1}),
	$items =~ s/^1merged,//r, 'the other rows are untouched');
is($node->safe_psql('plain', 'SELECT ok, problems FROM audit.verify()'), 't|0',
	'its trail verifies');

$node->stop;
done_testing();
