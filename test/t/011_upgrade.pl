# Copyright (c) audit_ext contributors
#
# 011_upgrade.pl — the update chain 0.1 -> 0.2 -> 0.3 -> 0.4 -> 0.5 -> 0.6 -> 0.7, with the
# library of the newest version preloaded throughout.  A trail begun at 0.1 (events of format 1, in
# 0.1's table of 17 columns) goes on in format 2 after ALTER EXTENSION
# UPDATE TO '0.2' (27 columns), and in format 3 after ALTER EXTENSION
# UPDATE TO '0.3' (32 columns), where row capture works: audit.track() and the
# row events of a table that was there all along.  At each step the whole
# trail verifies inside the server and outside it (audit_verify live, as a
# bundle, proofs).  Tampering with an event of any format, a row image
# included, is caught by both verifiers, word for word alike.  The schema
# updated to each version is the one a fresh CREATE EXTENSION ... VERSION
# makes; ALTER EXTENSION UPDATE from 0.1 goes through the whole chain.
# 0.4 adds two columns no hash covers (archive_id, erasure): the trail of
# three formats verifies on.  0.5 rebuilds event_statement_idx on
# (statement_id, kind, event_id): row_changes and history() find a row's
# statement without reading the statement's other events, and name the same
# statements as before.  0.6 adds audit.row_end (where row keys ended: TRUNCATE,
# key changes), filled from the trail by the update.  0.7 makes the
# occurred_at index a BRIN index.
#
# Tampering is done by the superuser with the library unloaded, as in
# 002_tamper.pl, so that no guard inside the server stands in the way.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init(extra => [ '--encoding=UTF8', '--no-locale' ]);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 3600000
max_worker_processes = 16
});
$node->start;

# --- helpers -------------------------------------------------------------------

sub sql { return $node->safe_psql($_[1] // 'postgres', $_[0]); }
sub conn { return $node->connstr($_[0] // 'postgres'); }

# Every column of every relation in schema audit (tables, views, indexes,
# sequences), every function's signature, security and privileges, every
# index (with its predicate) and view definition, the privileges on each
# relation, the event triggers, and the tables pg_dump dumps.
my $schema_sql = q{
	SELECT string_agg(format('%s.%s %s%s', c.relname, a.attname,
	                         format_type(a.atttypid, a.atttypmod),
	                         CASE WHEN a.attnotnull THEN ' not null' ELSE '' END),
	                  E'\n' ORDER BY c.relname, a.attnum)
	  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	 WHERE c.relnamespace = 'audit'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid)
	                  || CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END || ' '
	                  || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text)
	                                 FROM unnest(p.proacl) x), 'default'),
	                  E'\n' ORDER BY p.oid::regprocedure::text)
	  FROM pg_proc p WHERE p.pronamespace = 'audit'::regnamespace
	UNION ALL
	SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\n' ORDER BY pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	 WHERE c.relnamespace = 'audit'::regnamespace
	UNION ALL
	SELECT string_agg(c.relname || ': ' || pg_get_viewdef(c.oid), E'\n' ORDER BY c.relname)
	  FROM pg_class c WHERE c.relnamespace = 'audit'::regnamespace AND c.relkind = 'v'
	UNION ALL
	SELECT string_agg(c.relname || ' ' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text)
	                                                  FROM unnest(c.relacl) x), 'default'),
	                  E'\n' ORDER BY c.relname)
	  FROM pg_class c WHERE c.relnamespace = 'audit'::regnamespace
	UNION ALL
	SELECT string_agg(concat_ws(' ', evtname, evtevent, evtenabled, evttags::text, evtfoid::regproc::text),
	                  E'\n' ORDER BY evtname)
	  FROM pg_event_trigger
	UNION ALL
	SELECT (SELECT string_agg(x::regclass::text, ',' ORDER BY x::regclass::text) FROM unnest(extconfig) x)
	  FROM pg_extension WHERE extname = 'audit_ext'};
