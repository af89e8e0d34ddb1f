/*-------------------------------------------------------------------------
 *
 * capture_utility.c
 *	  Records DDL statements, and the utility statements that write data
 *	  (TRUNCATE, COPY FROM), through the ProcessUtility hook.
 *
 * The event is written after the statement succeeds, in its transaction.
 * Sub-commands that the server runs on a statement's behalf (the sequence
 * behind a serial column, ...) are not recorded separately: the statement
 * that caused them is.  Statements that only wrap another one (PREPARE,
 * EXECUTE, EXPLAIN) are left to the executor hook, which sees the real
 * INSERT/UPDATE/DELETE/MERGE, so nothing is recorded twice.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#include "capture_utility.h"
#include "event.h"
#include "seal_worker.h"
#include "shmem.h"
#include "store.h"
#include "utility_object.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Would a statement that PreventInTransactionBlock() guards run here?
 * If not it fails at once, and must not disturb any sealer first.
 */
static bool
utility_runs_outside_block(ProcessUtilityContext context)
{
	return context == PROCESS_UTILITY_TOPLEVEL &&
		!IsTransactionBlock() && !IsSubTransaction();
}

/* May the current user drop, move or rename database dbid? (owner) */
static bool
utility_owns_database(Oid dbid)
{
	return OidIsValid(dbid) && pg_database_ownercheck(dbid, GetUserId());
}

/*
 * May the current user create a database from template dbid?  As
 * createdb() checks: CREATEDB, and the template is marked as one or the
 * user owns it.
 */
static bool
utility_may_copy_database(Oid dbid)
{
	HeapTuple	tup;
	bool		is_template;

	if (!OidIsValid(dbid) || !have_createdb_privilege())
		return false;
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tup))
		return false;
	is_template = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
	ReleaseSysCache(tup);
	return is_template || utility_owns_database(dbid);
}

/* The template CREATE DATABASE copies: its TEMPLATE option, or template1. */
static const char *
utility_template_name(CreatedbStmt *stmt)
{
	const char *name = "template1";
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "template") == 0 && opt->arg)
			name = defGetString(opt);
	}
	return name;
}

/* Is this ALTER DATABASE ... SET TABLESPACE (which moves the files)? */
static bool
utility_moves_database(AlterDatabaseStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
		if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
			return true;
	return false;
}

/*
 * The database whose sealer must leave before this statement runs, or
 * InvalidOid.  DROP DATABASE, ALTER DATABASE ... RENAME and ... SET
 * TABLESPACE, and CREATE DATABASE (from its template: sealers serve
 * templates too, seal_worker.c) need their database to have no other
 * connections.  Only when the current user may run the statement: stopping
 * a sealer is a privileged act, and must not be available to anyone who
 * can type DROP DATABASE and have it fail.
 */
static Oid
utility_database_to_release(Node *parsetree, ProcessUtilityContext context)
{
	Oid			dbid;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			dbid = get_database_oid(((DropdbStmt *) parsetree)->dbname, true);
			if (utility_runs_outside_block(context) && utility_owns_database(dbid))
				return dbid;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType != OBJECT_DATABASE)
				break;
			dbid = get_database_oid(((RenameStmt *) parsetree)->subname, true);
			if (utility_owns_database(dbid) && have_createdb_privilege())
				return dbid;
			break;
		case T_AlterDatabaseStmt:
			if (!utility_moves_database((AlterDatabaseStmt *) parsetree))
				break;
			dbid = get_database_oid(((AlterDatabaseStmt *) parsetree)->dbname, true);
			if (utility_runs_outside_block(context) && utility_owns_database(dbid))
				return dbid;
			break;
		case T_CreatedbStmt:
			dbid = get_database_oid(utility_template_name((CreatedbStmt *) parsetree),
									true);
			if (utility_runs_outside_block(context) && utility_may_copy_database(dbid))
				return dbid;
			break;
		default:
			break;
	}
	return InvalidOid;
}

/* Make the sealer leave the database this statement needs to itself. */
static void
utility_release_database(Node *parsetree, ProcessUtilityContext context)
{
	Oid			dbid = utility_database_to_release(parsetree, context);

	if (OidIsValid(dbid) && dbid != MyDatabaseId)
		audit_sealer_release_database(dbid);
}

/*
 * After CREATE DATABASE: the new database, which may have audit_ext (from
 * its template), so that the launcher looks at it even if a database that
 * had its OID before was known to have none.  InvalidOid if not found.
 */
static Oid
utility_created_database(CreatedbStmt *stmt)
{
	CommandCounterIncrement();	/* see our own new pg_database row */
	return get_database_oid(stmt->dbname, true);
}

/* Wake the launcher at commit if a database may now need a sealer. */
static void
utility_wake_launcher(Node *parsetree)
{
	if (IsA(parsetree, CreatedbStmt))
		audit_launcher_wake_at_commit(utility_created_database((CreatedbStmt *) parsetree));
	else if (IsA(parsetree, CreateExtensionStmt) &&
			 strcmp(((CreateExtensionStmt *) parsetree)->extname, "audit_ext") == 0)
		audit_launcher_wake_at_commit(MyDatabaseId);
}

/*
 * Is this utility statement one we record?  DDL, and utility statements
 * that modify data, as log_statement classifies them.
 */
static bool
utility_is_audited(Node *parsetree, ProcessUtilityContext context)
{
	LogStmtLevel level;

	/* The statements of an extension script: CREATE EXTENSION is recorded. */
	if (context == PROCESS_UTILITY_SUBCOMMAND || creating_extension)
		return false;
	if (IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, ExplainStmt))
		return false;
	level = GetCommandLogLevel(parsetree);
	return level == LOGSTMT_DDL || level == LOGSTMT_MOD;
}

/* Rows a utility statement reports having written (COPY FROM). */
static bool
utility_rows(Node *parsetree, QueryCompletion *qc, int64 *rows)
{
	if (qc == NULL || !IsA(parsetree, CopyStmt))
		return false;
	*rows = (int64) qc->nprocessed;
	return true;
}

static void
audit_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		audited = false;
	AuditEvent	event = {0};
	UtilityObject object = {NULL, NULL};

	/*
	 * Name the target while it still exists (DROP).  CREATE EXTENSION
	 * audit_ext is recorded although the trail does not exist yet.
	 */
	if (IsTransactionState() && utility_is_audited(parsetree, context) &&
		(audit_store_available() || IsA(parsetree, CreateExtensionStmt)))
	{
		audited = true;
		event.command = GetCommandTagName(CreateCommandTag(parsetree));
		object = audit_utility_object_before(parsetree);
	}

	utility_release_database(parsetree, context);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	utility_wake_launcher(parsetree);

	if (!audited || !audit_can_record())
		return;

	event.kind = "statement";
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
