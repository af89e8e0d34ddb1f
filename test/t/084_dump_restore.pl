# Copyright (c) audit_ext contributors
#
# 084_dump_restore.pl — pg_dump / pg_restore of a database with audit_ext
# into a new cluster, as documented: the extension's configuration tables
# (audit.tracked_table, audit.tracked_schema) are dumped, the trail is not
# (restored into a live audited database it would mix with the restore's
# own events); the old trail travels as an audit_verify bundle.
#
#   - the target server runs with audit.guard = off for the restore, then
#     is restarted with it on;
#   - user data and the tracking configuration come back, the mask salt
#     included (a masked value hashes the same there), the row triggers
#     (ENABLE ALWAYS) too; nothing of the old trail is in the new one;
#   - row capture works there (tables tracked directly and through
#     track_schema(include_future)); the new trail verifies (audit.verify(),
#     audit_verify live);
#   - the old trail's bundle, copied to the new place, verifies there with
#     audit_verify, extending the checkpoint taken at the source;
#   - restoring with the guard on: the configuration tables' data is
#     refused (42501, recorded as error events), pg_restore reports errors,
#     and the restored database tracks nothing.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();

sub new_node
{
	my ($name, $guard) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.guard = $guard
# Logins and logouts would be written by the sealer at moments of its own;
# not what this test is about.
audit.log_connections = off
});
	$node->start;
	return $node;
}

# --- the source -----------------------------------------------------------------

my $source = new_node('source', 'on');
$source->safe_psql('postgres', 'CREATE DATABASE shop');
$source->safe_psql('shop', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE customers (id int PRIMARY KEY, name text, email text, secret text);
	SELECT audit.track('customers', exclude_columns => '{secret}', mask_columns => '{email}');
	CREATE SCHEMA sales;
	CREATE TABLE sales.orders (id int PRIMARY KEY, customer int, amount numeric);
	SELECT audit.track_schema('sales', include_future => true);
	INSERT INTO customers VALUES (1, 'ann', 'ann@example.com', 's3cret'),
	                             (2, 'bob', 'bob@example.com', 'hunter2');
	INSERT INTO sales.orders VALUES (1, 1, 9.50), (2, 2, 20);
	UPDATE sales.orders SET amount = 10.50 WHERE id = 1;
	DELETE FROM customers WHERE id = 2;
});
ok(wait_until_sealed($source, 'shop'), 'source: the trail is sealed');
my $ann_mask = $source->safe_psql('shop', q{
	SELECT new_row ->> 'email' FROM audit.events
	 WHERE kind = 'row' AND command = 'INSERT' AND row_key = '{"id": 1}'
	   AND object_name = 'public.customers'});
like($ann_mask, qr/^sha256:[0-9a-f]{64}$/, 'source: the e-mail address is masked');

my $data_sql = q{
	SELECT (SELECT string_agg(format('%s|%s|%s|%s', id, name, email, secret), ',' ORDER BY id)
	          FROM customers)
	    || ' / ' || (SELECT string_agg(format('%s|%s|%s', id, customer, amount), ',' ORDER BY id)
	                   FROM sales.orders)};
my $config_sql = q{
	SELECT (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s', relid, exclude_columns,
	                                 mask_columns, encode(mask_salt, 'hex'), via_schema,
	                                 tracked_by, exclude_attnums, mask_attnums),
	                          ',' ORDER BY relid::text) FROM audit.tracked_table)
	    || ' / ' || (SELECT string_agg(format('%s|%s|%s|%s', nspid, exclude_columns,
	                                          mask_columns, include_future), ',')
	                   FROM audit.tracked_schema)};
my $triggers_sql = q{
	SELECT string_agg(format('%s %s %s', tgrelid::regclass, tgname, tgenabled), ','
	                  ORDER BY tgrelid::regclass::text, tgname)
	  FROM pg_trigger WHERE tgname LIKE 'audit_ext%'};
my $source_data = $source->safe_psql('shop', $data_sql);
my $source_config = $source->safe_psql('shop', $config_sql);
my $source_triggers = $source->safe_psql('shop', $triggers_sql);
like($source_triggers, qr/^customers audit_ext_row A,customers audit_ext_truncate A,/,
	'source: the row triggers are there, ENABLE ALWAYS');

# The old trail leaves as a bundle, with a checkpoint taken at the source.
my ($rc, $out, $err) = av('--export', "$dir/bundle", $source->connstr('shop'));
is($rc, 0, 'source: audit_verify exports the trail as a bundle');
write_file("$dir/checkpoint.json", $source->safe_psql('shop', 'SELECT audit.digest()'));
my $source_events = $source->safe_psql('shop', 'SELECT count(*) FROM audit.event');

$source->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$dir/shop.dump", $source->connstr('shop') ],
	'pg_dump of the audited database');
$source->stop;

# --- restored into a new cluster, with the guard off --------------------------------

