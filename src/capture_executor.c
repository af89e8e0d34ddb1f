/*-------------------------------------------------------------------------
 *
 * capture_executor.c
 *	  Records SELECT, INSERT, UPDATE, DELETE and MERGE statements through
 *	  the executor hooks, once they have run to completion.
 *
 * ExecutorEnd is reached only by a statement that finished: a failing one
 * goes through transaction abort instead (and is recorded as an error by
 * session_events.c).  EXPLAIN without ANALYZE starts and ends the executor
 * without running it, and is not recorded here.  A SELECT whose WITH clause
 * modifies data is a write, recorded under the command of its modifying
 * part.  The statement recorded is the one that ran: for a prepared
 * statement or the extended protocol, its text; with audit.log_parameters,
 * its bind parameters too.
 *
 * ExecutorRun and ExecutorFinish take the nesting level one down while they
 * run: statements that functions and triggers run are nested ones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "capture_executor.h"
#include "classify.h"
#include "event.h"
#include "event_batch.h"
#include "event_params.h"
#include "filter.h"
#include "scope.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* The first ModifyTable node among the statement's plans, if any. */
static ModifyTable *
exec_modify_node(PlannedStmt *pstmt)
{
	ListCell   *lc;

	if (pstmt->planTree && IsA(pstmt->planTree, ModifyTable))
		return (ModifyTable *) pstmt->planTree;
	foreach(lc, pstmt->subplans)
	{
		Plan	   *plan = lfirst(lc);

		if (plan && IsA(plan, ModifyTable))
			return (ModifyTable *) plan;
	}
	return NULL;
}

static const char *
exec_command_name(CmdType operation)
{
	switch (operation)
	{
		case CMD_SELECT:
			return "SELECT";
		case CMD_INSERT:
			return "INSERT";
		case CMD_UPDATE:
			return "UPDATE";
		case CMD_DELETE:
			return "DELETE";
		case CMD_MERGE:
			return "MERGE";
		default:
			return NULL;
	}
}

/* The relation of range table entry rti, schema-qualified; NULL if none. */
static char *
exec_relation_name(PlannedStmt *pstmt, Index rti)
{
	Oid			relid;

	if (rti == 0 || rti > (Index) list_length(pstmt->rtable))
		return NULL;
	relid = rt_fetch(rti, pstmt->rtable)->relid;
	if (!OidIsValid(relid))
		return NULL;
	return pstrdup(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
}

/*
 * The object a statement acts on: the table it writes, as named in the
 * query (for a partitioned or inherited table, the parent); for a SELECT,
 * the first table it reads.
 */
static char *
exec_object_name(PlannedStmt *pstmt, ModifyTable *mt)
{
	ListCell   *lc;
	Index		rti = 0;

	if (mt != NULL)
		return exec_relation_name(pstmt, mt->nominalRelation);
	if (pstmt->resultRelations != NIL)
		return exec_relation_name(pstmt, linitial_int(pstmt->resultRelations));
	foreach(lc, pstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind == RTE_RELATION && rte->requiredPerms != 0)
			return exec_relation_name(pstmt, rti);
	}
	return NULL;
}

/* The relations the statement names (not inheritance children). */
static List *
exec_relids(PlannedStmt *pstmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, pstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->requiredPerms != 0)
			relids = list_append_unique_oid(relids, rte->relid);
	}
	return relids;
}

/* read or write; NONE for what is not recorded here. */
static AuditClass
exec_class(QueryDesc *queryDesc)
{
	if (queryDesc->estate == NULL ||
		(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return AUDIT_CLASS_NONE;
	if (queryDesc->operation == CMD_SELECT)
		return queryDesc->plannedstmt->hasModifyingCTE ?
			AUDIT_CLASS_WRITE : AUDIT_CLASS_READ;
	return exec_command_name(queryDesc->operation) ?
		AUDIT_CLASS_WRITE : AUDIT_CLASS_NONE;
}

/*
 * Record the statement of queryDesc, if audit.log and the exclusions want
 * it.
 */
static void
exec_record(QueryDesc *queryDesc)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	AuditClass	cls = exec_class(queryDesc);
	bool		forced = audit_scope_take_setting_change();
	ModifyTable *mt;
	AuditEvent	event = {0};

	/* A statement that changed tracked rows is recorded with them. */
	if (audit_scope_take_rows())
		forced = true;

	if (cls == AUDIT_CLASS_NONE || audit_in_internal() ||
		(!forced && !audit_class_enabled(cls)) || !audit_can_record() ||
		!audit_statement_wanted(cls, audit_filter_uses_relations() ?
								exec_relids(pstmt) : NIL, forced))
		return;

	mt = exec_modify_node(pstmt);
	event.kind = "statement";
	event.class_name = audit_class_name(cls);
	event.command = exec_command_name(queryDesc->operation != CMD_SELECT ?
									  queryDesc->operation :
									  (mt ? mt->operation : CMD_SELECT));
	event.object_name = exec_object_name(pstmt, mt);
	event.statement = audit_statement_text(queryDesc->sourceText,
										   pstmt->stmt_location,
										   pstmt->stmt_len);
	/* For a modifying CTE es_processed counts the SELECT's rows: unknown. */
	event.has_rows = !(queryDesc->operation == CMD_SELECT && mt != NULL);
	event.rows_affected = (int64) queryDesc->estate->es_processed;
	if (audit_log_parameters)
		event.parameters = audit_params_json(queryDesc->params,
											 audit_log_parameter_max_bytes);
	audit_event_record(&event);
}

/*
 * A new top-level statement starts here.  Under EXPLAIN without ANALYZE
 * the plan is set up but never run: the function calls it announces while
 * being set up are not calls (capture_function.c).
 */
static void
audit_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	bool		was = audit_scope_set_explain_only(explain_only);

	audit_scope_top_start();
	PG_TRY();
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_FINALLY();
	{
		(void) audit_scope_set_explain_only(was);
	}
	PG_END_TRY();
}

static void
audit_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
				  uint64 count, bool execute_once)
{
	int			level = audit_scope_level();

	PG_TRY();
	{
		audit_scope_enter();
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		audit_scope_leave(level);
	}
	PG_END_TRY();
}

/* The statement's AFTER triggers fire here: row events come in a batch. */
static void
audit_ExecutorFinish(QueryDesc *queryDesc)
{
	int			level = audit_scope_level();
	int			batch = audit_event_batch_begin();

	PG_TRY();
	{
		audit_scope_enter();
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
		audit_event_batch_end(batch, true);
	}
	PG_CATCH();
	{
		audit_scope_leave(level);
		audit_event_batch_end(batch, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	audit_scope_leave(level);
}

static void
audit_ExecutorEnd(QueryDesc *queryDesc)
{
	exec_record(queryDesc);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

void
audit_capture_executor_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = audit_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = audit_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = audit_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = audit_ExecutorEnd;
}
