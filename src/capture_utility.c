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

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "tcop/utility.h"

#include "capture_utility.h"
#include "event.h"
#include "seal_worker.h"
#include "shmem.h"
#include "store.h"
#include "utility_object.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE need the database to have no connections: the
 * sealer connected to it leaves first.
 */
static void
utility_release_database(Node *parsetree)
{
	const char *dbname = NULL;
	ListCell   *lc;
	Oid			dbid;

	if (IsA(parsetree, DropdbStmt))
		dbname = ((DropdbStmt *) parsetree)->dbname;
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		dbname = ((RenameStmt *) parsetree)->subname;
	else if (IsA(parsetree, AlterDatabaseStmt))
		dbname = ((AlterDatabaseStmt *) parsetree)->dbname;
	else if (IsA(parsetree, CreatedbStmt))
	{
		foreach(lc, ((CreatedbStmt *) parsetree)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "template") == 0 && opt->arg)
				dbname = defGetString(opt);
		}
	}
	if (dbname == NULL)
		return;
	dbid = get_database_oid(dbname, true);
	if (OidIsValid(dbid) && dbid != MyDatabaseId)
		audit_sealer_release_database(dbid);
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

	utility_release_database(parsetree);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	/* A database may now need a sealer. */
	if (IsA(parsetree, CreatedbStmt) ||
		(IsA(parsetree, CreateExtensionStmt) &&
		 strcmp(((CreateExtensionStmt *) parsetree)->extname, "audit_ext") == 0))
		audit_launcher_wake_at_commit();

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
