/*-------------------------------------------------------------------------
 *
 * classify.c
 *	  Which class of audit.log a statement belongs to.
 *
 * The classes are pgAudit's:
 *	ddl			CREATE, ALTER, DROP, COMMENT, ... (log_statement's "ddl"),
 *				except what is "role"
 *	write		INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY FROM
 *	read		SELECT, COPY TO, DECLARE CURSOR, FETCH, MOVE, CLOSE
 *	role		GRANT, REVOKE, CREATE/ALTER/DROP ROLE, ALTER DEFAULT
 *				PRIVILEGES, REASSIGN OWNED, SET ROLE, SET SESSION
 *				AUTHORIZATION
 *	function	DO, CALL, and calls of functions outside the system schemas
 *	misc		VACUUM, ANALYZE, CHECKPOINT, LOCK, CLUSTER, REINDEX, DISCARD,
 *				LISTEN, NOTIFY, LOAD, EXPLAIN, ...
 *	misc_set	SET, RESET, SHOW
 *
 * Statements of the executor (SELECT and DML) are classified where they are
 * captured, from the plan; this file classifies utility statements.  A few
 * are never recorded: transaction control (the transaction itself is the
 * unit of the trail: audit.transactions), and PREPARE and EXECUTE, whose
 * real statement is recorded by the executor hook when it runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "classify.h"

static const struct
{
	AuditClass	cls;
	const char *name;
}			class_names[] = {
	{AUDIT_CLASS_DDL, "ddl"},
	{AUDIT_CLASS_WRITE, "write"},
	{AUDIT_CLASS_READ, "read"},
	{AUDIT_CLASS_ROLE, "role"},
	{AUDIT_CLASS_FUNCTION, "function"},
	{AUDIT_CLASS_MISC, "misc"},
	{AUDIT_CLASS_MISC_SET, "misc_set"},
	{AUDIT_CLASS_ALL, "all"},
	{AUDIT_CLASS_NONE, "none"},
};

const char *
audit_class_name(AuditClass cls)
{
	for (size_t i = 0; i < lengthof(class_names); i++)
		if (class_names[i].cls == cls)
			return class_names[i].name;
	return NULL;
}

/* The class (or "all", "none") of a lower-case name; -1 if unknown. */
AuditClass
audit_class_from_name(const char *name)
{
	for (size_t i = 0; i < lengthof(class_names); i++)
		if (strcmp(class_names[i].name, name) == 0)
			return class_names[i].cls;
	return (AuditClass) -1;
}

/* SET ROLE and SET SESSION AUTHORIZATION change who acts: "role". */
static AuditClass
variable_class(VariableSetStmt *stmt)
{
	if (stmt->name != NULL &&
		(strcmp(stmt->name, "role") == 0 ||
		 strcmp(stmt->name, "session_authorization") == 0))
		return AUDIT_CLASS_ROLE;
	return AUDIT_CLASS_MISC_SET;
}

AuditClass
audit_utility_class(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_TransactionStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
			return AUDIT_CLASS_NONE;
		case T_GrantStmt:
		case T_GrantRoleStmt:
		case T_CreateRoleStmt:
		case T_AlterRoleStmt:
		case T_AlterRoleSetStmt:
		case T_DropRoleStmt:
		case T_AlterDefaultPrivilegesStmt:
		case T_ReassignOwnedStmt:
			return AUDIT_CLASS_ROLE;
		case T_VariableSetStmt:
			return variable_class((VariableSetStmt *) parsetree);
		case T_VariableShowStmt:
			return AUDIT_CLASS_MISC_SET;
		case T_TruncateStmt:
			return AUDIT_CLASS_WRITE;
		case T_CopyStmt:
			return ((CopyStmt *) parsetree)->is_from ?
				AUDIT_CLASS_WRITE : AUDIT_CLASS_READ;
		case T_DoStmt:
		case T_CallStmt:
			return AUDIT_CLASS_FUNCTION;
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
			return AUDIT_CLASS_READ;
		case T_ExplainStmt:
			return AUDIT_CLASS_MISC;
		default:
			break;
	}

	switch (GetCommandLogLevel(parsetree))
	{
		case LOGSTMT_DDL:
			return AUDIT_CLASS_DDL;
		case LOGSTMT_MOD:
			return AUDIT_CLASS_WRITE;
		default:
			return AUDIT_CLASS_MISC;
	}
}

/*
 * A setting that says what is recorded: audit.*, log_min_messages (above
 * "error", failed statements are never seen), and session_replication_role
 * (replica silences ordinary triggers, and thereby hand-written audit
 * triggers; ours fire anyway).  audit.app_user and audit.context say on
 * whose behalf, are anyone's to set, and appear in every event that
 * follows: their changes are not forced into the trail.
 */
static bool
is_audit_setting(const char *name)
{
	if (name == NULL)
		return false;
	/* Errors reach the trail through the server log's reporting. */
	if (pg_strcasecmp(name, "log_min_messages") == 0 ||
		pg_strcasecmp(name, "session_replication_role") == 0)
		return true;
	return pg_strncasecmp(name, "audit.", 6) == 0 &&
		pg_strcasecmp(name, "audit.app_user") != 0 &&
		pg_strcasecmp(name, "audit.context") != 0;
}

/* Does an ALTER TABLE enable or disable triggers (any, ours included)? */
static bool
alter_table_switches_triggers(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		switch (lfirst_node(AlterTableCmd, lc)->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableAlwaysTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				return true;
			default:
				break;
		}
	}
	return false;
}

/*
 * Does the statement change what is recorded: an audit.* setting (or
 * another of is_audit_setting's) for the session, a role, a database or
 * the server, a trigger switched on or off, or a library loaded into the
 * session?  Such a statement is recorded whatever audit.log and the
 * exclusions say, so that switching auditing off is on record.
 */
bool
audit_utility_sets_audit_settings(Node *parsetree)
{
	VariableSetStmt *set = NULL;

	switch (nodeTag(parsetree))
	{
		case T_LoadStmt:
			return true;
		case T_AlterTableStmt:
			return alter_table_switches_triggers((AlterTableStmt *) parsetree);
		case T_VariableSetStmt:
			set = (VariableSetStmt *) parsetree;
			/* RESET ALL resets audit settings too */
			return set->kind == VAR_RESET_ALL || is_audit_setting(set->name);
		case T_AlterRoleSetStmt:
			set = ((AlterRoleSetStmt *) parsetree)->setstmt;
			break;
		case T_AlterDatabaseSetStmt:
			set = ((AlterDatabaseSetStmt *) parsetree)->setstmt;
			break;
		case T_AlterSystemStmt:
			set = ((AlterSystemStmt *) parsetree)->setstmt;
			break;
		default:
			return false;
	}
	return set != NULL &&
		(set->kind == VAR_RESET_ALL || is_audit_setting(set->name));
}
