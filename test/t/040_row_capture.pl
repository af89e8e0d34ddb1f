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
# A masked or excluded column stays so when it is renamed (and a column
# added later under its old name is masked or excluded too).  Values that
# go through to_jsonb() (arrays, composites, ranges, interval, point) have
# the same image under any TimeZone, DateStyle, IntervalStyle,
# extra_float_digits and bytea_output.  tracked_by is the session's user,
# not the extension's owner.  With audit.log = 'all', track(), untrack()
# and the event triggers record their config event and none of their own
# writes or DDL; an error inside track() or track_schema() caught by an
# exception block leaves what the session runs next recorded: in the
# handler, later in the same function, later in the transaction.
#
# Tampering is done by the superuser with the library unloaded, as in
# 002_tamper.pl, so that no guard inside the server stands in the way.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AuditVerifyTest;

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

sub mark { return sql('SELECT coalesce(max(event_id), 0) FROM audit.event', $_[0]); }

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

# --- renamed columns --------------------------------------------------------------------------

# A masked or excluded column renamed stays masked (with the same mask: a
# value masks alike before and after) or excluded; a column added later
# under the old name of one is masked or excluded as well.
sql(q{
	CREATE TABLE renamed (id int PRIMARY KEY, secret text, pin text);
	SELECT audit.track('renamed', '{pin}', '{secret}');
	INSERT INTO renamed VALUES (1, 'hunter2', '1234');
	ALTER TABLE renamed RENAME COLUMN secret TO secret2;
	ALTER TABLE renamed RENAME COLUMN pin TO pin2;
	INSERT INTO renamed VALUES (2, 'hunter2', '1234');
	UPDATE renamed SET secret2 = 'hunter3', pin2 = '5678' WHERE id = 2;
	ALTER TABLE renamed ADD COLUMN secret text, ADD COLUMN pin text;
	INSERT INTO renamed VALUES (3, 'hunter2', '1234', 'hunter4', '9012');
});
# The images, each mask shown as mask(<value>) once checked against the
# mask formula (sha256 of 0x05, the table's mask salt and the value's
# jsonb text).
my %mask_of = map { split /\|/ } split /\n/, sql(q{
	SELECT 'sha256:' || encode(sha256('\x05'::bytea || t.mask_salt
	                                  || convert_to(to_jsonb(v)::text, 'UTF8')), 'hex'), v
	  FROM audit.tracked_table t, unnest('{hunter2,hunter3,hunter4}'::text[]) v
	 WHERE t.relid = 'renamed'::regclass});
my $renamed = sql(q{SELECT string_agg(concat_ws(' ', command, new_row, old_row, changed_columns), E'\n'
                                      ORDER BY event_id)
                      FROM audit.event WHERE kind = 'row' AND object_name = 'public.renamed'});
unlike($renamed, qr/hunter|1234|5678|9012|pin/, 'no raw value and no excluded column anywhere');
$renamed =~ s/(sha256:[0-9a-f]{64})/exists $mask_of{$1} ? "mask($mask_of{$1})" : $1/ge;
is($renamed,
	join("\n",
		'INSERT {"id": 1, "secret": "mask(hunter2)"}',
		'INSERT {"id": 2, "secret2": "mask(hunter2)"}',
		'UPDATE {"id": 2, "secret2": "mask(hunter3)"} {"secret2": "mask(hunter2)"} ["secret2"]',
		'INSERT {"id": 3, "secret": "mask(hunter4)", "secret2": "mask(hunter2)"}'),
	'a masked column, renamed, stays masked; an excluded one, renamed, stays out; '
	  . 'columns added under their old names are masked and excluded too');

# --- images do not depend on the session's settings -------------------------------------------

