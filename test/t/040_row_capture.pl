# Copyright (c) audit_ext contributors
#
# 040_row_capture.pl — row capture where it takes more than one session of
# sql/row_capture.sql: COPY FROM a server file and \copy from a client
# file (a failing one leaves no row events); session_replication_role =
# replica set by a non-superuser allowed to (GRANT SET ON PARAMETER) does
# not silence the triggers, and disabling one shows; a session that
# already captured rows of a table follows what other sessions do to it
# (track options, untrack, ALTER TABLE) from its next statement on; the
# capture goes on after a restart; a database whose extension was created
# at 0.2 and updated captures rows in format 3 (in the very session that
# updated it), and its trail of formats 2 and 3 verifies in the server and
# with audit_verify, which both catch an altered row image.
#
# A 5 MB text and a 3 MB bytea round-trip.
#
# Known defects of 0.3 are TODO tests (they pass once fixed): a renamed
# masked or excluded column loses its option; values that go through
# to_jsonb() (arrays, composites, ranges, interval, ...) depend on the
# session's settings; tracked_by names the extension's owner.
#
# Tampering is done by the superuser with the library unloaded, as in
# 002_tamper.pl, so that no guard inside the server stands in the way.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir();
# Logins and logouts would add events of their own at moments of their
# own: not recorded here.  The sealer waits an hour between rounds.
my $node = PostgreSQL::Test::Cluster->new('row_capture');
$node->init(extra => [ '--encoding=UTF8', '--no-locale' ]);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
listen_addresses = '127.0.0.1'
max_worker_processes = 16
audit.seal_interval = 3600000
audit.log_connections = off
});
$node->start;

# --- helpers -------------------------------------------------------------------

