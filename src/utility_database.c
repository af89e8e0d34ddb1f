/*-------------------------------------------------------------------------
 *
 * utility_database.c
 *	  What a utility statement about a whole database needs from the
 *	  sealers: DROP DATABASE, CREATE DATABASE from a template, ALTER
 *	  DATABASE ... RENAME / SET TABLESPACE need their database free of the
 *	  sealer's connection first; CREATE DATABASE and CREATE EXTENSION
 *	  audit_ext may need a new sealer (the launcher is woken at commit).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/syscache.h"

#include "seal_worker.h"
#include "shmem.h"
#include "utility_database.h"

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
void
audit_utility_release_database(Node *parsetree, ProcessUtilityContext context)
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
void
audit_utility_wake_launcher(Node *parsetree)
{
	if (IsA(parsetree, CreatedbStmt))
		audit_launcher_wake_at_commit(utility_created_database((CreatedbStmt *) parsetree));
	else if (IsA(parsetree, CreateExtensionStmt) &&
			 strcmp(((CreateExtensionStmt *) parsetree)->extname, "audit_ext") == 0)
		audit_launcher_wake_at_commit(MyDatabaseId);
}
