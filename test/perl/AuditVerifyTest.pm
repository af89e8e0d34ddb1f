# Helpers the TAP tests share for running audit_verify and comparing what
# it reports with what the server's audit.verify_report() says.
package AuditVerifyTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use Test::More;

our @EXPORT = qw(av problems_of server_report write_file wait_for_startup_event);

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

sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
}

1;
