/*-------------------------------------------------------------------------
 *
 * guard_utility.c
 *	  Utility statements the guard refuses before they run.
 *
 * Most DDL on protected objects is refused by the object access hook
 * (guard.c) as it happens.  These statements are refused up front: the
 * extension and its schema (DROP, ALTER EXTENSION ADD/DROP member; an
 * ALTER EXTENSION UPDATE runs the shipped scripts and passes), DROP of
 * anything protected (the server's own refusal comes first otherwise), the
 * rewrites that raise no object access event for the user (CLUSTER,
 * VACUUM FULL of a named relation: they would also hold the trail's lock
 * for as long as they take), and ALTER TABLE, some of whose subcommands
 * raise none either; and what reaches the trail's rows from a user's
 * table (INHERITS, ATTACH PARTITION, a foreign key).  A database-wide VACUUM FULL still rewrites the
 * trail's tables with the rest: it changes no content.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"

#include "guard.h"
#include "store.h"

#define RESTART_HINT \
	"Start the server with audit.guard = off to do this; the restart is recorded in the trail."

/* The relation a RangeVar names, if it exists and is one of schema audit. */
static bool
utility_names_audit_relation(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return audit_guard_protects_relation(relid);
}

static void
utility_refuse_relation(const char *action, RangeVar *rv, const char *hint)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, false);

	audit_guard_refuse(action, audit_guard_describe(RelationRelationId, relid, 0),
					   hint);
}

/* Does a list of names hold "name" (a DROP's objects, unqualified)? */
static bool
utility_names_include(List *objects, const char *name)
{
	ListCell   *lc;

	foreach(lc, objects)
		if (IsA(lfirst(lc), String) && strcmp(strVal(lfirst(lc)), name) == 0)
			return true;
	return false;
}

/*
 * Objects the DROP names that the guard protects.  The server would refuse
 * to drop most of them alone (the extension requires them), with another
 * SQLSTATE, and without the record a guard refusal makes; an index of a
 * table of the extension it would drop.  Names are resolved as the DROP
 * will resolve them; a missing object is left to the DROP to report.
 */
static void
utility_check_drop_objects(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		Relation	rel = NULL;
		ObjectAddress address;

		address = get_object_address(stmt->removeType, lfirst(lc), &rel,
									 AccessShareLock, true);
		if (rel != NULL)
			relation_close(rel, NoLock);
		if (OidIsValid(address.objectId) &&
			audit_guard_protects(address.classId, address.objectId,
								 address.objectSubId))
			audit_guard_refuse("dropping",
							   audit_guard_describe(address.classId,
													address.objectId,
													address.objectSubId),
							   NULL);
	}
}

static void
utility_check_drop(DropStmt *stmt)
{
	if (stmt->removeType == OBJECT_EXTENSION &&
		utility_names_include(stmt->objects, "audit_ext") &&
		OidIsValid(get_extension_oid("audit_ext", true)))
		audit_guard_refuse("DROP EXTENSION", "audit_ext", RESTART_HINT);
	if (stmt->removeType == OBJECT_SCHEMA &&
		utility_names_include(stmt->objects, "audit") &&
		OidIsValid(audit_store_namespace()))
		audit_guard_refuse("DROP SCHEMA", "audit", RESTART_HINT);
	utility_check_drop_objects(stmt);
}

static bool
vacuum_is_full(VacuumStmt *stmt)
{
	ListCell   *lc;

	if (!stmt->is_vacuumcmd)
		return false;
	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "full") == 0 && defGetBoolean(opt))
			return true;
	}
	return false;
}

static void
utility_check_vacuum_full(VacuumStmt *stmt)
{
	ListCell   *lc;

	if (!vacuum_is_full(stmt))
		return;
	foreach(lc, stmt->rels)
	{
		VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);

		if (utility_names_audit_relation(vrel->relation))
			utility_refuse_relation("VACUUM FULL of", vrel->relation, NULL);
	}
}

