/*-------------------------------------------------------------------------
 *
 * filter.c
 *	  Which statements are recorded: audit.log, audit.log_catalog and the
 *	  per-role and per-relation exclusions.
 *
 * All of these are superuser-only settings (PGC_SUSET), so that nobody
 * can switch off the auditing of their own session; they can be set per
 * database and per role (ALTER DATABASE / ROLE ... SET).  A statement that
 * changes any audit.* setting is recorded whatever they say
 * (classify.c, and the check hooks below for set_config()).
 *
 * Exclusions are for noise, never for hiding what matters: they apply to
 * the read, write, function, misc and misc_set classes and to logins and
 * logouts, never to ddl and role statements, errors and failed logins.  A
 * role is excluded by its login name (session_user): SET ROLE to an
 * excluded role does not silence a session.  A statement is skipped for
 * its relations only when every relation it names is excluded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "filter.h"
#include "scope.h"

/* The settings' string values, and what their check hooks parsed. */
static char *log_setting = NULL;
static char *exclude_roles_setting = NULL;
static char *exclude_relations_setting = NULL;

static int	log_classes = AUDIT_CLASS_DDL | AUDIT_CLASS_WRITE |
	AUDIT_CLASS_ROLE | AUDIT_CLASS_MISC;
static bool log_catalog = true;
bool		audit_log_parameters = false;
int			audit_log_parameter_max_bytes = 4096;

/*
 * A parsed name list: count, then NUL-terminated strings one after the
 * other ("schema\0name\0" pairs for relations, schema "" when unqualified).
 */
typedef struct NameList
{
	int			count;
	char		names[FLEXIBLE_ARRAY_MEMBER];
} NameList;

static NameList *exclude_roles = NULL;
static NameList *exclude_relations = NULL;

/* A session or client changing an audit setting: record the statement. */
void
audit_filter_note_change(GucSource source)
{
	if (source == PGC_S_SESSION || source == PGC_S_CLIENT)
		audit_scope_note_setting_change();
}

static bool
check_log(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval);
	List	   *items;
	ListCell   *lc;
	int			mask = 0;
	int		   *result;

	if (!SplitIdentifierString(raw, ',', &items))
	{
		GUC_check_errdetail("List syntax is invalid.");
		return false;
	}
	foreach(lc, items)
	{
		char	   *item = lfirst(lc);
		bool		subtract = (item[0] == '-');
		AuditClass	cls = audit_class_from_name(subtract ? item + 1 : item);

		if ((int) cls == -1)
		{
			GUC_check_errdetail("Unrecognized class \"%s\".", item);
			GUC_check_errhint("Classes are ddl, write, read, role, function, misc, misc_set, all and none; \"-class\" subtracts one.");
			return false;
		}
		mask = subtract ? (mask & ~cls) : (mask | cls);
	}
	/* The GUC machinery frees "extra" with free(). */
	result = malloc(sizeof(int));
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		return false;
	}
	*result = mask;
	*extra = result;
	audit_filter_note_change(source);
	return true;
}

static void
assign_log(const char *newval pg_attribute_unused(), void *extra)
{
	log_classes = *(int *) extra;
}

/*
 * Split raw at the commas that are outside double quotes (in place);
 * returns the pieces, white space around them untouched.
 */
static List *
split_outside_quotes(char *raw)
{
	List	   *items = NIL;
	char	   *start = raw;
	bool		quoted = false;

	for (char *p = raw;; p++)
	{
		if (*p == '"')
			quoted = !quoted;
		else if ((*p == ',' && !quoted) || *p == '\0')
		{
			bool		end = (*p == '\0');

			*p = '\0';
			items = lappend(items, start);
			if (end)
				break;
			start = p + 1;
		}
	}
	return items;
}

/*
 * Parse a list of names, each split on dots into at most "parts" parts,
 * as identifiers are read: folded to lower case unless double-quoted.
 */
static bool
parse_names(const char *value, int parts, NameList **out)
{
	char	   *raw = pstrdup(value);
	List	   *items = NIL;
	ListCell   *lc;
	StringInfoData buf;
	int			count = 0;

	initStringInfo(&buf);
	if (strspn(raw, " \t\n\r\f\v") < strlen(raw))	/* else: empty */
		items = split_outside_quotes(raw);
	foreach(lc, items)
	{
		List	   *names;

		if (!SplitIdentifierString(lfirst(lc), '.', &names) ||
			list_length(names) < 1 || list_length(names) > parts)
			return false;
		if (parts == 2)
		{
			appendStringInfoString(&buf, list_length(names) == 2 ?
								   linitial(names) : "");
			appendStringInfoChar(&buf, '\0');
		}
		appendStringInfoString(&buf, llast(names));
		appendStringInfoChar(&buf, '\0');
		count++;
	}
	*out = malloc(offsetof(NameList, names) + buf.len + 1);
	if (*out == NULL)
		return false;
	(*out)->count = count;
	memcpy((*out)->names, buf.data, buf.len + 1);
	return true;
}

static bool
check_exclude_roles(char **newval, void **extra, GucSource source)
{
	if (!parse_names(*newval, 1, (NameList **) extra))
	{
		GUC_check_errdetail("It must be a comma-separated list of role names.");
		return false;
	}
	audit_filter_note_change(source);
	return true;
}

