/*-------------------------------------------------------------------------
 *
 * av_report.c
 *	  audit_verify: one line per problem on standard output.
 *
 *	  PROBLEM: block B, txid X, event E: detail
 *
 * PROBLEM is one of the names audit.verify_report() uses ('event altered',
 * 'chain broken', ...), and the parts of the location that do not apply
 * are left out, so the lines can be compared with the server's report.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <stdarg.h>

static int64 problem_count = 0;

void
av_problem(const AvWhere *w, const char *problem, const char *fmt,...)
{
	va_list		ap;
	const char *sep = ": ";

	problem_count++;
	printf("%s", problem);
	if (w != NULL && w->block_id >= 0)
	{
		printf("%sblock " INT64_FORMAT, sep, w->block_id);
		sep = ", ";
	}
	if (w != NULL && w->txid != 0)
	{
		printf("%stxid " UINT64_FORMAT, sep, w->txid);
		sep = ", ";
	}
	if (w != NULL && w->event_id >= 0)
		printf("%sevent " INT64_FORMAT, sep, w->event_id);
	printf(": ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int64
av_problem_count(void)
{
	return problem_count;
}

/* "FAILED: N problems (what)", the last line when something was found. */
void
av_summary_failed(const char *what)
{
	printf("FAILED: " INT64_FORMAT " problem%s%s%s%s\n", problem_count,
		   problem_count == 1 ? "" : "s",
		   what ? " (" : "", what ? what : "", what ? ")" : "");
}

/* Push out what was printed; a failure to write is an I/O error. */
void
av_flush_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		fprintf(stderr, "audit_verify: error: could not write to standard output\n");
		exit(AV_EXIT_ERROR);
	}
}