my $event_columns_sql = q{SELECT count(*) FROM pg_attribute
	WHERE attrelid = 'audit.event'::regclass AND attnum > 0 AND NOT attisdropped};
my $format2_columns = 'class, statement_id, nesting_level, app_user, context, '
  . 'parameters, objects, sqlstate, message, detail';

# Drop the keys of format 2's columns from every line of a file, as
# audit_verify 0.1 wrote them.
sub strip_format2_keys
{
	my ($text) = @_;
	my $keys = join('|', split /, /, $format2_columns);
	$text =~ s/, "(?:$keys)": (?:null|"(?:[^"\\]|\\.)*"|-?\d+)//g;
	return $text;
}

# --- a trail begun at 0.1 ----------------------------------------------------------

sql(q{CREATE EXTENSION audit_ext VERSION '0.1'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.1',
	'the extension is created at version 0.1');
is(sql($event_columns_sql), '17', "audit.event has 0.1's 17 columns");
sql('CREATE ROLE auditor LOGIN IN ROLE audit_reader');
sql('CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric)');
sql(q{INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20)});
sql(q{BEGIN;
	UPDATE acct SET balance = balance - 5 WHERE id = 1;
	UPDATE acct SET balance = balance + 5 WHERE id = 2;
	COMMIT;});
sql('SELECT audit.seal()');
is(sql(q{SELECT count(*) >= 4, bool_and(format_version = 1) FROM audit.events}), 't|t',
	'the library writes format 1 into the table of 0.1');
is(sql('SELECT ok, problems FROM audit.verify()'), 't|0', 'the 0.1 trail verifies in the server');
my ($rc, $out, $err) = av(conn());
is($rc, 0, 'audit_verify: the live 0.1 trail verifies');
($rc, $out) = av(conn() . ' user=auditor');
is($rc, 0, 'audit_verify: so it does as audit_reader, through the views of 0.1');
($rc, $out) = av('--export', "$dir/before", conn());
is($rc, 0, 'audit_verify exports the 0.1 trail');
($rc, $out) = av('--bundle', "$dir/before");
is($rc, 0, 'and its bundle verifies');
my $v1_id = sql(q{SELECT min(event_id) FROM audit.events WHERE command = 'UPDATE'});
write_file("$dir/v1_old_layout.json", sql("SELECT audit.inclusion_proof($v1_id)"));
is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($v1_id))"), 't',
	'a proof of a format 1 event read from the table of 0.1 holds');
($rc, $out) = av('--proof', "$dir/v1_old_layout.json");
is($rc, 0, 'audit_verify: so does its proof');

# --- ALTER EXTENSION UPDATE TO '0.2', and the trail goes on in format 2 -------------------

