/*-------------------------------------------------------------------------
 *
 * guard_span.c
 *	  When the extension itself is at work, the guard stands aside.
 *
 * The guard lets three things change what lives in schema audit: the
 * extension's own scripts (CREATE / ALTER EXTENSION audit_ext), rows that
 * the library writes from C without the executor (events, digests,
 * blocks: no hook sees those), and the SQL that runs inside the
 * extension's own SECURITY DEFINER functions (audit.track(), the event
 * triggers, retention, erasure).  The last is told by fmgr_hook, which
 * the server calls on entry to and exit from every SECURITY DEFINER
 * function: a function is one of ours when pg_depend says it belongs to
 * the audit_ext extension.  Calling such a function is the sanctioned
 * path (it checks its input, and is recorded); writing the same rows by
 * hand is not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "utils/lsyscache.h"

#include "guard.h"

#define AUDIT_EXTENSION_NAME	"audit_ext"

/* What fmgr_hook's private datum remembers about a function. */
#define SPAN_UNKNOWN	0
#define SPAN_NOT_OURS	1
#define SPAN_OURS		2

static fmgr_hook_type prev_fmgr_hook = NULL;

/* How many of our SECURITY DEFINER functions are executing now. */
static int	span_depth = 0;

/* Is the function a member of the audit_ext extension? */
static bool
span_function_is_ours(Oid fn_oid)
{
	Oid			extoid = getExtensionOfObject(ProcedureRelationId, fn_oid);

	if (!OidIsValid(extoid))
		return false;
	return extoid == get_extension_oid(AUDIT_EXTENSION_NAME, true);
}

static void
span_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);

	if (event == FHET_START)
	{
		if (DatumGetInt32(*private) == SPAN_UNKNOWN)
			*private = Int32GetDatum(span_function_is_ours(flinfo->fn_oid) ?
									 SPAN_OURS : SPAN_NOT_OURS);
		if (DatumGetInt32(*private) == SPAN_OURS)
			span_depth++;
	}
	else if (DatumGetInt32(*private) == SPAN_OURS && span_depth > 0)
		span_depth--;			/* FHET_END or FHET_ABORT */
}

/* A transaction that ends leaves no function executing. */
static void
span_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		span_depth = 0;
}

/*
 * Is the extension itself at work: its script running, or one of its
 * SECURITY DEFINER functions executing?
 */
bool
audit_guard_sanctioned(void)
{
	if (span_depth > 0)
		return true;
	return creating_extension &&
		CurrentExtensionObject == get_extension_oid(AUDIT_EXTENSION_NAME, true);
}

void
audit_guard_span_init(void)
{
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = span_fmgr_hook;
	RegisterXactCallback(span_xact_callback, NULL);
}
