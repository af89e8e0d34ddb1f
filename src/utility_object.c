/*-------------------------------------------------------------------------
 *
 * utility_object.c
 *	  Naming the object a utility statement acts on, schema-qualified.
 *
 * Objects that a statement drops must be named before it runs, objects it
 * creates only after; both halves are here.  Statements whose target is not
 * a simple name are left unnamed (object_name NULL) rather than guessed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "utility_object.h"

/*
 * A relation's name qualified with the schema it resolves to now, or as
 * written when it does not resolve (e.g. DROP TABLE IF EXISTS of nothing).
 */
static char *
qualify_relation(const RangeVar *rv)
{
	Oid			relid;

	if (rv->schemaname != NULL)
		return pstrdup(quote_qualified_identifier(rv->schemaname, rv->relname));
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		return pstrdup(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  rv->relname));
	return pstrdup(quote_identifier(rv->relname));
}

/*
 * A routine named by a DROP, qualified with the schema it resolves to, or
 * as written when it does not resolve (DROP FUNCTION IF EXISTS).
 */
static char *
qualify_routine(ObjectType type, ObjectWithArgs *owa)
{
	Oid			funcid;

	if (list_length(owa->objname) != 1)
		return NameListToQuotedString(owa->objname);
	funcid = LookupFuncWithArgs(type, owa, true);
	if (!OidIsValid(funcid))
		return NameListToQuotedString(owa->objname);
	return pstrdup(quote_qualified_identifier(get_namespace_name(get_func_namespace(funcid)),
											  strVal(linitial(owa->objname))));
}

/* A name being created: qualified with the schema it will be created in. */
static char *
qualify_created(List *names)
{
	char	   *objname;
	Oid			nspid = QualifiedNameGetCreationNamespace(names, &objname);

	return pstrdup(quote_qualified_identifier(get_namespace_name(nspid), objname));
}

/*
 * A list of names (a.b.c), or of type names and names (casts, transforms:
 * "int4, text").
 */
static char *
name_list(List *names)
{
	StringInfoData buf;
	ListCell   *lc;
	bool		all_strings = true;

	foreach(lc, names)
		if (!IsA(lfirst(lc), String))
			all_strings = false;
	if (all_strings)
		return NameListToQuotedString(names);

	initStringInfo(&buf);
	foreach(lc, names)
	{
		Node	   *n = lfirst(lc);

		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		if (IsA(n, TypeName))
			appendStringInfoString(&buf, TypeNameToString((TypeName *) n));
		else if (IsA(n, String))
			appendStringInfoString(&buf, quote_identifier(strVal(n)));
	}
	return buf.data;
}

/* One object of a DROP, by the node form its kind uses. */
static char *
name_drop_object(ObjectType type, Node *object)
{
	switch (type)
	{
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_INDEX:
		case OBJECT_SEQUENCE:
		case OBJECT_FOREIGN_TABLE:
			return qualify_relation(makeRangeVarFromNameList(castNode(List, object)));
		default:
			break;
	}
	if (IsA(object, List))
		return name_list(castNode(List, object));
	if (IsA(object, String))
		return pstrdup(quote_identifier(strVal(object)));
	if (IsA(object, ObjectWithArgs) &&
		(type == OBJECT_FUNCTION || type == OBJECT_PROCEDURE || type == OBJECT_ROUTINE))
		return qualify_routine(type, (ObjectWithArgs *) object);
	if (IsA(object, ObjectWithArgs))
		return NameListToQuotedString(((ObjectWithArgs *) object)->objname);
	if (IsA(object, TypeName))
		return TypeNameToString((TypeName *) object);
	return NULL;
}

/* Add a name to a comma-separated list. */
static void
append_listed(StringInfo buf, const char *name)
{
	if (buf->len > 0)
		appendStringInfoString(buf, ", ");
	appendStringInfoString(buf, name);
}

/* All objects of a DROP, comma-separated. */
static char *
name_drop(DropStmt *stmt)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, stmt->objects)
	{
		char	   *name = name_drop_object(stmt->removeType, lfirst(lc));

		if (name != NULL)
			append_listed(&buf, name);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/* A list of RangeVars (TRUNCATE), comma-separated. */
static char *
name_relations(List *relations)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, relations)
		append_listed(&buf, qualify_relation(lfirst_node(RangeVar, lc)));
	return buf.len > 0 ? buf.data : NULL;
}