sql(q{ALTER EXTENSION audit_ext UPDATE TO '0.2'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.2',
	q{after ALTER EXTENSION UPDATE TO '0.2' the extension is at 0.2});
is(sql($event_columns_sql), '27', 'audit.event has the 27 columns of 0.2');
is(sql(q{SELECT to_regprocedure('audit.track(regclass,text[],text[])') IS NULL}), 't',
	'there is no row capture at 0.2');
sql(q{BEGIN;
	SELECT audit.set_context('carol', '{"tenant": 7, "request": "r-1"}');
	UPDATE acct SET owner = 'ann b.' WHERE id = 1;
	INSERT INTO acct VALUES (3, 'cy', 0);
	COMMIT;});
sql('CREATE INDEX acct_owner_idx ON acct (owner)');
sql('DELETE FROM acct WHERE id = 3');
sql('SELECT audit.seal()');

my ($n1, $n2) = split /\|/, sql(q{
	SELECT count(*) FILTER (WHERE format_version = 1), count(*) FILTER (WHERE format_version = 2)
	  FROM audit.events});
cmp_ok($n1, '>=', 4, "the events of 0.1 are still there ($n1)");
cmp_ok($n2, '>=', 5, "new events are of format 2 ($n2)");
is(sql("SELECT count(*) FROM audit.events WHERE format_version = 1
	AND num_nonnulls($format2_columns) > 0"), '0',
	'events of format 1 have NULL in every column of format 2');
is(sql(q{SELECT count(*) FROM audit.events WHERE format_version = 2 AND kind = 'statement'
	AND (statement_id IS NULL OR nesting_level IS NULL OR class IS NULL)}), '0',
	'every statement event of format 2 has a statement id, a nesting level and a class');
is(sql(q{SELECT string_agg(command || ' ' || class, ', ' ORDER BY event_id) FROM audit.events
	WHERE format_version = 2 AND command IN ('UPDATE', 'CREATE INDEX', 'DELETE')}),
	'UPDATE write, CREATE INDEX ddl, DELETE write', 'DML is class write, DDL class ddl');
is(sql(q{SELECT count(*) FROM audit.events WHERE format_version = 2 AND command = 'UPDATE'
	AND app_user = 'carol' AND context = '{"request": "r-1", "tenant": 7}'}), '1',
	'the application user and context are recorded');
my $v2_id = sql(q{SELECT event_id FROM audit.events WHERE format_version = 2 AND command = 'UPDATE'});

# Counts are compared as at least: every connection may add events of its
# own (sessions can be audited), sealed meanwhile.
my ($events, $ok) = split /\|/, sql(q{SELECT events_checked, ok FROM audit.verify()});
is($ok, 't', 'audit.verify(): the trail of both formats holds');
cmp_ok($events, '>=', $n1 + $n2, 'and it checked every event');

($rc, $out) = av(conn());
is($rc, 0, 'audit_verify live: the trail of both formats holds');
cmp_ok(($out =~ /^ok: \d+ blocks, \d+ transactions, (\d+) events/m)[0] // 0, '>=', $events,
	'and it checked every event');
($rc, $out) = av(conn() . ' user=auditor');
is($rc, 0, 'audit_verify live as audit_reader (through the views): it holds');

($rc, $out) = av('--export', "$dir/after", conn());
is($rc, 0, 'the trail of both formats exports');
my ($exported) = $out =~ /^exported (\d+ blocks, \d+ transactions, \d+ events) /m;
($rc, $out) = av('--bundle', "$dir/after");
is($rc, 0, 'and its bundle verifies');
like($out, qr/^ok: \Q$exported\E, /m, 'with the counts of the export');
($rc, $out) = av('--bundle', "$dir/before");
is($rc, 0, 'the bundle exported before the update still verifies');

# A bundle of the 0.1 trail as audit_verify 0.1 wrote it: no keys for the
# columns of format 2.  An event of format 2 without one is malformed.
mkdir "$dir/old_style";
for my $f (qw(chain.json blocks.jsonl transactions.jsonl events.jsonl checkpoint.json))
{
	write_file("$dir/old_style/$f", strip_format2_keys(slurp_file("$dir/before/$f")));
}
unlike(slurp_file("$dir/old_style/events.jsonl"), qr/"statement_id"/,
	'the old-style bundle has no keys of format 2');
($rc, $out) = av('--bundle', "$dir/old_style");
is($rc, 0, 'a bundle without the keys of format 2 (as 0.1 wrote it) verifies');
mkdir "$dir/short";
for my $f (qw(chain.json blocks.jsonl transactions.jsonl events.jsonl))
{
	my $text = slurp_file("$dir/after/$f");
	$text =~ s/, "app_user": "carol"// if $f eq 'events.jsonl';
	write_file("$dir/short/$f", $text);
}
($rc, $out, $err) = av('--bundle', "$dir/short");
is($rc, 2, 'an event of format 2 without a key of format 2: exit status 2');
like($err, qr/events\.jsonl line \d+: "app_user" is missing/, 'the missing key is named');

# Proofs of both formats, in the server and outside it.
for my $id ($v1_id, $v2_id)
{
	write_file("$dir/proof_$id.json", sql("SELECT audit.inclusion_proof($id)"));
	is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($id))"), 't',
		"the proof of event $id holds in the server");
	($rc, $out) = av('--proof', "$dir/proof_$id.json");
	is($rc, 0, "audit_verify: the proof of event $id holds");
}
my $v2_proof = decode_json(slurp_file("$dir/proof_$v2_id.json"));
is($v2_proof->{event}{context}, '{"tenant": 7, "request": "r-1"}',
	'a proof carries a jsonb column as its canonical text');