/* A foreign key whose referenced table is one of schema audit. */
static bool
constraint_references_audit(Node *node)
{
	Constraint *con = (Constraint *) node;

	return IsA(node, Constraint) && con->contype == CONSTR_FOREIGN &&
		utility_names_audit_relation(con->pktable);
}

/*
 * Ways to reach the trail's rows through a user's table: inheriting from,
 * or being the partitioned parent of, a relation of schema audit (writes
 * to the parent reach the child without a permission check on it), or a
 * foreign key to one (its cascades and triggers act on the trail).
 */
static void
utility_check_create(CreateStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->inhRelations)
		if (utility_names_audit_relation(lfirst_node(RangeVar, lc)))
			utility_refuse_relation("inheriting from", lfirst_node(RangeVar, lc), NULL);
	foreach(lc, stmt->constraints)
		if (constraint_references_audit(lfirst(lc)))
			utility_refuse_relation("a foreign key to",
									((Constraint *) lfirst(lc))->pktable, NULL);
	foreach(lc, stmt->tableElts)
	{
		ListCell   *c;

		if (!IsA(lfirst(lc), ColumnDef))
			continue;
		foreach(c, ((ColumnDef *) lfirst(lc))->constraints)
			if (constraint_references_audit(lfirst(c)))
				utility_refuse_relation("a foreign key to",
										((Constraint *) lfirst(c))->pktable, NULL);
	}
}

/* ALTER TABLE of a user's table: ATTACH/DETACH of ours, a foreign key to ours. */
static void
utility_check_alter_table(AlterTableStmt *stmt)
{
	ListCell   *lc;

	if (utility_names_audit_relation(stmt->relation))
		utility_refuse_relation("ALTER of", stmt->relation, NULL);
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if ((cmd->subtype == AT_AttachPartition ||
			 cmd->subtype == AT_DetachPartition) &&
			utility_names_audit_relation(((PartitionCmd *) cmd->def)->name))
			utility_refuse_relation("attaching or detaching",
									((PartitionCmd *) cmd->def)->name, NULL);
		if (cmd->subtype == AT_AddInherit &&
			utility_names_audit_relation((RangeVar *) cmd->def))
			utility_refuse_relation("inheriting from", (RangeVar *) cmd->def, NULL);
		if (cmd->subtype == AT_AddConstraint && cmd->def &&
			constraint_references_audit(cmd->def))
			utility_refuse_relation("a foreign key to",
									((Constraint *) cmd->def)->pktable, NULL);
	}
}

/*
 * Is it a VACUUM FULL or CLUSTER of the whole database?  It rewrites the
 * trail's tables with the rest (the server creates, swaps and drops
 * transient relations in schema audit meanwhile), changing no content.
 */
bool
audit_guard_rewrites_all(Node *parsetree)
{
	if (IsA(parsetree, VacuumStmt))
		return vacuum_is_full((VacuumStmt *) parsetree) &&
			((VacuumStmt *) parsetree)->rels == NIL;
	if (IsA(parsetree, ClusterStmt))
		return ((ClusterStmt *) parsetree)->relation == NULL;
	return false;
}

/* Refuse a utility statement that must not start; the guard is active. */
void
audit_guard_check_utility(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			utility_check_drop((DropStmt *) parsetree);
			break;
		case T_AlterExtensionContentsStmt:
			if (strcmp(((AlterExtensionContentsStmt *) parsetree)->extname,
					   "audit_ext") == 0 && OidIsValid(audit_store_namespace()))
				audit_guard_refuse("ALTER EXTENSION ADD/DROP on", "audit_ext",
								   RESTART_HINT);
			break;
		case T_VacuumStmt:
			utility_check_vacuum_full((VacuumStmt *) parsetree);
			break;
		case T_ClusterStmt:
			if (utility_names_audit_relation(((ClusterStmt *) parsetree)->relation))
				utility_refuse_relation("CLUSTER of",
										((ClusterStmt *) parsetree)->relation, NULL);
			break;
		case T_AlterTableStmt:
			utility_check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_CreateStmt:
			utility_check_create((CreateStmt *) parsetree);
			break;
		default:
			break;
	}
}
