/*-------------------------------------------------------------------------
 *
 * capture_dml.c
 *	  Records INSERT, UPDATE, DELETE and MERGE statements through the
 *	  ExecutorEnd hook, once they have run to completion.
 *
 * ExecutorEnd is reached only by a statement that finished: a failing one
 * goes through transaction abort instead, and leaves nothing.  EXPLAIN
 * without ANALYZE starts and ends the executor without running it, and is
 * not a write.  A SELECT whose WITH clause modifies data is recorded under
 * the command of its data-modifying part.
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

#include "capture_dml.h"
#include "event.h"

static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* The first ModifyTable node among the statement's plans, if any. */
static ModifyTable *
dml_modify_node(PlannedStmt *pstmt)
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
dml_command_name(CmdType operation)
{
	switch (operation)
	{
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

/*
 * The table the statement names as its target (for a partitioned or
 * inherited table, the parent named in the query), schema-qualified.
 */
static char *
dml_target_name(PlannedStmt *pstmt, ModifyTable *mt)
{
	Index		rti = 0;
	Oid			relid;

	if (mt != NULL)
		rti = mt->nominalRelation;
	else if (pstmt->resultRelations != NIL)
		rti = linitial_int(pstmt->resultRelations);
	if (rti == 0 || rti > (Index) list_length(pstmt->rtable))
		return NULL;
	relid = rt_fetch(rti, pstmt->rtable)->relid;
	if (!OidIsValid(relid))
		return NULL;
	return pstrdup(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
}

/*
 * Record the statement of queryDesc if it wrote data.
 */
static void
dml_record(QueryDesc *queryDesc)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	ModifyTable *mt;
	AuditEvent	event = {0};

	if (queryDesc->estate == NULL ||
		(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;
	if (queryDesc->operation == CMD_SELECT && !pstmt->hasModifyingCTE)
		return;
	if (queryDesc->operation != CMD_SELECT &&
		dml_command_name(queryDesc->operation) == NULL)
		return;
	if (!audit_can_record())
		return;

	mt = dml_modify_node(pstmt);
	event.kind = "statement";
	event.command = dml_command_name(queryDesc->operation != CMD_SELECT ?
									 queryDesc->operation :
									 (mt ? mt->operation : CMD_UNKNOWN));
	if (event.command == NULL)
		event.command = GetCommandTagName(CreateCommandTag((Node *) pstmt));
	event.object_name = dml_target_name(pstmt, mt);
	event.statement = audit_statement_text(queryDesc->sourceText,
										   pstmt->stmt_location,
										   pstmt->stmt_len);
	/* For a modifying CTE es_processed counts the SELECT's rows: unknown. */
	event.has_rows = (queryDesc->operation != CMD_SELECT);
	event.rows_affected = (int64) queryDesc->estate->es_processed;
	audit_event_record(&event);
}

static void
audit_ExecutorEnd(QueryDesc *queryDesc)
{
	dml_record(queryDesc);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

void
audit_capture_dml_init(void)
{
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = audit_ExecutorEnd;
}