# Values that go through to_jsonb() (in arrays, composites and ranges;
# intervals, points) are converted with the settings their text depends
# on pinned: timestamptz in UTC, floats shortest-exact, bytea in hex,
# dates in ISO, intervals in the postgres style, whatever the session's
# TimeZone, DateStyle, IntervalStyle, extra_float_digits and bytea_output.
sql(q{
	CREATE TYPE stamp AS (at timestamptz, f float8, b bytea);
	CREATE TABLE settings (id int PRIMARY KEY, tsa timestamptz[], fa float8[], ba bytea[],
	                       iv interval, ia interval[], tr tstzrange, dr daterange, pt point, st stamp);
	SELECT audit.track('settings');
});
my $values = q{'{2024-01-02 03:04:05+00}', '{0.30000000000000004, 1e300}', '{"\\\\x00ff"}',
	'1 day 02:03:04', '{"1 year 2 mons", -00:00:01}', '[2024-01-01 00:00+00,)', '[2024-01-01,2024-02-01)',
	'(0.1,0.30000000000000004)', ROW('2024-01-02 03:04:05+00', 0.30000000000000004, '\x00ff')};
my @settings = (
	q{SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';
	  SET extra_float_digits = 1; SET bytea_output = 'hex';},
	q{SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'iso_8601';
	  SET extra_float_digits = 0; SET bytea_output = 'escape';},
	q{SET TimeZone = 'America/St_Johns'; SET DateStyle = 'German'; SET IntervalStyle = 'postgres_verbose';
	  SET extra_float_digits = -3; SET bytea_output = 'escape';},
	q{SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'Postgres, DMY'; SET IntervalStyle = 'sql_standard';
	  SET extra_float_digits = 3; SET bytea_output = 'hex';});
sql("$settings[$_ - 1]\nINSERT INTO settings VALUES ($_, $values)") for 1 .. @settings;
my %expected = (
	tsa => '["2024-01-02T03:04:05+00:00"]',
	fa => '[0.30000000000000004, 1' . ('0' x 300) . ']',
	ba => '["\\\\x00ff"]',
	iv => '"1 day 02:03:04"',
	ia => '["1 year 2 mons", "-00:00:01"]',
	tr => '"[\\"2024-01-01 00:00:00+00\\",)"',
	dr => '"[2024-01-01,2024-02-01)"',
	pt => '"(0.1,0.30000000000000004)"',
	st => '{"b": "\\\\x00ff", "f": 0.30000000000000004, "at": "2024-01-02T03:04:05+00:00"}');
my $image_sql = q{SELECT new_row - 'id' FROM audit.event
	WHERE kind = 'row' AND object_name = 'public.settings' AND new_row ->> 'id' = '%d'};
my %image = map { split /=/, $_, 2 } split /\n/, sql(sprintf(
	q{SELECT key || '=' || value FROM jsonb_each((%s))}, sprintf($image_sql, 1)));
is(join(' ', sort keys %image), join(' ', sort keys %expected), 'the image has every column');
is($image{$_}, $expected{$_}, "$_ written under UTC, ISO, postgres settings: $expected{$_}")
  for grep { $_ ne 'fa' } sort keys %expected;
is($image{fa}, $expected{fa}, 'fa written under UTC, ISO, postgres settings: [0.30000000000000004, 1e300]');
my $first = sql(sprintf($image_sql, 1));
for my $id (2 .. @settings)
{
	(my $named = $settings[ $id - 1 ]) =~ s/\s+/ /g;
	is(sql(sprintf($image_sql, $id)), $first, "the same image written with $named");
}
# (Under those settings to_jsonb() itself gives something else.)
isnt(sql("$settings[1]\nSELECT to_jsonb(s) - 'id' FROM settings s WHERE id = 2"), $first,
	'while to_jsonb() of the same row in such a session differs');

# --- tracked_by --------------------------------------------------------------------------------

