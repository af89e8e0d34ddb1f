/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The append-only guard: no role, superusers included, may change what
 *	  lives in schema audit through SQL.
 *
 * Three hooks see every way in:
 *	- ExecutorCheckPerms_hook: INSERT, UPDATE, DELETE, MERGE, SELECT ... FOR
 *	  UPDATE on a relation of schema audit, and COPY FROM into one (COPY
 *	  checks its permissions through the same hook);
 *	- object_access_hook: CREATE of anything in the schema or on its
 *	  relations (triggers, rules, policies, indexes, columns), ALTER,
 *	  RENAME, OWNER TO, DROP, TRUNCATE of anything protected
 *	  (guard_object.c says what is);
 *	- ProcessUtility_hook: what must be stopped before it starts, or that
 *	  no object access event reports (guard_utility.c): DROP / ALTER
 *	  EXTENSION audit_ext, DROP SCHEMA audit, CLUSTER and VACUUM FULL of
 *	  a relation of the schema, ALTER TABLE.  A VACUUM FULL or CLUSTER of
 *	  the whole database passes: it rewrites the trail, changing nothing.
 * The extension's own code paths pass (guard_span.c).  Each refusal is an
 * error with SQLSTATE 42501 whose message names the guard, and is recorded
 * as an error event that survives the rollback (session_events.c), even
 * if the session has silenced its server log.
 *
 * audit.guard (on by default) can be turned off only at server start, so
 * that dropping the extension takes a restart, which the trail records.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "guard.h"
#include "session_events.h"

bool		audit_guard = true;

static ExecutorCheckPerms_hook_type prev_check_perms = NULL;
static object_access_hook_type prev_object_access = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* A database-wide VACUUM FULL or CLUSTER is running (guard_utility.c). */
static bool guard_rewriting_all = false;

/* Is the guard to judge writes to the trail's rows, now? */
static bool
guard_active(void)
{
	return audit_guard && IsTransactionState() && !audit_guard_sanctioned();
}

/*
 * And changes to its objects?  Not while a database-wide rewrite makes its
 * transient relations (rows stay guarded: an index expression evaluated
 * meanwhile gets no pass).
 */
static bool
guard_active_for_objects(void)
{
	return guard_active() && !guard_rewriting_all;
}

static void
guard_run_utility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
audit_guard_refuse(const char *action, const char *target, const char *hint)
{
	char	   *message = psprintf("audit_ext guard: %s %s is refused",
								   action, target);
	const char *detail = "The audit trail is append-only: no role, superusers included, may change it through SQL.";

	audit_session_record_refusal(message, detail);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg_internal("%s", message),
			 errdetail_internal("%s", detail),
			 hint ? errhint("%s", hint) : 0));
}

/* The verb of a range table entry's write permissions. */
static const char *
guard_write_verb(const RangeTblEntry *rte)
{
	if (rte->requiredPerms & ACL_INSERT)
		return "INSERT into";
	if (rte->requiredPerms & ACL_DELETE)
		return "DELETE from";
	return rte->rellockmode == RowShareLock ? "locking rows of" : "UPDATE of";
}

static bool
guard_check_perms(List *rangeTable, bool ereport_on_violation)
{
	ListCell   *lc;

	if (prev_check_perms &&
		!prev_check_perms(rangeTable, ereport_on_violation))
		return false;
	if (!guard_active())
		return true;
	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION ||
			!(rte->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) ||
			!audit_guard_protects_relation(rte->relid))
			continue;
		if (!ereport_on_violation)
			return false;
		audit_guard_refuse(guard_write_verb(rte),
						   audit_guard_describe(RelationRelationId, rte->relid, 0),
						   NULL);
	}
	return true;
}

/* Was the object access the user's doing, or an internal consequence? */
static bool
guard_access_is_internal(ObjectAccessType access, void *arg)
{
	switch (access)
	{
		case OAT_POST_CREATE:
			return arg && ((ObjectAccessPostCreate *) arg)->is_internal;
		case OAT_POST_ALTER:
			return arg && ((ObjectAccessPostAlter *) arg)->is_internal;
		case OAT_DROP:
			return arg &&
				(((ObjectAccessDrop *) arg)->dropflags & PERFORM_DELETION_INTERNAL);
		case OAT_TRUNCATE:
			return false;
		default:
			return true;		/* lookups and function calls: not ours to judge */
	}
}

static const char *
guard_access_verb(ObjectAccessType access)
{
	switch (access)
	{
		case OAT_POST_CREATE:
			return "creating";
		case OAT_DROP:
			return "dropping";
		case OAT_TRUNCATE:
			return "TRUNCATE of";
		default:
			return "altering";
	}
}

static void
guard_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (guard_access_is_internal(access, arg) || !guard_active_for_objects() ||
		!audit_guard_protects(classId, objectId, subId))
		return;
	audit_guard_refuse(guard_access_verb(access),
					   audit_guard_describe(classId, objectId, subId), NULL);
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	bool		rewrites_all = audit_guard_rewrites_all(pstmt->utilityStmt);

	if (guard_active_for_objects())
		audit_guard_check_utility(pstmt->utilityStmt);
	if (!rewrites_all || guard_rewriting_all)
	{
		guard_run_utility(pstmt, queryString, readOnlyTree, context, params,
						  queryEnv, dest, qc);
		return;
	}
	/* Its transient relations in schema audit are the server's doing. */
	guard_rewriting_all = true;
	PG_TRY();
	{
		guard_run_utility(pstmt, queryString, readOnlyTree, context, params,
						  queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		guard_rewriting_all = false;
	}
	PG_END_TRY();
}

void
audit_guard_define_settings(void)
{
	DefineCustomBoolVariable("audit.guard",
							 "Refuses changes to the audit schema through SQL, to every role.",
							 "Only the server's start reads it: turning the guard off (to drop "
							 "the extension, or restore a dump) takes a restart, which the trail records.",
							 &audit_guard,
							 true,
							 PGC_POSTMASTER, 0,
							 NULL, NULL, NULL);
}

void
audit_guard_init(void)
{
	audit_guard_span_init();
	prev_check_perms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = guard_check_perms;
	prev_object_access = object_access_hook;
	object_access_hook = guard_object_access;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_process_utility;
}
