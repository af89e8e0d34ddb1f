# Copyright (c) audit_ext contributors
#
# 083_standby.pl — a streaming physical standby carries the trail, and
# after a failover the new primary continues the chain.
#
#   - The standby (from a base backup, streaming) replays the trail: the
#     same events, transactions and blocks as the primary.
#   - On the standby, audit.verify(), verify_report() and digest() run
#     read-only and agree with the primary (counts, last block, head hash,
#     checkpoint); the views and the history functions read there; a
#     statement there is not recorded anywhere (a failed one is said in
#     the standby's server log instead); audit_verify live against the
#     standby is ok with the primary's counts.  No sealer runs there.
#   - The primary stops; the standby is promoted: its sealer starts, new
#     statements and rows are captured and sealed in blocks that extend the
#     old chain (block ids contiguous, prev_hash = the last block's hash,
#     positions contiguous); audit.verify() and audit_verify are ok, and
#     the checkpoint taken on the standby before the promotion is extended.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
# The trails of the two servers are compared at moments of the test's
# choosing; logins and logouts would be written by the sealer at moments
# of its own (030_session_events covers them): leave them out.
audit.log_connections = off
});
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric);
	SELECT audit.track('acct');
	INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20);
});
ok(wait_until_sealed($primary, 'postgres'), 'primary: sealed before the backup');
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Changes after the backup reach the standby by streaming.
$primary->safe_psql('postgres', q{
	UPDATE acct SET balance = balance + 5 WHERE id = 1;
	DELETE FROM acct WHERE id = 2;
	INSERT INTO acct VALUES (3, 'cy', 30);
	CREATE TABLE other (n int);
});
ok(wait_until_sealed($primary, 'postgres'), 'primary: sealed after the backup');
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# --- the trail on the standby -------------------------------------------------------

my $trail_sql = q{
	SELECT (SELECT string_agg(format('%s|%s|%s|%s', event_id, kind, command,
	                                 encode(leaf_hash, 'hex')), ',' ORDER BY event_id)
	          FROM audit.events)
	    || ' / ' || (SELECT string_agg(format('%s|%s|%s', txid, position, encode(digest, 'hex')),
	                                  ',' ORDER BY position) FROM audit.transactions)
	    || ' / ' || (SELECT string_agg(format('%s|%s', block_id, encode(block_hash, 'hex')),
	                                  ',' ORDER BY block_id) FROM audit.blocks)};
is($standby->safe_psql('postgres', $trail_sql), $primary->safe_psql('postgres', $trail_sql),
	'the standby has the same events, transactions and blocks');

my $verify_sql = q{
	SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', ok, blocks_checked, transactions_checked,
	              events_checked, unsealed_events, last_verified_block,
	              encode(head_hash, 'hex'), problems)
	  FROM audit.verify()};
my $pverify = $primary->safe_psql('postgres', $verify_sql);
like($pverify, qr/^t\|\d+\|\d+\|\d+\|0\|\d+\|[0-9a-f]{64}\|0$/, 'audit.verify() on the primary is ok');
is($standby->safe_psql('postgres', $verify_sql), $pverify,
	'audit.verify() runs on the standby and agrees: counts, last block, head hash');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM audit.verify_report()'), '0',
	'audit.verify_report() runs on the standby: no problem');
my $pdigest = $primary->safe_psql('postgres', 'SELECT audit.digest()');
my $sdigest = $standby->safe_psql('postgres', 'SELECT audit.digest()');
is($sdigest, $pdigest, 'audit.digest() runs on the standby and gives the same checkpoint');
write_file("$dir/standby_checkpoint.json", $sdigest);

is( $standby->safe_psql(
		'postgres', q{
	SELECT string_agg(format('%s %s %s', operation, key, new_row ->> 'balance'), ', '
	                  ORDER BY event_id)
	  FROM audit.history('acct', '{"id": 1}')}),
	'INSERT {"id": 1} 10, UPDATE {"id": 1} 15',
	'audit.history() reads on the standby');
is( $standby->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', (SELECT count(*) FROM audit.row_changes),
	       (SELECT count(*) FROM audit.ddl_history),
	       (SELECT count(*) FROM audit.tracked_tables))}),
	$primary->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', (SELECT count(*) FROM audit.row_changes),
	       (SELECT count(*) FROM audit.ddl_history),
	       (SELECT count(*) FROM audit.tracked_tables))}),
	'the views read on the standby as on the primary');