my $target = new_node('target', 'off');
$target->safe_psql('postgres', 'CREATE DATABASE shop');
$target->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $target->connstr('shop'), "$dir/shop.dump" ],
	'pg_restore into a server started with audit.guard = off');
$target->append_conf('postgresql.conf', 'audit.guard = on');
$target->restart;
is($target->safe_psql('shop', 'SHOW audit.guard'), 'on', 'the target is restarted with the guard on');
wait_for_startup_event($target, 'shop');

is($target->safe_psql('shop', $data_sql), $source_data, 'the user data is restored');
is($target->safe_psql('shop', $config_sql), $source_config,
	'the tracking configuration is restored, the mask salt included');
is($target->safe_psql('shop', $triggers_sql), $source_triggers,
	'the row and TRUNCATE triggers are restored, ENABLE ALWAYS');
is( $target->safe_psql(
		'shop', q{
	SELECT format('%s|%s', count(*) FILTER (WHERE kind = 'row'),
	              count(*) FILTER (WHERE statement LIKE '%example.com%'))
	  FROM audit.events}),
	'0|0', 'nothing of the old trail is in the new one (and the restore wrote no row events)');
cmp_ok($target->safe_psql('shop', q{SELECT count(*) FROM audit.events WHERE command = 'CREATE EXTENSION'}),
	'==', 1, 'the new trail begins with the restore\'s CREATE EXTENSION');

# Row capture works there, and a masked value hashes as at the source.
$target->safe_psql('shop', q{
	INSERT INTO customers VALUES (10, 'ann again', 'ann@example.com', 'x');
	UPDATE customers SET name = 'Ann' WHERE id = 1;
	UPDATE sales.orders SET amount = amount + 1 WHERE id = 2;
	CREATE TABLE sales.returns (id int PRIMARY KEY, order_id int);
	INSERT INTO sales.returns VALUES (1, 2);
});
is( $target->safe_psql(
		'shop', q{
	SELECT string_agg(format('%s %s %s', object_name, command, row_key), ', ' ORDER BY event_id)
	  FROM audit.events WHERE kind = 'row'}),
	'public.customers INSERT {"id": 10}, public.customers UPDATE {"id": 1}, '
	  . 'sales.orders UPDATE {"id": 2}, sales.returns INSERT {"id": 1}',
	'row capture works: restored tracked tables, and a table new in the tracked schema');
is( $target->safe_psql(
		'shop', q{
	SELECT format('%s|%s', new_row ->> 'email', new_row ? 'secret')
	  FROM audit.events WHERE kind = 'row' AND row_key = '{"id": 10}'}),
	"$ann_mask|f", 'the same e-mail address masks to the same hash; the excluded column stays out');

ok(wait_until_sealed($target, 'shop'), 'target: the new trail is sealed');
is($target->safe_psql('shop', 'SELECT format(\'%s|%s\', ok, problems) FROM audit.verify()'),
	't|0', 'target: the new trail verifies');
($rc, $out) = av($target->connstr('shop'));
is($rc, 0, 'target: audit_verify live: ok');

# The old trail, as a bundle at the new place.
mkdir("$dir/new_place");
PostgreSQL::Test::RecursiveCopy::copypath("$dir/bundle", "$dir/new_place/old_trail");
($rc, $out) = av('--bundle', "$dir/new_place/old_trail", '--checkpoint', "$dir/checkpoint.json");
is($rc, 0, 'the old trail\'s bundle verifies at the new place, extending the source checkpoint');
like($out, qr/^ok: \d+ blocks, \d+ transactions, $source_events events/m,
	'with every event of the source');

# --- restored with the guard on -----------------------------------------------------

$target->safe_psql('postgres', 'CREATE DATABASE shop2');
my ($stdout, $stderr) = ('', '');
$rc = IPC::Run::run([ 'pg_restore', '-d', $target->connstr('shop2'), "$dir/shop.dump" ],
	'>', \$stdout, '2>', \$stderr) ? 0 : $? >> 8;
note $stderr;
isnt($rc, 0, 'pg_restore with the guard on: exit status not 0');
like($stderr, qr/tracked_table/, 'it reports the refused COPY into audit.tracked_table');
ok( $target->poll_query_until('shop2', q{
	SELECT count(*) = 2 FROM audit.events WHERE kind = 'error' AND sqlstate = '42501'
	   AND statement ~ '^COPY audit\.tracked_(table|schema) '}),
	'both configuration tables were refused with SQLSTATE 42501, recorded as error events');
is( $target->safe_psql(
		'shop2', q{
	SELECT format('%s|%s|%s', (SELECT count(*) FROM customers),
	       (SELECT count(*) FROM audit.tracked_table), (SELECT count(*) FROM audit.tracked_schema))}),
	'1|0|0', 'the user data is there, but nothing is tracked');

$target->stop;
done_testing();
