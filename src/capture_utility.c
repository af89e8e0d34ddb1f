/*-------------------------------------------------------------------------
 *
 * capture_utility.c
 *	  Records utility statements (everything but SELECT and DML: DDL, role
 *	  changes, TRUNCATE, COPY, SET, VACUUM, ...) through the ProcessUtility
 *	  hook, each under its class (classify.c) and as audit.log and the
 *	  exclusions allow (filter.c).
 *
 * The event is written after the statement succeeds, in its transaction.
 * Sub-commands that the server runs on a statement's behalf (the sequence
 * behind a serial column, ...) are not recorded separately: the statement
 * that caused them is.  PREPARE and EXECUTE are left to the executor hook,
 * which sees the real statement when it runs.  The hook also keeps the
 * nesting level (scope.c): statements a DO block or CALL runs are one
 * level below it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "tcop/utility.h"

#include "capture_utility.h"
#include "classify.h"
#include "ddl_objects.h"
#include "event.h"
#include "event_batch.h"
#include "filter.h"
#include "scope.h"
#include "store.h"
#include "utility_database.h"
#include "utility_object.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * May this utility statement be recorded at all (before audit.log and the
 * exclusions are asked)?  Not the statements of an extension script (CREATE
 * EXTENSION is recorded), nor those the server runs on a statement's
 * behalf (the sequence of a serial column: its statement is recorded),
 * nor audit_ext's own.
 */
static bool
utility_may_record(Node *parsetree, ProcessUtilityContext context)
{
	if (context == PROCESS_UTILITY_SUBCOMMAND || creating_extension ||
		audit_in_internal() || !IsTransactionState())
		return false;
	/* CREATE EXTENSION audit_ext is recorded though the trail is not there yet. */
	return audit_store_available() || IsA(parsetree, CreateExtensionStmt);
}

/* The relations a utility statement reads or writes (for exclusions). */
static List *
utility_relids(Node *parsetree)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->relation)
		relids = lappend_oid(relids,
							 RangeVarGetRelid(((CopyStmt *) parsetree)->relation,
											  NoLock, true));
	else if (IsA(parsetree, TruncateStmt))
		foreach(lc, ((TruncateStmt *) parsetree)->relations)
			relids = lappend_oid(relids,
								 RangeVarGetRelid(lfirst_node(RangeVar, lc),
												  NoLock, true));
	return relids;
}

/* Rows a utility statement reports having processed (COPY). */
static bool
utility_rows(Node *parsetree, QueryCompletion *qc, int64 *rows)
{
	if (qc == NULL || !IsA(parsetree, CopyStmt))
		return false;
	*rows = (int64) qc->nprocessed;
	return true;
}

/*
 * Run the statement one nesting level down (but EXECUTE: its statement is
 * the real one).  COPY FROM fires its rows' triggers inside: they come in
 * a batch (event_batch.c).  No other utility statement is batched: CALL
 * may commit in the middle, and a batch must not outlive its transaction.
 */
static void
utility_run(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			ProcessUtilityContext context, ParamListInfo params,
			QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	int			level = audit_scope_level();
	bool		copy = IsA(pstmt->utilityStmt, CopyStmt);

	/* It may drop or rebuild an index of audit.event (event_batch.c). */
	int			utility = audit_event_utility_begin();
	int			batch = copy ? audit_event_batch_begin() : 0;

	PG_TRY();
	{
		if (!IsA(pstmt->utilityStmt, ExecuteStmt))
			audit_scope_enter();
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		if (copy)
			audit_event_batch_end(batch, true);
	}
	PG_CATCH();
	{
		audit_scope_leave(level);
		if (copy)
			audit_event_batch_end(batch, false);
		audit_event_utility_end(utility);
		PG_RE_THROW();
	}
	PG_END_TRY();
	audit_event_utility_end(utility);
	audit_scope_leave(level);
}

static void
audit_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	AuditClass	cls = audit_utility_class(parsetree);
	bool		forced = audit_utility_sets_audit_settings(parsetree);
	bool		candidate;
	AuditEvent	event = {0};
	UtilityObject object = {NULL, NULL};
	int			objects_token;

	audit_scope_top_start();
	candidate = (cls != AUDIT_CLASS_NONE || forced) &&
		utility_may_record(parsetree, context);
	/* Name the target while it still exists (DROP). */
	if (candidate)
		object = audit_utility_object_before(parsetree);

	audit_utility_release_database(parsetree, context);
	/* What event triggers see of its objects (ddl_objects.c). */
	objects_token = audit_ddl_objects_push();
	utility_run(pstmt, queryString, readOnlyTree, context, params, queryEnv,
				dest, qc);
	event.objects = audit_ddl_objects_pop(objects_token);
	audit_utility_wake_launcher(parsetree);

	forced = audit_scope_take_setting_change() || forced;
	/* A COPY FROM or TRUNCATE of tracked rows is recorded with them. */
	if (audit_scope_take_rows())
		forced = true;
	if (!candidate || !audit_can_record() ||
		!audit_statement_wanted(cls, audit_filter_uses_relations() ?
								utility_relids(parsetree) : NIL, forced))
		return;

	event.kind = "statement";
	event.class_name = audit_class_name(cls);
	event.command = GetCommandTagName(CreateCommandTag(parsetree));
	event.object_name = audit_utility_object_after(&object);
	event.statement = audit_statement_text(queryString, pstmt->stmt_location,
										   pstmt->stmt_len);
	event.has_rows = utility_rows(parsetree, qc, &event.rows_affected);
	audit_event_record(&event);
}

void
audit_capture_utility_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = audit_ProcessUtility;
}