# tracked_by is who called track() or track_schema() (the session's user),
# not the owner of the extension whose rights they run with.
sql(q{
	CREATE ROLE regress_tracker LOGIN IN ROLE audit_admin;
	CREATE TABLE by_whom (id int PRIMARY KEY);
	CREATE SCHEMA by_whom_s;
	CREATE TABLE by_whom_s.t (id int);
});
as_role('regress_tracker', q{SELECT audit.track('by_whom'); SELECT audit.track_schema('by_whom_s')});
is(sql(q{SELECT string_agg(table_name::text || ' ' || tracked_by, ', ' ORDER BY table_name::text)
           FROM audit.tracked_tables WHERE table_name IN ('by_whom'::regclass, 'by_whom_s.t'::regclass)}),
	'by_whom regress_tracker, by_whom_s.t regress_tracker', 'tracked_by names the role that called track()');
is(sql(q{SELECT tracked_by FROM audit.tracked_schema WHERE nspid = 'by_whom_s'::regnamespace}),
	'regress_tracker', 'and the one that called track_schema()');
sql(q{SELECT audit.untrack_schema('by_whom_s')});

# --- the tracking API's own statements -----------------------------------------------------------

# With every class of statement logged, track(), untrack(), track_schema()
# and the event triggers (a table created in a tracked schema, a tracked
# table dropped) record their config events and the statements that
# called them, not the writes and DDL they run themselves: writing
# audit.tracked_table and audit.tracked_schema, CREATE and DROP TRIGGER,
# ALTER TABLE ... ENABLE ALWAYS.
sql(q{
	CREATE TABLE api (id int PRIMARY KEY, v text);
	CREATE SCHEMA api_s;
});
# The config events, and the statement events but reads, after a mark.
my $config_sql = q{SELECT string_agg(command || ' ' || object_name, ', ' ORDER BY event_id)
	FROM audit.event WHERE kind = 'config' AND event_id > %d};
my $statements_sql = q{SELECT string_agg(concat_ws(' ', class, nesting_level, statement), E'\n' ORDER BY event_id)
	FROM audit.event WHERE kind = 'statement' AND event_id > %d AND class IS DISTINCT FROM 'read' AND command <> 'SET'};
$m = mark();
sql(q{SET audit.log = 'all';
	SELECT audit.track('api', mask_columns => '{v}');});
is(sql(sprintf($config_sql, $m)), 'TRACK public.api', "track() with audit.log = 'all': one config event");
is(sql(sprintf($statements_sql, $m)), '',
	'and no statement event for its INSERT, CREATE TRIGGER, ALTER TABLE');
