# Helpers the TAP tests share for running audit_verify and comparing what
# it reports with what the server's audit.verify_report() says.
package AuditVerifyTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use Test::More;

our @EXPORT = qw(av problems_of server_report write_file wait_for_startup_event
  wait_until_sealed start_pgbench finish_pgbench chain_shape wait_for_exit);

# Run audit_verify; returns (exit status, stdout, stderr, signal).
sub av
{
	my @cmd = ('audit_verify', @_);
	my ($out, $err) = ('', '');
	note(join(' ', map { "'$_'" } @cmd));
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	my $status = $?;
	note("exit status " . ($status >> 8) . "\n$out$err");
	return ($status >> 8, $out, $err, $status & 127);
}

# The problem lines of audit_verify's output, sorted.
sub problems_of
{
	my ($out) = @_;
	return join("\n", sort grep { !/^(ok|FAILED):/ } split /\n/, $out);
}

# audit.verify_report() of database $db of $node in audit_verify's line
# format, sorted.
sub server_report
{
	my ($node, $db) = @_;
	my $r = $node->safe_psql($db, q{
		SELECT problem || ': '
		       || concat_ws(', ', 'block ' || block_id, 'txid ' || txid, 'event ' || event_id)
		       || ': ' || detail
		  FROM audit.verify_report()});
	return join("\n", sort split /\n/, $r);
}

# After a (re)start of $node, wait until the sealer of database $db has
# recorded this start's startup event (there is one when a block was sealed
# before the start).
sub wait_for_startup_event
{
	my ($node, $db) = @_;
	$node->poll_query_until($db // 'postgres', q{
		SELECT count(*) = 1 FROM audit.event WHERE kind = 'server'
		   AND (detail->>'server_started_at')::timestamptz = pg_postmaster_start_time()})
	  or die 'no startup event for this start of the server';
}

# Wait up to $secs seconds (default 60) until the background sealer of
# database $db has sealed every committed transaction (audit.seal() is not
# called).  Returns true if it did.
sub wait_until_sealed
{
	my ($node, $db, $secs) = @_;
	my $deadline = time() + ($secs // 60);
	while (time() < $deadline)
	{
		return 1
		  if $node->safe_psql($db, 'SELECT unsealed_events = 0 FROM audit.verify()') eq 't';
		select(undef, undef, undef, 0.2);
	}
	return 0;
}

# Start pgbench against database $db of $node in the background, with the
# given options, as application $app; returns (harness, \stdout, \stderr).
sub start_pgbench
{
	my ($node, $db, $app, @opts) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ('pgbench', '-n', @opts, $node->connstr($db) . " application_name=$app");
	note(join(' ', @cmd));
	my $h = IPC::Run::start(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(1800));
	return ($h, \$out, \$err);
}

# Let a pgbench started by start_pgbench end; returns its exit status.
sub finish_pgbench
{
	my ($h) = @_;
	eval {
		$h->finish;
		1;
	} or do { $h->kill_kill; return -1; };
	return $? >> 8;
}

# The shape of the chain of database $db of $node: "1|t|t" when block ids
# are 1..n without gaps and each block's positions follow the previous
# block's.
sub chain_shape
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, q{
		SELECT format('%s|%s|%s', min(block_id), count(*) = max(block_id),
		       bool_and(first_position = coalesce(prev_last, 0) + 1))
		  FROM (SELECT block_id, first_position,
		               lag(last_position) OVER (ORDER BY block_id) AS prev_last
		          FROM audit.blocks) b});
}

# Wait up to 60 s until none of the processes @pids exists; false if some
# still do (named in a diagnostic).
sub wait_for_exit
{
	my @pids = @_;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		@pids = grep { kill(0, $_) } @pids;
		return 1 unless @pids;
		select(undef, undef, undef, 0.1);
	}
	diag "still running: @pids";
	return 0;
}

sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
}

1;