($rc, $out) = av('--proof', "$dir/v1_old_layout.json");
is($rc, 0, 'the proof made before the update still verifies');

# --- the schema updated to 0.2 is a fresh 0.2 one ------------------------------------------

sql('CREATE DATABASE fresh02');
sql(q{CREATE EXTENSION audit_ext VERSION '0.2'}, 'fresh02');
my $updated = sql($schema_sql);
like($updated, qr/^event\.detail jsonb$/m, 'the schema lists the columns of 0.2');
unlike($updated, qr/^event\.row_key /m, 'and none of 0.3');
is(sql($schema_sql, 'fresh02'), $updated,
	q{CREATE EXTENSION ... VERSION '0.2' and the update to 0.2 give the same schema});

# --- ALTER EXTENSION UPDATE to 0.3: row capture, and the trail goes on in format 3 -------------

sql(q{ALTER EXTENSION audit_ext UPDATE TO '0.3'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.3',
	q{after ALTER EXTENSION UPDATE TO '0.3' the extension is at 0.3});
is(sql($event_columns_sql), '32', 'audit.event has the 32 columns of 0.3');
# acct, there since 0.1: (1, 'ann b.', 5), (2, 'bob', 25).
sql(q{SELECT audit.track('acct', mask_columns => '{owner}')});
sql(q{BEGIN;
	UPDATE acct SET balance = balance * 2 WHERE id = 1;
	INSERT INTO acct VALUES (4, 'dee', 40);
	COMMIT;});
sql('DELETE FROM acct WHERE id = 2');
sql('TRUNCATE acct');
sql('SELECT audit.seal()');
is(sql(q{SELECT string_agg(command || ' ' || coalesce(row_key::text, rows_affected::text)
                           || ' ' || format_version, ', ' ORDER BY event_id)
           FROM audit.events WHERE kind = 'row'}),
	'UPDATE {"id": 1} 3, INSERT {"id": 4} 3, DELETE {"id": 2} 3, TRUNCATE 2 3',
	'after the update, the rows of a table there since 0.1 are captured, in format 3');
is(sql(q{SELECT old_row::text, new_row - 'owner', new_row ->> 'owner' ~ '^sha256:[0-9a-f]{64}$'
           FROM audit.events WHERE kind = 'row' AND command = 'UPDATE'}),
	'{"balance": 5}|{"id": 1, "balance": 10}|t', 'with their images, masked as asked');
is(sql(q{SELECT count(*) FROM audit.events r WHERE r.kind = 'row' AND NOT EXISTS (
	SELECT FROM audit.events s WHERE s.kind = 'statement' AND s.statement_id = r.statement_id
	   AND s.txid = r.txid AND s.format_version = 3)}),
	0, 'and with their statements, in format 3 too');
is(sql(q{SELECT command, format_version FROM audit.events WHERE kind = 'config'}), 'TRACK|3',
	'track() is recorded, in format 3');
my $n3;
($n1, $n2, $n3) = split /\|/, sql(q{
	SELECT count(*) FILTER (WHERE format_version = 1), count(*) FILTER (WHERE format_version = 2),
	       count(*) FILTER (WHERE format_version = 3)
	  FROM audit.events});
cmp_ok($n3, '>=', 8, "new events are of format 3 ($n3)");
is(sql(q{SELECT count(*) FROM audit.events WHERE format_version < 3
	AND num_nonnulls(row_key, old_row, new_row, changed_columns) > 0}), '0',
	'events of formats 1 and 2 have NULL in every column of format 3');
is(sql(q{SELECT count(*) FROM audit.event WHERE format_version < 3 AND row_salt IS NOT NULL}), '0',
	'and no row salt');
($events, $ok) = split /\|/, sql(q{SELECT events_checked, ok FROM audit.verify()});
is($ok, 't', 'audit.verify(): the trail of formats 1, 2 and 3 holds');
cmp_ok($events, '>=', $n1 + $n2 + $n3, 'and it checked every event');
($rc, $out) = av(conn());
is($rc, 0, 'audit_verify live: the trail of formats 1, 2 and 3 holds');
cmp_ok(($out =~ /^ok: \d+ blocks, \d+ transactions, (\d+) events/m)[0] // 0, '>=', $events,
	'and it checked every event');
# audit.events, as updated to 0.3, shows row_salt: audit_reader verifies
# the row events through the views too.
($rc, $out) = av(conn() . ' user=auditor');
is($rc, 0, 'audit_verify live as audit_reader (through the views of 0.3): the trail of formats 1, 2 and 3 holds');
cmp_ok(($out =~ /^ok: \d+ blocks, \d+ transactions, (\d+) events/m)[0] // 0, '>=', $events,
	'and it checked every event');
($rc, $out) = av('--export', "$dir/after3", conn());
is($rc, 0, 'the trail of three formats exports');
($exported) = $out =~ /^exported (\d+ blocks, \d+ transactions, \d+ events) /m;
($rc, $out) = av('--bundle', "$dir/after3");
is($rc, 0, 'and its bundle verifies');
like($out, qr/^ok: \Q$exported\E, /m, 'with the counts of the export');
for my $b ('before', 'after')
{
	($rc, $out) = av('--bundle', "$dir/$b");
	is($rc, 0, "the bundle exported $b the update to 0.2 still verifies");
}
my $v3_id = sql(q{SELECT event_id FROM audit.events WHERE kind = 'row' AND command = 'UPDATE'});
write_file("$dir/proof_$v3_id.json", sql("SELECT audit.inclusion_proof($v3_id)"));
is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($v3_id))"), 't',
	'the proof of a row event holds in the server');