# Statements on the standby are not recorded; a failed one is said in the
# standby's own server log.
my $count_sql = 'SELECT count(*), max(event_id) FROM audit.event';
my $before = $primary->safe_psql('postgres', $count_sql);
my $log_offset = -s $standby->logfile;
$standby->safe_psql('postgres', q{
	SET audit.log = 'all';
	SELECT count(*) FROM acct;
	SELECT audit.verify();
});
my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT 1/0');
like($err, qr/division by zero/, 'a statement fails on the standby');
$standby->wait_for_log(qr/"audit_ext": "event not recorded in the audit trail"/, $log_offset);
pass('the standby says in its server log that the failure is not recorded');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres', $count_sql), $before,
	'nothing was written on the standby: its trail is the primary\'s');
is($primary->safe_psql('postgres', $count_sql), $before, 'nor on the primary');
is( $standby->safe_psql(
		'postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'audit_ext%'}),
	'0', 'no audit_ext worker runs on the standby');
unlike(slurp_file($standby->logfile), qr/ERROR:  (?!division by zero)/,
	'no other error in the standby\'s server log');

($rc, $out) = av($standby->connstr('postgres'));
is($rc, 0, 'audit_verify live against the standby: ok');
my ($sav) = $out =~ /^(ok: .*)$/m;
(undef, $out) = av($primary->connstr('postgres'));
my ($pav) = $out =~ /^(ok: .*)$/m;
is($sav, $pav, 'with the counts audit_verify finds on the primary');

# --- failover -------------------------------------------------------------------------

my $last = $primary->safe_psql('postgres',
	q{SELECT block_id || '|' || encode(block_hash, 'hex') || '|' || last_position
	    FROM audit.blocks ORDER BY block_id DESC LIMIT 1});
my ($last_block, $last_hash, $last_position) = split /\|/, $last;
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';
ok( $standby->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type LIKE 'audit_ext%'}),
	'audit_ext\'s workers start on the promoted standby');
ok( $standby->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM audit.events WHERE kind = 'server' AND command = 'PROMOTE'}),
	'the promotion is recorded as a server / PROMOTE event');
is( $standby->safe_psql('postgres', q{
	SELECT format('%s|%s|%s', (detail ->> 'timeline')::int > 1, detail #>> '{last_block,block_id}',
	              detail #>> '{last_block,block_hash}')
	  FROM audit.events WHERE kind = 'server' AND command = 'PROMOTE'}),
	"t|$last_block|$last_hash",
	'with the new timeline and the last block replayed before it');

$standby->safe_psql('postgres', q{
	UPDATE acct SET owner = 'ANN' WHERE id = 1;
	INSERT INTO acct VALUES (4, 'dee', 40);
	DROP TABLE other;
});
ok(wait_until_sealed($standby, 'postgres'), 'the new primary\'s background sealer seals');
is( $standby->safe_psql(
		'postgres', q{
	SELECT string_agg(format('%s %s', command, row_key), ', ' ORDER BY event_id)
	  FROM audit.events WHERE kind = 'row' AND block_id > } . $last_block),
	'UPDATE {"id": 1}, INSERT {"id": 4}',
	'new row events are captured and sealed in new blocks');
is( $standby->safe_psql(
		'postgres', qq{
	SELECT format('%s|%s|%s', encode(prev_hash, 'hex'), first_position > $last_position,
	              block_id)
	  FROM audit.blocks WHERE block_id = $last_block + 1}),
	"$last_hash|t|" . ($last_block + 1),
	'the first new block follows the old last block and links to its hash');
is(chain_shape($standby, 'postgres'), '1|t|t',
	'block ids 1..n without gaps, positions contiguous across the failover');
is( $standby->safe_psql(
		'postgres', q{
	SELECT format('%s|%s|%s', ok, problems, unsealed_events) FROM audit.verify()}),
	't|0|0', 'audit.verify() is ok on the new primary');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM audit.verify_report()'), '0',
	'audit.verify_report(): no problem');
($rc, $out) = av('--checkpoint', "$dir/standby_checkpoint.json", $standby->connstr('postgres'));
is($rc, 0, 'audit_verify live: ok, extending the checkpoint taken on the standby');
is( $standby->safe_psql('postgres',
		"SELECT format('%s|%s', ok, problems) FROM audit.verify('" . $sdigest =~ s/'/''/gr . "'::jsonb)"),
	't|0', 'audit.verify(checkpoint): the new primary extends the checkpoint taken on the standby');

$standby->stop;
done_testing();