/* An index: its own name in its table's schema, else the table. */
static char *
name_index(IndexStmt *stmt)
{
	char	   *table = qualify_relation(stmt->relation);
	Oid			relid;

	if (stmt->idxname == NULL)
		return table;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return pstrdup(quote_identifier(stmt->idxname));
	return pstrdup(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  stmt->idxname));
}

/* A role as written: its name, or CURRENT_USER and the like. */
static const char *
name_rolespec(RoleSpec *spec)
{
	switch (spec->roletype)
	{
		case ROLESPEC_CSTRING:
			return quote_identifier(spec->rolename);
		case ROLESPEC_CURRENT_ROLE:
			return "CURRENT_ROLE";
		case ROLESPEC_CURRENT_USER:
			return "CURRENT_USER";
		case ROLESPEC_SESSION_USER:
			return "SESSION_USER";
		case ROLESPEC_PUBLIC:
			return "PUBLIC";
	}
	return NULL;
}

/* A list of RoleSpecs (or AccessPrivs naming roles), comma-separated. */
static char *
name_roles(List *roles)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, roles)
	{
		Node	   *n = lfirst(lc);
		const char *name = NULL;

		if (IsA(n, RoleSpec))
			name = name_rolespec((RoleSpec *) n);
		else if (IsA(n, AccessPriv) && ((AccessPriv *) n)->priv_name)
			name = quote_identifier(((AccessPriv *) n)->priv_name);
		if (name != NULL)
			append_listed(&buf, name);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/* The roles a role statement acts on (ALTER ROLE ALL ... SET: none). */
static char *
name_role_statement(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CreateRoleStmt:
			return pstrdup(quote_identifier(((CreateRoleStmt *) parsetree)->role));
		case T_AlterRoleStmt:
			return pstrdup(name_rolespec(((AlterRoleStmt *) parsetree)->role));
		case T_AlterRoleSetStmt:
			if (((AlterRoleSetStmt *) parsetree)->role == NULL)
				return NULL;
			return pstrdup(name_rolespec(((AlterRoleSetStmt *) parsetree)->role));
		case T_DropRoleStmt:
			return name_roles(((DropRoleStmt *) parsetree)->roles);
		case T_GrantRoleStmt:
			return name_roles(((GrantRoleStmt *) parsetree)->granted_roles);
		default:
			return NULL;
	}
}

/*
 * Before the statement runs: name what exists now, or remember what the
 * statement will create.
 */
UtilityObject
audit_utility_object_before(Node *parsetree)
{
	UtilityObject obj = {NULL, NULL};

	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			obj.created = copyObject(((CreateStmt *) parsetree)->relation);
			break;
		case T_CreateTableAsStmt:
			obj.created = copyObject(((CreateTableAsStmt *) parsetree)->into->rel);
			break;
		case T_ViewStmt:
			obj.created = copyObject(((ViewStmt *) parsetree)->view);
			break;
		case T_CreateSeqStmt:
			obj.created = copyObject(((CreateSeqStmt *) parsetree)->sequence);
			break;
		case T_IndexStmt:
			obj.name = name_index((IndexStmt *) parsetree);
			break;
		case T_AlterTableStmt:
			obj.name = qualify_relation(((AlterTableStmt *) parsetree)->relation);
			break;
		case T_AlterSeqStmt:
			obj.name = qualify_relation(((AlterSeqStmt *) parsetree)->sequence);
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->relation)
				obj.name = qualify_relation(((RenameStmt *) parsetree)->relation);
			break;
		case T_DropStmt:
			obj.name = name_drop((DropStmt *) parsetree);
			break;
		case T_TruncateStmt:
			obj.name = name_relations(((TruncateStmt *) parsetree)->relations);
			break;
		case T_CopyStmt:
			if (((CopyStmt *) parsetree)->relation)
				obj.name = qualify_relation(((CopyStmt *) parsetree)->relation);
			break;
		case T_CreateSchemaStmt:
			if (((CreateSchemaStmt *) parsetree)->schemaname)
				obj.name = pstrdup(quote_identifier(((CreateSchemaStmt *) parsetree)->schemaname));
			break;
		case T_CreateFunctionStmt:
			obj.name = qualify_created(((CreateFunctionStmt *) parsetree)->funcname);
			break;
		case T_CreateExtensionStmt:
			obj.name = pstrdup(quote_identifier(((CreateExtensionStmt *) parsetree)->extname));
			break;
		default:
			obj.name = name_role_statement(parsetree);
			break;
	}
	return obj;
}

/*
 * After the statement ran: the final name.
 */
char *
audit_utility_object_after(const UtilityObject *obj)
{
	if (obj->created != NULL)
		return qualify_relation(obj->created);
	return obj->name;
}