is(sql("SELECT count(*) FROM audit.event WHERE kind = 'statement' AND event_id > $m AND nesting_level = 0
         AND statement = 'SELECT audit.track(''api'', mask_columns => ''{v}'')'"),
	1, 'the call of track() is recorded');
is(sql(q{SELECT string_agg(tgname || ' ' || tgenabled::text, ', ' ORDER BY tgname) FROM pg_trigger
          WHERE tgrelid = 'api'::regclass}),
	'audit_ext_row A, audit_ext_truncate A', '(it did create the triggers, ENABLE ALWAYS)');
$m = mark();
sql(q{SET audit.log = 'all';
	SELECT audit.untrack('api');});
is(sql(sprintf($config_sql, $m)), 'UNTRACK public.api', "untrack() with audit.log = 'all': one config event");
is(sql(sprintf($statements_sql, $m)), '', 'and no statement event for its DELETE, DROP TRIGGER');
$m = mark();
sql(q{SET audit.log = 'all';
	SELECT audit.track_schema('api_s');
	SELECT audit.track_schema('api_s');
	CREATE TABLE api_s.t (id int);
	DROP TABLE api_s.t;
	SELECT audit.untrack_schema('api_s');});
is(sql(sprintf($config_sql, $m)), 'TRACK SCHEMA api_s, TRACK api_s.t, UNTRACK SCHEMA api_s',
	'track_schema() twice with the same options, a table created and dropped there, untrack_schema(): '
	  . 'one config event each for what changed');
is(sql(sprintf($statements_sql, $m)), "ddl 0 CREATE TABLE api_s.t (id int)\nddl 0 DROP TABLE api_s.t",
	'and no statement events but the DDL of the session (none of the event triggers)');

# An error inside track() or track_schema(), caught by an exception block,
# ends their span of unrecorded statements with its subtransaction: what
# the session runs next is recorded, in the handler, after the block in
# the same function (the span would otherwise last until the next
# top-level statement), and after it.  Three errors: a view (refused
# before anything is written); a lock CREATE TRIGGER cannot get within
# lock_timeout (inside track(), after it wrote audit.tracked_table); a
# partition already tracked when track_schema() comes to its partitioned
# table (inside track_schema(), after it wrote audit.tracked_schema and
# recorded TRACK SCHEMA).
sql(q{
	CREATE VIEW api_view AS SELECT 1 AS one;
	CREATE TABLE api_locked (id int PRIMARY KEY);
	CREATE TABLE api_log (n int);
	CREATE SCHEMA api_p;
	CREATE TABLE api_p.p (id int) PARTITION BY RANGE (id);
	CREATE TABLE api_p.p1 PARTITION OF api_p.p FOR VALUES FROM (0) TO (10);
	SELECT audit.track('api_p.p1');
});
my $holder = $node->background_psql('postgres', on_error_stop => 1);
$holder->query_safe(q{BEGIN; LOCK TABLE api_locked IN ROW EXCLUSIVE MODE});
$m = mark();
sql(q{
	BEGIN;
	SET LOCAL lock_timeout = '100ms';
	DO $$
	BEGIN
		BEGIN
			PERFORM audit.track('api_view');
		EXCEPTION WHEN wrong_object_type THEN
			INSERT INTO api_log VALUES (1);
		END;
		INSERT INTO api_log VALUES (2);
	END $$;
	INSERT INTO api_log VALUES (3);
	DO $$
	BEGIN
		BEGIN
			PERFORM audit.track('api_locked');
		EXCEPTION WHEN lock_not_available THEN
			INSERT INTO api_log VALUES (4);
		END;
		INSERT INTO api_log VALUES (5);
	END $$;
	INSERT INTO api_log VALUES (6);
	DO $$
	BEGIN
		BEGIN
			PERFORM audit.track_schema('api_p');
		EXCEPTION WHEN object_not_in_prerequisite_state THEN
			INSERT INTO api_log VALUES (7);
		END;
		INSERT INTO api_log VALUES (8);
	END $$;
	INSERT INTO api_log VALUES (9);
	COMMIT;
	INSERT INTO api_log VALUES (10);
});
$holder->query_safe('COMMIT');
$holder->quit;
is(sql(q{SELECT string_agg(n::text, ',' ORDER BY n) FROM api_log}), '1,2,3,4,5,6,7,8,9,10',
	'(each error was raised, and caught by its handler)');
is(sql("SELECT string_agg(nesting_level || ' ' || statement, E'\\n' ORDER BY event_id) FROM audit.event
         WHERE kind = 'statement' AND event_id > $m AND command = 'INSERT'"),
	join("\n", map { ($_ % 3 == 0 || $_ == 10 ? 0 : 1) . " INSERT INTO api_log VALUES ($_)" } 1 .. 10),
	'after an error caught inside track() or track_schema(), the next statements are recorded');
is(sql("SELECT count(*) FROM audit.event WHERE kind = 'config' AND event_id > $m"), 0,
	'the failed calls left no config event');
is(sql(q{SELECT count(*) FROM audit.tracked_table WHERE relid = 'api_locked'::regclass}) . ' '
	  . sql(q{SELECT count(*) FROM audit.tracked_schema WHERE nspid = 'api_p'::regnamespace}),
	'0 0', 'and tracked nothing');

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
	'0.7|34', 'ALTER EXTENSION UPDATE: 0.7, 34 columns');
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
my $report = server_report($node, 'upgraded');
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