($rc, $out) = av('--proof', "$dir/proof_$v3_id.json");
is($rc, 0, 'audit_verify: so does its proof');
for my $id ($v1_id, $v2_id)
{
	($rc, $out) = av('--proof', "$dir/proof_$id.json");
	is($rc, 0, "the proof of event $id made at 0.2 still verifies");
}

# --- ALTER EXTENSION UPDATE to 0.4: the trail of three formats goes on ---------------------

sql(q{ALTER EXTENSION audit_ext UPDATE TO '0.4'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.4',
	'after ALTER EXTENSION UPDATE the extension is at 0.4');
is(sql($event_columns_sql), '34', 'audit.event has the 34 columns of 0.4');
sql(q{INSERT INTO acct VALUES (40, 'dee', 40)});
sql('SELECT audit.seal()');
is(sql(q{SELECT row_key::text || ' ' || format_version FROM audit.events WHERE kind = 'row'
         AND archive_id IS NULL AND erasure IS NULL ORDER BY event_id DESC LIMIT 1}), '{"id": 40} 3',
	'row capture goes on after the update to 0.4');
is(sql('SELECT ok FROM audit.verify()'), 't', 'audit.verify(): the trail of formats 1, 2 and 3 holds at 0.4');
($rc, $out) = av(conn());
is($rc, 0, 'and so says audit_verify live');

# --- ALTER EXTENSION UPDATE to 0.5: the statement index ----------------------------------

my $statements_sql = q{SELECT string_agg(event_id || ' ' || coalesce(statement, '-'), E'\n' ORDER BY event_id)
	FROM audit.row_changes};
my $statements_04 = sql($statements_sql);
sql(q{ALTER EXTENSION audit_ext UPDATE TO '0.5'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.5',
	'after ALTER EXTENSION UPDATE the extension is at 0.5');
is(sql(q{SELECT pg_get_indexdef('audit.event_statement_idx'::regclass)}),
	'CREATE INDEX event_statement_idx ON audit.event USING btree (statement_id, kind COLLATE "C", event_id)',
	'event_statement_idx is on (statement_id, kind, event_id)');
is(sql($statements_sql), $statements_04,
	'audit.row_changes names the same statement for every row change as at 0.4');
is(sql('SELECT ok FROM audit.verify()'), 't', 'audit.verify() holds at 0.5');
($rc, $out) = av(conn());
is($rc, 0, 'and so says audit_verify live');

# --- ALTER EXTENSION UPDATE to 0.6: audit.row_end, filled from the trail ------------------

# At 0.5 (the library is 0.6's) a key change and a TRUNCATE: no audit.row_end
# to note them in yet; the update fills it from the events.
sql(q{INSERT INTO acct VALUES (50, 'eve', 1), (51, 'fay', 2)});
my $before_key_change = sql('SELECT clock_timestamp()');
sql('UPDATE acct SET id = 52 WHERE id = 51');
my $after_key_change = sql('SELECT clock_timestamp()');
# A transaction under way through the update, with a key change already
# made: it holds audit.event (the library keeps it open, with its lock,
# until the commit), so the update's fill waits for it and then sees it.
sql(q{INSERT INTO acct VALUES (60, 'gil', 6)});
my $inflight = $node->background_psql('postgres', on_error_stop => 1);
$inflight->query_safe(q{BEGIN; UPDATE acct SET id = 61 WHERE id = 60});
my $updater = $node->background_psql('postgres', on_error_stop => 1);
$updater->query_until(qr/sent/, q{\echo sent
ALTER EXTENSION audit_ext UPDATE TO '0.6';
\echo updated
});
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER EXTENSION%'}),
	'the update waits for the transaction that wrote events');
$inflight->query_safe('COMMIT');
$updater->query_until(qr/updated/, '');
$updater->quit;
my $after_inflight = sql('SELECT clock_timestamp()');
$inflight->quit;
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), '0.6',
	'after ALTER EXTENSION UPDATE the extension is at 0.6');