sub sql { return $node->safe_psql($_[1] // 'postgres', $_[0]); }
sub conn { return $node->connstr($_[0] // 'postgres'); }

# A role's session over TCP.
sub as_role
{
	my ($role, $sql, $db) = @_;
	return $node->safe_psql($db // 'postgres', $sql,
		connstr => 'host=127.0.0.1 port=' . $node->port . ' dbname=' . ($db // 'postgres') . " user=$role");
}

# Run audit_verify; returns (exit status, stdout, stderr).
sub av
{
	my @cmd = ('audit_verify', @_);
	my ($out, $err) = ('', '');
	note(join(' ', map { "'$_'" } @cmd));
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	note("exit status " . ($? >> 8) . "\n$out$err");
	return ($? >> 8, $out, $err);
}

# The problem lines of audit_verify's output, sorted.
sub problems_of
{
	return join("\n", sort grep { !/^(ok|FAILED):/ } split /\n/, $_[0]);
}

# audit.verify_report() in audit_verify's line format, sorted.
sub server_report
{
	my $r = sql(q{
		SELECT problem || ': '
		       || concat_ws(', ', 'block ' || block_id, 'txid ' || txid, 'event ' || event_id)
		       || ': ' || detail
		  FROM audit.verify_report()}, $_[0]);
	return join("\n", sort split /\n/, $r);
}

sub mark { return sql('SELECT coalesce(max(event_id), 0) FROM audit.event', $_[0]); }

sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
}

sql(q{
	CREATE EXTENSION audit_ext;
	CREATE TABLE loaded (id int PRIMARY KEY, owner text, note text);
	SELECT audit.track('loaded');
});

# --- COPY FROM a file ----------------------------------------------------------------

# 20000 rows, with what COPY's text format escapes, NULLs and non-ASCII.
my $rows = 20000;
my $data = '';
for my $i (1 .. $rows)
{
	my $note =
		$i % 1000 == 0 ? "tab\\there, back\\\\slash, newline\\n, \x{c3}\x{a9}"
	  : $i % 7 == 0 ? '\N'
	  : "note $i";
	$data .= "$i\towner " . ($i % 13) . "\t$note\n";
}
write_file("$dir/loaded.txt", $data);

my $m = mark();
sql("COPY loaded FROM '$dir/loaded.txt'");
is(sql("SELECT count(*), count(DISTINCT new_row ->> 'id'), min((new_row ->> 'id')::int),
               max((new_row ->> 'id')::int), count(DISTINCT statement_id)
          FROM audit.event WHERE kind = 'row' AND event_id > $m"),
	"$rows|$rows|1|$rows|1", "COPY FROM a file: one INSERT event per row ($rows), all of one statement");
is(sql("SELECT count(*) FROM audit.event e JOIN loaded l ON l.id = (e.new_row ->> 'id')::int
         WHERE e.kind = 'row' AND e.event_id > $m AND e.command = 'INSERT'
           AND e.new_row = to_jsonb(l) AND e.row_key = jsonb_build_object('id', l.id)"),
	$rows, 'each image is the row loaded, each key its id');
is(sql("SELECT new_row ->> 'note' FROM audit.event WHERE kind = 'row' AND event_id > $m
         AND new_row ->> 'id' = '1000'"),
	"tab\there, back\\slash, newline\n, \x{c3}\x{a9}", 'escapes and UTF-8 are loaded and captured as such');
is(sql("SELECT count(*) FROM audit.event WHERE kind = 'row' AND event_id > $m
         AND new_row -> 'note' = 'null'"),
	int($rows / 7) - int($rows / 7000), 'NULLs (\N) are captured as null');
is(sql("SELECT s.command, s.rows_affected, s.statement
          FROM audit.event s WHERE s.kind = 'statement' AND s.event_id > $m
           AND s.statement_id = (SELECT statement_id FROM audit.event WHERE kind = 'row'
                                  AND event_id > $m LIMIT 1)"),
	"COPY|$rows|COPY loaded FROM '$dir/loaded.txt'",
	'the COPY statement is recorded with its row count, under the same statement id');

# \copy: the client reads the file; a bad line fails the whole COPY.
write_file("$dir/more.txt", "30001\tann\tfrom the client\n30002\tben\t\\N\n");
write_file("$dir/bad.txt", "40001\tok\tok\n40002\tok\tok\nnot a number\tx\tx\n");
$m = mark();
sql("\\copy loaded FROM '$dir/more.txt'");
my ($rc, $out, $err) = $node->psql('postgres', "\\copy loaded FROM '$dir/bad.txt'");
isnt($rc, 0, '\copy of a file with a bad line fails');
is(sql("SELECT string_agg(new_row ->> 'id', ',' ORDER BY event_id) FROM audit.event
         WHERE kind = 'row' AND event_id > $m"),
	'30001,30002', '\copy FROM a client file: its rows are captured; the failed one left none');
# (psql sends "COPY  loaded FROM STDIN", with two spaces.)
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM audit.event
         WHERE kind = 'error' AND event_id > $m AND statement ~ '^COPY +loaded FROM STDIN'
           AND sqlstate = '22P02'"),
	'the failed COPY is recorded as an error');

# --- values of several MB -------------------------------------------------------------------

sql(q{
	CREATE TABLE big (id int PRIMARY KEY, doc text, blob bytea, n int);
	SELECT audit.track('big');
});
$m = mark();
sql(q{
	INSERT INTO big SELECT 1, repeat('x', 5000000),
	       (SELECT string_agg(sha256(i::text::bytea), '' ORDER BY i) FROM generate_series(1, 100000) i), 1;
	UPDATE big SET n = 2;
	UPDATE big SET doc = doc || 'y';
	DELETE FROM big;
});
is(sql(qq{SELECT string_agg(concat_ws(' ', command, changed_columns, length(old_row ->> 'doc'),
                                      length(new_row ->> 'doc'), length(coalesce(new_row, old_row) ->> 'blob'),
                                      old_row ->> 'n'), ', ' ORDER BY event_id)
            FROM audit.event WHERE kind = 'row' AND event_id > $m}),
	'INSERT 5000000 6400002, UPDATE ["n"] 5000000 6400002 1, '
	  . 'UPDATE ["doc"] 5000000 5000001 6400002, DELETE 5000001 6400002 2',
	'a 5 MB text and a 3.2 MB bytea: captured whole where they belong, and only there');
is(sql(qq{SELECT bool_and(coalesce(new_row, old_row) ->> 'doc' IN (repeat('x', 5000000), repeat('x', 5000000) || 'y')),
                 bool_and(coalesce(new_row, old_row) ->> 'blob' = '\\x' || encode(
                     (SELECT string_agg(sha256(i::text::bytea), '' ORDER BY i) FROM generate_series(1, 100000) i), 'hex'))
            FROM audit.event WHERE kind = 'row' AND event_id > $m}),
	't|t', 'and they round-trip');

# --- session_replication_role = replica, by a role allowed to set it -------------------------

sql(q{
	CREATE ROLE regress_replica LOGIN;
	GRANT SET ON PARAMETER session_replication_role TO regress_replica;
	CREATE TABLE replicated (id int PRIMARY KEY, v text);
	ALTER TABLE replicated OWNER TO regress_replica;
	CREATE TABLE fired (n int);
	GRANT INSERT ON fired TO regress_replica;
	CREATE FUNCTION note_fired() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN INSERT INTO public.fired VALUES (1); RETURN NULL; END$$;
	CREATE TRIGGER ordinary AFTER INSERT ON replicated FOR EACH ROW EXECUTE FUNCTION note_fired();
	SELECT audit.track('replicated');
});
$m = mark();
as_role('regress_replica', q{
	SET session_replication_role = replica;
	INSERT INTO replicated VALUES (1, 'a'), (2, 'b');
	UPDATE replicated SET v = 'c' WHERE id = 1;
	DELETE FROM replicated WHERE id = 2;
	TRUNCATE replicated;
});
is(sql('SELECT count(*) FROM fired'), 0,
	'as replica, an ordinary trigger does not fire (the setting took effect)');
is(sql("SELECT string_agg(operation || ' ' || coalesce(row_key::text, rows_affected::text)
                          || ' by ' || session_role, '; ' ORDER BY event_id)
          FROM audit.row_changes WHERE event_id > $m"),
	'INSERT {"id": 1} by regress_replica; INSERT {"id": 2} by regress_replica; '
	  . 'UPDATE {"id": 1} by regress_replica; DELETE {"id": 2} by regress_replica; '
	  . 'TRUNCATE 1 by regress_replica',
	'the row triggers (ENABLE ALWAYS) fire: every change is captured, with who made it');
# The table's owner may disable the trigger: it shows, and is recorded;
# track() puts it back.
$m = mark();
as_role('regress_replica', q{
	ALTER TABLE replicated DISABLE TRIGGER audit_ext_row;
	INSERT INTO replicated VALUES (3, 'not captured');
});
is(sql(q{SELECT row_trigger FROM audit.tracked_tables WHERE table_name = 'replicated'::regclass}),
	'D', 'a disabled row trigger shows in audit.tracked_tables');
is(sql("SELECT count(*) FROM audit.event WHERE event_id > $m AND kind = 'statement'
         AND command = 'ALTER TABLE' AND statement LIKE '%DISABLE TRIGGER audit_ext_row%'
         AND session_role = 'regress_replica'"),
	1, 'and disabling it is recorded, with who did it');
is(sql("SELECT count(*) FROM audit.event WHERE event_id > $m AND kind = 'row'"), 0,
	'(while disabled, rows are not captured)');
sql(q{SELECT audit.track('replicated')});
is(sql(q{SELECT row_trigger FROM audit.tracked_tables WHERE table_name = 'replicated'::regclass}),
	'A', 'track() again enables it ALWAYS');

# --- another session changes what a session has cached -------------------------------------------

sql(q{
	CREATE TABLE shared (id int PRIMARY KEY, secret text, note text);
	SELECT audit.track('shared');
});
my $s = $node->background_psql('postgres', on_error_stop => 1);
$m = mark();
$s->query_safe(q{INSERT INTO shared VALUES (1, 'one', 'a')});
sql(q{SELECT audit.track('shared', '{note}', '{secret}')});
$s->query_safe(q{INSERT INTO shared VALUES (2, 'two', 'b')});
sql(q{ALTER TABLE shared ADD COLUMN extra int DEFAULT 7});
$s->query_safe(q{INSERT INTO shared VALUES (3, 'three', 'c')});
sql(q{ALTER TABLE shared RENAME COLUMN extra TO more});
$s->query_safe(q{UPDATE shared SET more = 8 WHERE id = 3});
sql(q{SELECT audit.untrack('shared')});
$s->query_safe(q{INSERT INTO shared VALUES (4, 'four', 'd')});
sql(q{SELECT audit.track('shared')});
$s->query_safe(q{INSERT INTO shared VALUES (5, 'five', 'e')});
# A transaction open in the session while another one tracks: track()
# waits for it (it takes a lock the session's writes conflict with).
sql(q{SELECT audit.untrack('shared')});
$s->query_safe(q{BEGIN; INSERT INTO shared VALUES (6, 'six', 'f')});
my $tracker = $node->background_psql('postgres', on_error_stop => 1);
$tracker->query_until(qr/started/, q{\echo started
SELECT audit.track('shared');
});
$node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT audit.track(''shared'')%'})
  or die 'track() did not wait for the open transaction';
$s->query_safe(q{INSERT INTO shared VALUES (7, 'seven', 'g'); COMMIT});
$tracker->quit;
$s->query_safe(q{INSERT INTO shared VALUES (8, 'eight', 'h')});
$s->quit;
is(sql("SELECT string_agg(command || ' ' || regexp_replace(coalesce(new_row, old_row)::text,
                          'sha256:[0-9a-f]{64}', 'sha256:...', 'g'), E'\\n' ORDER BY event_id)
          FROM audit.event WHERE kind = 'row' AND event_id > $m"),
	join("\n",
		'INSERT {"id": 1, "note": "a", "secret": "one"}',
		'INSERT {"id": 2, "secret": "sha256:..."}',
		'INSERT {"id": 3, "extra": 7, "secret": "sha256:..."}',
		'UPDATE {"id": 3, "more": 8, "secret": "sha256:..."}',
		'INSERT {"id": 5, "more": 7, "note": "e", "secret": "five"}',
		'INSERT {"id": 8, "more": 7, "note": "h", "secret": "eight"}'),
	'a session follows the track options, untrack, track and ALTER TABLE of other sessions '
	  . 'from its next statement on');

# --- known defects (TODO) --------------------------------------------------------------------

# Renaming a masked or excluded column must not reveal it.
sql(q{
	CREATE TABLE renamed (id int PRIMARY KEY, secret text, pin text);
	SELECT audit.track('renamed', '{pin}', '{secret}');
	INSERT INTO renamed VALUES (1, 'hunter2', '1234');
	ALTER TABLE renamed RENAME COLUMN secret TO secret2;
	ALTER TABLE renamed RENAME COLUMN pin TO pin2;
	INSERT INTO renamed VALUES (2, 'hunter2', '1234');
});
my $renamed = sql(q{SELECT new_row::text FROM audit.event WHERE kind = 'row'
	AND object_name = 'public.renamed' AND new_row ->> 'id' = '2'});
TODO:
{
	local $TODO = 'a renamed masked or excluded column loses its option (names are kept in audit.tracked_table)';
	unlike($renamed, qr/hunter2/, 'a masked column, renamed, stays masked');
	unlike($renamed, qr/1234/, 'an excluded column, renamed, stays out');
}

# The image of a value must not depend on the session's settings, nested
# values (arrays, composites, ranges) and intervals included.
sql(q{
	CREATE TYPE stamp AS (at timestamptz, f float8, b bytea);
	CREATE TABLE settings (id int PRIMARY KEY, tsa timestamptz[], fa float8[], ba bytea[],
	                       iv interval, tr tstzrange, dr daterange, pt point, st stamp);
	SELECT audit.track('settings');
});
my $values = q{'{2024-01-02 03:04:05+00}', '{0.30000000000000004, 1e300}', '{"\\\\x00ff"}',
	'1 day 02:03:04', '[2024-01-01 00:00+00,)', '[2024-01-01,2024-02-01)', '(0.1,0.30000000000000004)',
	ROW('2024-01-02 03:04:05+00', 0.30000000000000004, '\x00ff')};
sql("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';
	SET extra_float_digits = 1; SET bytea_output = 'hex';
	INSERT INTO settings VALUES (1, $values)");
sql("SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'iso_8601';
	SET extra_float_digits = 0; SET bytea_output = 'escape';
	INSERT INTO settings VALUES (2, $values)");
my %image;
for my $id (1, 2)
{
	for my $line (split /\n/, sql(qq{SELECT key || '=' || value FROM audit.event e, jsonb_each(e.new_row)
		WHERE kind = 'row' AND object_name = 'public.settings' AND new_row ->> 'id' = '$id' AND key <> 'id'}))
	{
		my ($k, $v) = split /=/, $line, 2;
		$image{$id}{$k} = $v;
	}
}
is($image{1}{tsa}, '["2024-01-02T03:04:05+00:00"]', 'a timestamptz[] under UTC settings is in UTC');
TODO:
{
	local $TODO = 'values converted by to_jsonb() follow TimeZone, DateStyle, IntervalStyle, extra_float_digits, bytea_output';
	for my $k (sort keys %{ $image{1} })
	{
		is($image{2}{$k}, $image{1}{$k}, "$k: the same image under other settings");
	}
}

# tracked_by is who called track(), not the owner of the extension.
sql(q{
	CREATE ROLE regress_tracker LOGIN IN ROLE audit_admin;
	CREATE TABLE by_whom (id int PRIMARY KEY);
});
as_role('regress_tracker', q{SELECT audit.track('by_whom')});
TODO:
{
	local $TODO = 'tracked_by is CURRENT_USER inside a SECURITY DEFINER function';
	is(sql(q{SELECT tracked_by FROM audit.tracked_tables WHERE table_name = 'by_whom'::regclass}),
		'regress_tracker', 'tracked_by names the role that called track()');
}

# --- a restart ------------------------------------------------------------------------------

my $events_sql = q{SELECT event_id, command, object_name, detail, row_key, old_row, new_row,
	changed_columns, rows_affected, statement_id, encode(leaf_hash, 'hex')
	FROM audit.event WHERE kind = 'row' ORDER BY event_id};
my $before = sql($events_sql);
$node->restart;
is(sql($events_sql), $before, 'row events are the same after a restart');
$m = mark();
sql(q{INSERT INTO shared VALUES (9, 'nine', 'i'); TRUNCATE replicated});
is(sql("SELECT string_agg(command || ' ' || object_name, ', ' ORDER BY event_id) FROM audit.event
         WHERE kind = 'row' AND event_id > $m"),
	'INSERT public.shared, TRUNCATE public.replicated', 'after the restart rows are still captured');
sql('SELECT audit.seal()');
is(sql('SELECT ok, problems FROM audit.verify()'), 't|0', 'the trail with its row events verifies');

# --- a database updated from 0.2 ----------------------------------------------------------------

sql('CREATE DATABASE upgraded');
sql(q{
	CREATE EXTENSION audit_ext VERSION '0.2';
	CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric, secret text);
	INSERT INTO acct VALUES (1, 'ann', 10, 's-ann'), (2, 'ben', 20, 's-ben');
	UPDATE acct SET balance = balance + 1 WHERE id = 1;
}, 'upgraded');
is(sql(q{SELECT extversion, to_regprocedure('audit.track(regclass,text[],text[])') IS NULL,
                (SELECT count(*) FROM pg_attribute WHERE attrelid = 'audit.event'::regclass
                    AND attnum > 0 AND NOT attisdropped)
           FROM pg_extension WHERE extname = 'audit_ext'}, 'upgraded'),
	'0.2|t|27', 'created at 0.2: 27 columns, no audit.track()');
is(sql(q{SELECT count(*) > 0, bool_and(format_version = 2) FROM audit.event}, 'upgraded'),
	't|t', 'the 0.3 library writes format 2 into the table of 0.2');
# The update, and row capture, in one session.
sql(q{
	ALTER EXTENSION audit_ext UPDATE;
	SELECT audit.track('acct', mask_columns => '{secret}');
	INSERT INTO acct VALUES (3, 'cy', 30, 's-cy');
	UPDATE acct SET balance = 0 WHERE id = 1;
	DELETE FROM acct WHERE id = 2;
}, 'upgraded');
is(sql(q{SELECT extversion, (SELECT count(*) FROM pg_attribute WHERE attrelid = 'audit.event'::regclass
                               AND attnum > 0 AND NOT attisdropped)
           FROM pg_extension WHERE extname = 'audit_ext'}, 'upgraded'),
	'0.3|32', 'ALTER EXTENSION UPDATE: 0.3, 32 columns');
is(sql(q{SELECT string_agg(command || ' ' || row_key::text || ' ' || format_version, ', ' ORDER BY event_id)
           FROM audit.event WHERE kind = 'row'}, 'upgraded'),
	'INSERT {"id": 3} 3, UPDATE {"id": 1} 3, DELETE {"id": 2} 3',
	'rows are captured in the session that updated the extension, in format 3');
is(sql(q{SELECT old_row::text FROM audit.event WHERE kind = 'row' AND command = 'UPDATE'}, 'upgraded'),
	'{"balance": 11}', 'with their images');
is(sql(q{SELECT count(*) FROM audit.event r WHERE r.kind = 'row' AND NOT EXISTS (
	SELECT FROM audit.event s WHERE s.kind = 'statement' AND s.statement_id = r.statement_id
	   AND s.txid = r.txid AND s.format_version = 3)}, 'upgraded'),
	0, 'and with their statements, in format 3 too');
my ($n2, $n3) = split /\|/, sql(q{SELECT count(*) FILTER (WHERE format_version = 2),
	count(*) FILTER (WHERE format_version = 3) FROM audit.event}, 'upgraded');
cmp_ok($n2, '>=', 3, "events of format 2 are kept ($n2)");
cmp_ok($n3, '>=', 6, "new events are of format 3 ($n3)");
is(sql(q{SELECT count(*) FROM audit.event WHERE format_version = 2
	AND num_nonnulls(row_key, old_row, new_row, changed_columns, row_salt) > 0}, 'upgraded'),
	0, 'events of format 2 have NULL in every column of format 3');
sql('SELECT audit.seal()', 'upgraded');
my ($events, $ok) = split /\|/, sql('SELECT events_checked, ok FROM audit.verify()', 'upgraded');
is($ok, 't', 'audit.verify(): the trail of formats 2 and 3 holds');
cmp_ok($events, '>=', $n2 + $n3, 'and it checked every event');
($rc, $out) = av(conn('upgraded'));
is($rc, 0, 'audit_verify live: the trail of formats 2 and 3 holds');
cmp_ok(($out =~ /^ok: \d+ blocks, \d+ transactions, (\d+) events/m)[0] // 0, '>=', $n2 + $n3,
	'and it checked every event');

# An altered row image, and an altered event of format 2.
my $row_id = sql(q{SELECT event_id FROM audit.event WHERE kind = 'row' AND command = 'INSERT'}, 'upgraded');
my $v2_id = sql(q{SELECT max(event_id) FROM audit.event WHERE format_version = 2
	AND kind = 'statement' AND command = 'UPDATE'}, 'upgraded');
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;
sql(qq{UPDATE audit.event SET new_row = new_row || '{"balance": 3000}' WHERE event_id = $row_id;
	UPDATE audit.event SET statement = 'UPDATE acct SET balance = 0' WHERE event_id = $v2_id}, 'upgraded');
$node->stop;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'audit_ext'");
$node->start;
my $report = server_report('upgraded');
like($report, qr/^event altered: block \d+, txid \d+, event $row_id: stored leaf hash/m,
	'audit.verify_report() names the event whose row image was altered');
like($report, qr/^event altered: block \d+, txid \d+, event $v2_id: stored leaf hash/m,
	'and the altered event of format 2');
is(scalar(() = $report =~ /^/mg), 2, 'and nothing else');
($rc, $out) = av(conn('upgraded'));
is($rc, 1, 'audit_verify live: exit status 1');
is(problems_of($out), $report, 'the same problems, word for word, as audit.verify_report()');

$node->stop;
done_testing();
