# Copyright (c) audit_ext contributors
#
# 050_guard.pl — the append-only guard.  Every way of changing what lives in
# schema audit through SQL is tried, as a superuser and as an ordinary role:
# each is refused with SQLSTATE 42501 (for the superuser, by the guard,
# which names itself), leaves the trail as it was, and is recorded as an
# error event that survives the rollback — even when the session keeps its
# errors out of the server log.  The extension's own paths still work
# (audit.track(), sealing, the event triggers).  Dropping the extension or
# its schema takes a restart with audit.guard = off, and that restart is in
# the trail: a startup event naming the guard's state and the last block
# sealed before it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('guard');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'audit_ext'
audit.seal_interval = 3600000
});
$node->start;

sub sql { return $node->safe_psql($_[1] // 'postgres', $_[0]); }

# Run one statement as $role (undef: the superuser), with the SQLSTATE in the
# message.  Returns (exit code, stderr).
sub attempt
{
	my ($stmt, $role) = @_;
	my $set = defined $role ? "SET ROLE $role;\n" : '';
	my ($out, $err) = ('', '');
	my $rc = $node->psql('postgres', "\\set VERBOSITY verbose\n$set$stmt",
		stdout => \$out, stderr => \$err);
	return ($rc, $err);
}

sql(q{
	CREATE EXTENSION audit_ext;
	CREATE ROLE mallory LOGIN;
	CREATE ROLE admin LOGIN IN ROLE audit_admin;
	CREATE TABLE acct (id int PRIMARY KEY, balance int);
	CREATE TABLE ptxn (LIKE audit.txn) PARTITION BY RANGE (position);
	CREATE TABLE ptxn_plain (position bigint);
	CREATE TABLE secret (a int);
	SELECT audit.track('acct');
	INSERT INTO acct VALUES (1, 10);
	SELECT audit.seal();
});

# What the trail holds, to compare after the attempts.
my $max_event = sql('SELECT max(event_id) FROM audit.event');
my $max_block = sql('SELECT max(block_id) FROM audit.block');
my $fingerprint_sql = qq{
	SELECT count(*) || ':' || md5(string_agg(leaf_hash::text || coalesce(statement, ''), ',' ORDER BY event_id))
	  FROM audit.event WHERE event_id <= $max_event};
my $blocks_sql = qq{
	SELECT count(*) || ':' || md5(string_agg(encode(block_hash, 'hex'), ',' ORDER BY block_id))
	  FROM audit.block WHERE block_id <= $max_block};
my $before = sql($fingerprint_sql);
my $blocks = sql($blocks_sql);

# --- every refused operation, as the superuser ----------------------------------------------

my @refused = (
	[ 'INSERT', q{INSERT INTO audit.event (event_id) VALUES (-1)} ],
	[ 'UPDATE', q{UPDATE audit.event SET statement = 'forged'} ],
	[ 'DELETE', q{DELETE FROM audit.event WHERE kind = 'row'} ],
	[ 'DELETE txn', q{DELETE FROM audit.txn} ],
	[ 'UPDATE block', q{UPDATE audit.block SET signature = NULL} ],
	[ 'MERGE', q{MERGE INTO audit.txn t USING (SELECT 1 AS x) s ON true WHEN MATCHED THEN DELETE} ],
	[ 'SELECT FOR UPDATE', q{SELECT 1 FROM audit.chain FOR UPDATE} ],
	[ 'TRUNCATE', q{TRUNCATE audit.event} ],
	[ 'TRUNCATE CASCADE', q{TRUNCATE audit.tracked_table CASCADE} ],
	[ 'COPY FROM', q{COPY audit.event (event_id) FROM PROGRAM 'echo -1'} ],
	[ 'ALTER TABLE ADD COLUMN', q{ALTER TABLE audit.event ADD COLUMN x int} ],
	[ 'ALTER TABLE SET DATA TYPE', q{ALTER TABLE audit.event ALTER COLUMN statement TYPE varchar(10)} ],
	[ 'ALTER TABLE RLS', q{ALTER TABLE audit.event ENABLE ROW LEVEL SECURITY} ],
	[ 'ALTER TABLE OWNER', q{ALTER TABLE audit.event OWNER TO mallory} ],
	[ 'RENAME TABLE', q{ALTER TABLE audit.event RENAME TO event_old} ],
	[ 'RENAME VIEW', q{ALTER VIEW audit.events RENAME TO events_old} ],
	[ 'RENAME COLUMN', q{ALTER TABLE audit.txn RENAME COLUMN digest TO d} ],
	[ 'ALTER SEQUENCE', q{ALTER SEQUENCE audit.event_id_seq RESTART 1} ],
	[ 'ALTER FUNCTION OWNER', q{ALTER FUNCTION audit.digest() OWNER TO mallory} ],
	[ 'ALTER FUNCTION', q{ALTER FUNCTION audit.digest() SECURITY DEFINER} ],
	[ 'CREATE OR REPLACE FUNCTION', q{CREATE OR REPLACE FUNCTION audit.digest() RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb'} ],
	[ 'CREATE VIEW in audit', q{CREATE VIEW audit.spy AS SELECT 1 AS one} ],
	[ 'CREATE TABLE in audit', q{CREATE TABLE audit.extra (a int)} ],
	[ 'CREATE FUNCTION in audit', q{CREATE FUNCTION audit.verify(x int) RETURNS int LANGUAGE sql AS 'SELECT 1'} ],
	[ 'CREATE INDEX', q{CREATE INDEX ON audit.event (kind) WHERE kind = 'x'} ],
	[ 'CREATE RULE', q{CREATE RULE hide AS ON INSERT TO audit.event DO INSTEAD NOTHING} ],
	[ 'CREATE TRIGGER', q{CREATE TRIGGER hide BEFORE INSERT ON audit.event FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()} ],
	[ 'CREATE POLICY', q{CREATE POLICY hide ON audit.event USING (false)} ],
	[ 'CLUSTER', q{CLUSTER audit.event USING event_pkey} ],
	[ 'VACUUM FULL', q{VACUUM (FULL) audit.txn} ],
	[ 'DROP TABLE', q{DROP TABLE audit.event CASCADE} ],
	[ 'DROP VIEW', q{DROP VIEW audit.events} ],
	[ 'DROP FUNCTION', q{DROP FUNCTION audit.digest()} ],
	[ 'DROP INDEX', q{DROP INDEX audit.event_txid_idx} ],
	[ 'DROP SCHEMA', q{DROP SCHEMA audit CASCADE} ],
	[ 'RENAME SCHEMA', q{ALTER SCHEMA audit RENAME TO audit_old} ],
	[ 'DROP EXTENSION', q{DROP EXTENSION audit_ext CASCADE} ],
	[ 'ALTER EXTENSION DROP', q{ALTER EXTENSION audit_ext DROP FUNCTION audit.digest()} ],
	[ 'DISABLE EVENT TRIGGER', q{ALTER EVENT TRIGGER audit_ext_untrack_dropped DISABLE} ],
	[ 'DROP EVENT TRIGGER', q{DROP EVENT TRIGGER audit_ext_track_new_tables} ],
	[ 'DROP TYPE', q{DROP TYPE audit.event} ],
	[ 'INHERITS', q{CREATE TABLE public.kid () INHERITS (audit.event)} ],
	[ 'PARTITION OF', q{CREATE TABLE public.part PARTITION OF audit.txn DEFAULT} ],
	[ 'ATTACH PARTITION', q{ALTER TABLE public.ptxn ATTACH PARTITION audit.txn DEFAULT} ],
	[ 'FOREIGN KEY', q{CREATE TABLE public.fk (p bigint REFERENCES audit.txn (position) ON DELETE CASCADE)} ],
	[ 'ADD FOREIGN KEY', q{ALTER TABLE public.ptxn_plain ADD FOREIGN KEY (position) REFERENCES audit.txn (position)} ],
);

for my $case (@refused)
{
	my ($what, $stmt) = @$case;
	my ($rc, $err) = attempt($stmt);
	isnt($rc, 0, "superuser: $what is refused");
	like($err, qr/ERROR:  42501: audit_ext guard: /, "superuser: $what: SQLSTATE 42501 from the guard")
	  or diag($err);
	(my $quoted = $stmt) =~ s/'/''/g;
	is(sql(qq{SELECT count(*) FROM audit.event WHERE kind = 'error' AND sqlstate = '42501'
	          AND message LIKE 'audit_ext guard: %' AND statement = '$quoted'}),
		'1', "superuser: $what: the attempt is recorded once");
}

# The attempt is recorded even when the session keeps its errors out of the log.
my ($rc, $err) = attempt(q{SET log_min_messages = panic; DELETE FROM audit.txn WHERE txid IS NOT NULL});
like($err, qr/42501: audit_ext guard: DELETE from table audit\.txn is refused/,
	'the message names the guard, the operation and the table');
is(sql(q{SELECT count(*) FROM audit.event WHERE kind = 'error'
          AND statement LIKE '%DELETE FROM audit.txn WHERE txid IS NOT NULL'}), '1',
	'a refusal is recorded with log_min_messages = panic too');
# Inside a transaction block that is rolled back, and a subtransaction.
($rc, $err) = attempt(q{BEGIN; SAVEPOINT s; UPDATE audit.txn SET digest = NULL; ROLLBACK TO s; COMMIT;});
is(sql(q{SELECT count(*) FROM audit.event WHERE kind = 'error' AND statement LIKE '%SET digest = NULL%'}), '1',
	'an attempt inside a rolled-back subtransaction is recorded');

# A refusal caught by an EXCEPTION block does not make a later privilege
# error of the session go unrecorded.
($rc, $err) = attempt(q{DO $$BEGIN DELETE FROM audit.txn; EXCEPTION WHEN insufficient_privilege THEN NULL; END$$;
SET ROLE mallory; SELECT * FROM secret});
like($err, qr/permission denied for table secret/, 'a refusal caught in PL/pgSQL, then another 42501');
is(sql(q{SELECT count(*) FROM audit.event WHERE kind = 'error' AND statement = 'SELECT * FROM secret'}), '1',
	'the later error is recorded all the same');

# --- and as an ordinary role (refused by privileges, or by the guard first) ------------------

# (VACUUM FULL of a table one does not own is skipped with a warning, not
# an error, by the server itself: nothing to refuse.)
for my $case (grep { $_->[0] ne 'VACUUM FULL' } @refused)
{
	my ($what, $stmt) = @$case;
	my ($rc, $err) = attempt($stmt, 'mallory');
	isnt($rc, 0, "ordinary role: $what is refused");
	like($err, qr/ERROR:  42501: /, "ordinary role: $what: SQLSTATE 42501") or diag($err);
	(my $quoted = $stmt) =~ s/'/''/g;
	is(sql(qq{SELECT count(*) FROM audit.event WHERE kind = 'error' AND sqlstate = '42501'
	          AND effective_role = 'mallory' AND statement LIKE '%$quoted'}),
		'1', "ordinary role: $what: the attempt is recorded");
}

is(sql($fingerprint_sql), $before, 'the events from before the attempts are all there, unchanged');
is(sql($blocks_sql), $blocks, 'and so are the blocks');
is(sql(qq{SELECT string_agg(DISTINCT kind || ' ' || coalesce(command, ''), ', ') FROM audit.event
          WHERE event_id > $max_event AND kind NOT IN ('login', 'logout', 'error')}),
	'statement SET', 'since then: logins, logouts, error events and SETs, nothing else');
is(sql(q{SELECT count(*) FROM pg_class WHERE relnamespace = 'audit'::regnamespace AND relname IN ('extra', 'event_old')}),
	'0', 'and no object was created or renamed');
is(sql(q{SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid = 'audit.event'::regclass}),
	'row_end_sync', 'no trigger on audit.event but the extension\'s own (row_end_sync)');
is(sql(q{SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'audit_ext_untrack_dropped'}), 'A',
	'the event trigger is still enabled always');

# --- what changes what is recorded is recorded, whatever audit.log says ----------------------

$node->safe_psql('postgres', q{
	SET audit.log = 'none';
	SET session_replication_role = replica;
	LOAD 'auto_explain';
	ALTER TABLE acct DISABLE TRIGGER ALL;
	ALTER TABLE acct ENABLE TRIGGER ALL;
	RESET session_replication_role;
	SELECT 1 FROM acct;
});
is(sql(qq{SELECT string_agg(statement, ' / ' ORDER BY event_id) FROM audit.event
          WHERE event_id > $max_event AND kind = 'statement' AND session_role IS NOT NULL
            AND statement NOT LIKE 'SET ROLE%' AND statement NOT LIKE '\\set%'
            AND (statement LIKE 'SET audit.log%' OR statement LIKE '%session_replication_role%'
                 OR statement LIKE 'LOAD%' OR statement LIKE 'ALTER TABLE acct%' OR statement LIKE 'SELECT 1 FROM acct%')}),
	q{SET audit.log = 'none' / SET session_replication_role = replica / LOAD 'auto_explain' / } .
	q{ALTER TABLE acct DISABLE TRIGGER ALL / ALTER TABLE acct ENABLE TRIGGER ALL / RESET session_replication_role},
	'with audit.log = none: the SET itself, session_replication_role, LOAD and trigger switches are recorded; a SELECT is not');

# --- the extension's own paths pass ---------------------------------------------------------

sql(q{SET ROLE admin; SELECT audit.track('acct', '{}', '{balance}')});
is(sql(q{SELECT mask_columns FROM audit.tracked_tables}),
	'{balance}', 'audit.track() (SECURITY DEFINER, ours) still writes audit.tracked_table');
sql(q{CREATE TABLE later (id int PRIMARY KEY); DROP TABLE acct});
is(sql(q{SELECT count(*) FROM audit.tracked_table}), '0',
	'the event trigger untracks a dropped table (it writes audit.tracked_table)');
cmp_ok(sql('SELECT audit.seal()'), '>', 0, 'sealing writes blocks');
my $relfilenode = sql(q{SELECT relfilenode FROM pg_class WHERE oid = 'audit.event'::regclass});
sql('VACUUM (FULL)');
isnt(sql(q{SELECT relfilenode FROM pg_class WHERE oid = 'audit.event'::regclass}), $relfilenode,
	'a database-wide VACUUM FULL (no table named) rewrites the trail with the rest: it changes no content');
is(sql('SELECT ok FROM audit.verify()'), 't', 'and the trail verifies');
is(sql(q{ALTER EXTENSION audit_ext UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'audit_ext'}),
	'0.7', 'ALTER EXTENSION UPDATE passes (nothing to do at the newest version)');
# A user's own function of the same name elsewhere is not ours: it gets no pass.
sql(q{CREATE FUNCTION public.sneak() RETURNS void LANGUAGE sql SECURITY DEFINER
      AS 'DELETE FROM audit.txn'});
($rc, $err) = attempt('SELECT public.sneak()');
like($err, qr/42501: audit_ext guard: DELETE from table audit\.txn/,
	'a SECURITY DEFINER function that is not the extension\'s gets no pass');

# --- dropping the extension takes a restart, which the trail records -------------------------

my $last_block = sql(q{SELECT block_id FROM audit.block ORDER BY block_id DESC LIMIT 1});
$node->append_conf('postgresql.conf', 'audit.guard = off');
$node->restart;
# This start's startup event, once the sealer has written it.
my $this_start = q{kind = 'server' AND (detail->>'server_started_at')::timestamptz = pg_postmaster_start_time()};
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM audit.event WHERE $this_start")
  or die 'no startup event';
is(sql(qq{SELECT command || ' ' || (detail->>'guard') FROM audit.event WHERE $this_start}),
	'STARTUP false', 'the restart is recorded, with the guard off');
is(sql(qq{SELECT (detail->'last_block'->>'block_id')::bigint >= $last_block AND
                 (detail->'last_block'->>'block_hash') = encode(b.block_hash, 'hex') AND
                 (detail->'last_block'->>'sealed_at')::timestamptz = b.sealed_at
            FROM audit.event e, audit.block b
           WHERE $this_start AND b.block_id = (detail->'last_block'->>'block_id')::bigint
             AND NOT EXISTS (SELECT FROM audit.block n WHERE n.block_id > b.block_id
                               AND n.sealed_at < pg_postmaster_start_time())}),
	't', 'and the last block sealed before it, by id, hash and time');
sql('SELECT audit.seal()');
is(sql('SELECT ok FROM audit.verify()'), 't', 'the startup event is sealed into the chain');
is(sql(q{DROP EXTENSION audit_ext CASCADE; SELECT count(*) FROM pg_extension WHERE extname = 'audit_ext'}), '0',
	'with audit.guard = off, DROP EXTENSION audit_ext is allowed');
sql('CREATE EXTENSION audit_ext');

# Back on: the restart again shows, and the guard holds again.
$node->append_conf('postgresql.conf', 'audit.guard = on');
$node->restart;
sql('CREATE TABLE t (a int); SELECT audit.seal()');
$node->restart;
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM audit.event WHERE $this_start")
  or die 'no startup event after the second restart';
is(sql(qq{SELECT detail->>'guard' FROM audit.event WHERE $this_start}), 'true',
	'a restart with the guard on is recorded as such');
($rc, $err) = attempt('DROP EXTENSION audit_ext');
like($err, qr/42501: audit_ext guard: DROP EXTENSION audit_ext is refused.*HINT:  Start the server with audit\.guard = off/s,
	'with the guard on, DROP EXTENSION is refused, with a hint');
($rc, $err) = attempt('SET audit.guard = off');
like($err, qr/parameter "audit.guard" cannot be changed without restarting the server/,
	'audit.guard cannot be changed in a session');

# A database without the extension: its own schema "audit" is not guarded.
sql('CREATE DATABASE plain');
sql(q{CREATE SCHEMA audit; CREATE TABLE audit.event (a int); INSERT INTO audit.event VALUES (1);
      DELETE FROM audit.event; DROP SCHEMA audit CASCADE}, 'plain');
is(sql(q{SELECT count(*) FROM pg_namespace WHERE nspname = 'audit'}, 'plain'), '0',
	'a database without audit_ext: a schema named audit is an ordinary schema');

$node->stop;
done_testing();