is(sql(q{SELECT string_agg(e.command || ' ' || coalesce(g.row_key::text, '-'), ', ' ORDER BY g.event_id)
		 FROM audit.row_end g JOIN audit.event e USING (event_id)}),
	'TRUNCATE -, UPDATE {"id": 51}, UPDATE {"id": 60}',
	'audit.row_end holds the TRUNCATE of 0.3 and the key changes made at 0.5, the one under way included');
is(sql(qq{SELECT audit.row_as_of('acct', '{"id": 51}', '$before_key_change') ->> 'balance'
		  || ' ' || coalesce(audit.row_as_of('acct', '{"id": 51}', '$after_key_change')::text, 'gone')}),
	'2 gone', 'row_as_of(): key 51 existed before the key change, not after');
is(sql(q{SELECT count(*) FROM audit.row_end_pending}), '0',
	'no transaction escaped the fill: audit.row_end_pending is empty');
is(sql(qq{SELECT coalesce(audit.row_as_of('acct', '{"id": 60}', '$after_inflight')::text, 'gone')
		  || ' ' || (audit.row_as_of('acct', '{"id": 61}', '$after_inflight') ->> 'balance')}),
	'gone 6', 'row_as_of() finds key 60 gone and key 61 there after that transaction');
sql('UPDATE acct SET id = 53 WHERE id = 52');
is(sql(q{SELECT row_key::text FROM audit.row_end ORDER BY event_id DESC LIMIT 1}), '{"id": 52}',
	'a key change after the update is noted by the row capture');
is(sql('SELECT ok FROM audit.verify()'), 't', 'audit.verify() holds at 0.6');

# --- ALTER EXTENSION UPDATE to 0.7: occurred_at indexed by block range -------------------

my $index_sql = q{SELECT a.amname || ' ' || coalesce(array_to_string(c.reloptions, ','), '')
		  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		 WHERE c.oid = 'audit.event_occurred_at_idx'::regclass};
