/*-------------------------------------------------------------------------
 *
 * capture_function.c
 *	  Records calls of functions (the "function" class of audit.log)
 *	  through the object access hook.
 *
 * The executor announces each function a statement will call
 * (OAT_FUNCTION_EXECUTE) once, when it sets up the expression, not once
 * per row.  Functions of the system schemas (pg_catalog,
 * information_schema) and audit_ext's own are not recorded: every
 * statement calls some, and they say nothing about what the user did.
 * The event names the function with its argument types; its statement is
 * the top-level statement being run, and its statement id ties it to the
 * events of that statement.  DO and CALL are recorded by the utility hook
 * under the same class.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_namespace.h"
#include "tcop/tcopprot.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "capture_function.h"
#include "classify.h"
#include "event.h"
#include "filter.h"
#include "scope.h"

static object_access_hook_type prev_object_access_hook = NULL;

/* Is the function one whose calls are worth recording? */
static bool
function_is_user(Oid funcid)
{
	Oid			nsp = get_func_namespace(funcid);

	return OidIsValid(nsp) && nsp != PG_CATALOG_NAMESPACE &&
		nsp != get_namespace_oid("information_schema", true) &&
		nsp != get_namespace_oid("audit", true);
}

static void
function_record(Oid funcid)
{
	AuditEvent	event = {0};

	if (!audit_class_enabled(AUDIT_CLASS_FUNCTION) || audit_in_internal() ||
		audit_scope_explain_only() ||
		!function_is_user(funcid) || !audit_can_record() ||
		!audit_statement_wanted(AUDIT_CLASS_FUNCTION, NIL, false))
		return;

	event.kind = "statement";
	event.class_name = audit_class_name(AUDIT_CLASS_FUNCTION);
	event.command = "EXECUTE FUNCTION";
	event.object_name = format_procedure_qualified(funcid);
	event.statement = audit_statement_text(debug_query_string, -1, 0);
	audit_event_record(&event);
}

static void
audit_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_FUNCTION_EXECUTE)
		function_record(objectId);
}

void
audit_capture_function_init(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = audit_object_access;
}