static bool
check_exclude_relations(char **newval, void **extra, GucSource source)
{
	if (!parse_names(*newval, 2, (NameList **) extra))
	{
		GUC_check_errdetail("It must be a comma-separated list of [schema.]table names.");
		return false;
	}
	audit_filter_note_change(source);
	return true;
}

static void
assign_exclude_roles(const char *newval pg_attribute_unused(), void *extra)
{
	exclude_roles = (NameList *) extra;
}

static void
assign_exclude_relations(const char *newval pg_attribute_unused(), void *extra)
{
	exclude_relations = (NameList *) extra;
}

/* Flip log_catalog and log_parameters with a record of the change. */
static bool
check_bool_setting(bool *newval pg_attribute_unused(),
				   void **extra pg_attribute_unused(), GucSource source)
{
	audit_filter_note_change(source);
	return true;
}

bool
audit_filter_check_int(int *newval pg_attribute_unused(),
					   void **extra pg_attribute_unused(), GucSource source)
{
	audit_filter_note_change(source);
	return true;
}

void
audit_filter_define_settings(void)
{
	DefineCustomStringVariable("audit.log",
							   "Classes of statements to record.",
							   "A list of ddl, write, read, role, function, misc, misc_set, all, none; "
							   "\"-class\" removes a class.",
							   &log_setting,
							   "ddl, write, role, misc",
							   PGC_SUSET, GUC_LIST_INPUT,
							   check_log, assign_log, NULL);
	DefineCustomBoolVariable("audit.log_catalog",
							 "Record statements whose relations are all system catalogs.",
							 "Off silences the catalog queries of psql, drivers and admin tools.",
							 &log_catalog,
							 true,
							 PGC_SUSET, 0,
							 check_bool_setting, NULL, NULL);
	DefineCustomBoolVariable("audit.log_parameters",
							 "Record the bind parameters of statements.",
							 NULL,
							 &audit_log_parameters,
							 false,
							 PGC_SUSET, 0,
							 check_bool_setting, NULL, NULL);
	DefineCustomIntVariable("audit.log_parameter_max_bytes",
							"Longest bind parameter recorded in full.",
							"Longer values are cut and marked; 0 records every value in full.",
							&audit_log_parameter_max_bytes,
							4096, 0, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE,
							audit_filter_check_int, NULL, NULL);
	DefineCustomStringVariable("audit.exclude_roles",
							   "Login roles whose routine statements are not recorded.",
							   "Never hides ddl and role statements, errors or failed logins.",
							   &exclude_roles_setting,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   check_exclude_roles, assign_exclude_roles, NULL);
	DefineCustomStringVariable("audit.exclude_relations",
							   "Relations whose routine statements are not recorded.",
							   "A statement is skipped only when every relation it names is listed.",
							   &exclude_relations_setting,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   check_exclude_relations, assign_exclude_relations, NULL);
}

/*
 * Do the exclusions or audit.log_catalog need a statement's relations?
 * (Collecting them is skipped when not.)
 */
bool
audit_filter_uses_relations(void)
{
	return !log_catalog ||
		(exclude_relations != NULL && exclude_relations->count > 0);
}

bool
audit_class_enabled(AuditClass cls)
{
	return (log_classes & cls) != 0;
}

/* Is the session's login role in audit.exclude_roles? */
bool
audit_session_excluded(void)
{
	const char *p;
	char	   *user;

	if (exclude_roles == NULL || exclude_roles->count == 0)
		return false;
	user = GetUserNameFromId(GetSessionUserId(), true);
	if (user == NULL)
		return false;
	p = exclude_roles->names;
	for (int i = 0; i < exclude_roles->count; i++, p += strlen(p) + 1)
		if (strcmp(p, user) == 0)
			return true;
	return false;
}

static bool
relation_excluded(Oid relid)
{
	const char *p;
	char	   *relname;
	char	   *nspname;

	if (exclude_relations == NULL || exclude_relations->count == 0)
		return false;
	relname = get_rel_name(relid);
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (relname == NULL || nspname == NULL)
		return false;
	p = exclude_relations->names;
	for (int i = 0; i < exclude_relations->count; i++)
	{
		const char *schema = p;
		const char *name = p + strlen(p) + 1;

		p = name + strlen(name) + 1;
		if (strcmp(name, relname) == 0 &&
			(schema[0] == '\0' || strcmp(schema, nspname) == 0))
			return true;
	}
	return false;
}

static bool
relation_is_catalog(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);

	return nsp == PG_CATALOG_NAMESPACE ||
		nsp == get_namespace_oid("information_schema", true);
}

/* Do all of relids (non-empty) satisfy test? */
static bool
all_relations(List *relids, bool (*test) (Oid))
{
	ListCell   *lc;

	if (relids == NIL)
		return false;
	foreach(lc, relids)
		if (!test(lfirst_oid(lc)))
			return false;
	return true;
}

/*
 * Should a statement of class cls naming relids be recorded?  forced: it
 * changes audit settings, and is recorded in any case.
 */
bool
audit_statement_wanted(AuditClass cls, List *relids, bool forced)
{
	if (forced)
		return true;
	if (cls == AUDIT_CLASS_NONE || !audit_class_enabled(cls))
		return false;
	if (cls == AUDIT_CLASS_DDL || cls == AUDIT_CLASS_ROLE)
		return true;
	if (audit_session_excluded())
		return false;
	if (all_relations(relids, relation_excluded))
		return false;
	if (cls == AUDIT_CLASS_READ && !log_catalog &&
		all_relations(relids, relation_is_catalog))
		return false;
	return true;
}