is(sql($index_sql), 'btree ', 'at 0.6 occurred_at has a btree index');
# The library keeps audit.event and its indexes open across a transaction's
# events.  An update that drops and recreates one of them, in a transaction
# that wrote events before it, inside an exception block that undoes it,
# with an event written in between and after: nothing of the undone update
# may be used, nothing may leak.
my $log_offset = -s $node->logfile;
my $events_before = sql('SELECT count(*) FROM audit.event');
sql(q{BEGIN;
	  INSERT INTO acct VALUES (70, 'hal', 7);
	  DO $$BEGIN
	      ALTER EXTENSION audit_ext UPDATE TO '0.7';
	      INSERT INTO acct VALUES (71, 'ida', 7);
	      RAISE EXCEPTION 'undo the update';
	  EXCEPTION WHEN raise_exception THEN NULL;
	  END$$;
	  INSERT INTO acct VALUES (72, 'jo', 7);
	  COMMIT});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}) . ' ' . sql($index_sql), '0.6 btree ',
	'an update undone by an exception block leaves 0.6 and its btree');
is(sql(q{SELECT string_agg(row_key::text, ' ' ORDER BY event_id) FROM audit.event
		  WHERE kind = 'row' AND event_id > (SELECT max(event_id) FROM audit.event WHERE row_key = '{"id": 53}')}),
	'{"id": 70} {"id": 72}', 'the row events before and after it are written, the undone one is not');
is(sql(q{SET enable_seqscan = off; SET enable_bitmapscan = off;
		 SELECT count(*) FROM audit.event WHERE row_key = '{"id": 72}'}), '1',
	'and found through the indexes');
# A user's event trigger that writes an event while the update runs.
sql(q{CREATE TABLE ddl_log (tag text);
	  CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql
	    AS $$BEGIN INSERT INTO public.ddl_log VALUES (tg_tag); END$$;
	  CREATE EVENT TRIGGER log_ddl ON ddl_command_start EXECUTE FUNCTION log_ddl()});
sql(q{BEGIN;
	  INSERT INTO acct VALUES (73, 'kim', 7);
	  ALTER EXTENSION audit_ext UPDATE TO '0.7';
	  COMMIT});
sql(q{DROP EVENT TRIGGER log_ddl});
is(sql(q{SELECT bool_or(tag = 'ALTER EXTENSION') FROM ddl_log}), 't',
	'an event trigger wrote an event while the update ran');
unlike(slurp_file($node->logfile, $log_offset),
	qr/reference leak|nonzero refcount|being used by active queries|could not open file/,
	'no reference leak, stale index or index in use in the server log');
is(sql($index_sql), 'brin autosummarize=on', 'at 0.7 it is a BRIN index, summarized as the trail grows');
is(sql(q{SET enable_seqscan = off;
		 SELECT count(*) FROM audit.event WHERE occurred_at >= '} . $before_key_change . q{'
		    AND occurred_at <= '} . $after_inflight . q{'}),
	sql(q{SET enable_bitmapscan = off; SET enable_indexscan = off;
		 SELECT count(*) FROM audit.event WHERE occurred_at >= '} . $before_key_change . q{'
		    AND occurred_at <= '} . $after_inflight . q{'}),
	'a time range finds the same events through the BRIN index as by reading the table');
like(sql(q{SET enable_seqscan = off;
		   EXPLAIN (COSTS OFF) SELECT count(*) FROM audit.event WHERE occurred_at >= now() - interval '1 hour'}),
	qr/Bitmap Index Scan on event_occurred_at_idx/, 'and the planner reads it for a time range');
is(sql('SELECT ok FROM audit.verify()'), 't', 'audit.verify() holds at 0.7');

# --- the schema updated to the newest version is a fresh one -----------------------------

sql('ALTER EXTENSION audit_ext UPDATE');
my $newest = sql(q{SELECT default_version FROM pg_available_extensions WHERE name = 'audit_ext'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}), $newest,
	"ALTER EXTENSION UPDATE goes on to the newest version, $newest");
sql('CREATE DATABASE fresh');
sql('CREATE EXTENSION audit_ext', 'fresh');
$updated = sql($schema_sql);
like($updated, qr/^event\.row_salt bytea$/m, 'the schema lists the columns of 0.3');
like($updated, qr/^event\.erasure jsonb$/m, 'and of 0.4');
like($updated, qr/^tracked_table\.mask_salt bytea not null$/m, 'and its tables');
is(sql($schema_sql, 'fresh'), $updated,
	'CREATE EXTENSION and ALTER EXTENSION UPDATE from 0.1 give the same schema');

# --- tampering with an event of any format ------------------------------------------------

# A second trail begun at 0.1, for a value put where format 1 hashes nothing.
sql('CREATE DATABASE stray');
sql(q{CREATE EXTENSION audit_ext VERSION '0.1'}, 'stray');
sql('CREATE TABLE t (a int)', 'stray');
sql('INSERT INTO t VALUES (1)', 'stray');
sql('ALTER EXTENSION audit_ext UPDATE', 'stray');
sql('SELECT audit.seal()', 'stray');
my $stray_id = sql(q{SELECT event_id FROM audit.events WHERE command = 'INSERT'}, 'stray');

$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
sql("UPDATE audit.event SET statement = 'UPDATE acct SET balance = 0' WHERE event_id = $v1_id");
sql(qq{UPDATE audit.event SET context = '{"request": "r-2", "tenant": 7}' WHERE event_id = $v2_id});
sql(qq{UPDATE audit.event SET old_row = '{"balance": 500}' WHERE event_id = $v3_id});
sql("UPDATE audit.event SET app_user = 'mallory' WHERE event_id = $stray_id", 'stray');
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'");
$node->start;

my $report = server_report($node, 'postgres');
like($report, qr/^event altered: block \d+, txid \d+, event $v1_id: stored leaf hash/m,
	'audit.verify_report() names the altered event of format 1');
like($report, qr/^event altered: block \d+, txid \d+, event $v2_id: stored leaf hash/m,
	'and the one of format 2 (its jsonb context)');
like($report, qr/^event altered: block \d+, txid \d+, event $v3_id: stored leaf hash/m,
	'and the one of format 3 (a row image)');
is(scalar(() = $report =~ /^/mg), 3, 'and nothing else');
($rc, $out) = av(conn());
is($rc, 1, 'audit_verify live: exit status 1');
is(problems_of($out), $report, 'the same problems, word for word, as audit.verify_report()');
($rc, $out) = av('--export', "$dir/tampered", conn());
($rc, $out) = av('--bundle', "$dir/tampered");
is($rc, 1, 'the bundle of the tampered trail: exit status 1');
is(problems_of($out), $report, 'the same problems');
write_file("$dir/tampered_proof.json", sql("SELECT audit.inclusion_proof($v2_id)"));
is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($v2_id))"), 'f',
	'the proof of the altered event of format 2 does not hold in the server');
($rc, $out) = av('--proof', "$dir/tampered_proof.json");
is($rc, 1, 'nor for audit_verify');
write_file("$dir/tampered_proof3.json", sql("SELECT audit.inclusion_proof($v3_id)"));
is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($v3_id))"), 'f',
	'the proof of the altered row event does not hold in the server');
($rc, $out) = av('--proof', "$dir/tampered_proof3.json");
is($rc, 1, 'nor for audit_verify');

# A value in a column that format 1 does not hash: no hash covers it.
($rc, $out) = av(conn('stray'));
is($rc, 1, 'a format 1 event with a value in a column of format 2: audit_verify exits 1');
like($out, qr/^event altered: block \d+, txid \d+, event $stray_id: fields its format version does not hash hold values$/m,
	'and says why');
is(sql("SELECT audit.verify_inclusion_proof(audit.inclusion_proof($stray_id))", 'stray'), 'f',
	'its proof does not hold in the server');

$node->stop;
done_testing();
