/*-------------------------------------------------------------------------
 *
 * alert_rules.c
 *	  The rules of audit.alert_rules, as each backend (and each sealer)
 *	  keeps them: the enabled ones, their parameters parsed.
 *
 * Read with a heap scan the first time an event is written, and kept
 * until a relcache invalidation of audit.alert_rules, which
 * audit.alert_rule_set() sends (audit._alert_rules_changed()).  While the
 * table does not exist (audit_ext older than 0.4), any relcache
 * invalidation makes us look again: its creation sends one.  An empty
 * table costs one test per event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "alert.h"

PG_FUNCTION_INFO_V1(audit_alert_rule_check);
PG_FUNCTION_INFO_V1(audit_alert_rules_changed);

/* Columns of audit.alert_rules (sql/0.4/70_alerts.sql). */
#define Anum_alert_rules_name		2
#define Anum_alert_rules_kind		3
#define Anum_alert_rules_enabled	4
#define Anum_alert_rules_params		5

static const struct
{
	AlertKind	kind;
	const char *name;
	const char *params;			/* the parameters it takes, space-separated */
}			alert_kinds[] =
{
	{ALERT_DDL_OUTSIDE_WINDOW, "ddl_outside_window", " from to days timezone "},
	{ALERT_ROLE_CHANGE, "role_change", " "},
	{ALERT_ROWS_ABOVE, "rows_above", " rows "},
	{ALERT_REFUSED_STATEMENT, "refused_statement", " "},
	{ALERT_FAILED_LOGINS, "failed_logins", " logins seconds "},
	{ALERT_TAMPER_ATTEMPT, "tamper_attempt", " "},
	{ALERT_VERIFICATION_FAILURE, "verification_failure", " "},
};

/* The enabled rules, in CacheMemoryContext. */
static MemoryContext rules_cxt = NULL;
static AlertRule *rules = NULL;
static int	nrules = 0;
static bool rules_valid = false;
static Oid	rules_relid = InvalidOid;
static bool callback_registered = false;

static void
alert_rules_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	if (!OidIsValid(relid) || !OidIsValid(rules_relid) || relid == rules_relid)
		rules_valid = false;
}

/* A non-negative integer parameter, at most max. */
static bool
param_int(const JsonbValue *v, int64 max, int64 *result)
{
	char	   *text;
	char	   *end;

	if (v->type != jbvNumeric)
		return false;
	text = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(v->val.numeric)));
	errno = 0;
	*result = strtoi64(text, &end, 10);
	return errno == 0 && *end == '\0' && *result >= 0 && *result <= max;
}

/* "HH:MM" as minutes after midnight ("24:00" is the end of the day). */
static bool
param_minute(const JsonbValue *v, int *result)
{
	char		buf[8];
	int			h,
				m;
	char		extra;

	if (v->type != jbvString || v->val.string.len >= (int) sizeof(buf))
		return false;
	memcpy(buf, v->val.string.val, v->val.string.len);
	buf[v->val.string.len] = '\0';
	if (sscanf(buf, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || m < 0 ||
		m > 59 || h * 60 + m > 24 * 60)
		return false;
	*result = h * 60 + m;
	return true;
}

/* An array of ISO days of the week (1 = Monday ... 7 = Sunday), as bits. */
static bool
param_days(const JsonbValue *v, int *result)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int64		day;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return false;
	*result = 0;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (!param_int(&elem, 7, &day) || day < 1)
			return false;
		*result |= 1 << day;
	}
	return true;
}

static bool
param_timezone(const JsonbValue *v, char *result, size_t size)
{
	if (v->type != jbvString || v->val.string.len >= (int) size)
		return false;
	memcpy(result, v->val.string.val, v->val.string.len);
	result[v->val.string.len] = '\0';
	return pg_tzset(result) != NULL;
}

/* One parameter of rule into it; false if its value is not valid. */
static bool
param_set(AlertRule *rule, const char *key, const JsonbValue *v)
{
	int64		n;

	if (strcmp(key, "rows") == 0 && param_int(v, PG_INT64_MAX, &n))
		rule->rows = n;
	else if (strcmp(key, "logins") == 0 && param_int(v, 100000, &n))
		rule->logins = (int) n;
	else if (strcmp(key, "seconds") == 0 && param_int(v, 86400, &n) && n > 0)
		rule->seconds = (int) n;
	else if (strcmp(key, "from") == 0)
		return param_minute(v, &rule->from_minute);
	else if (strcmp(key, "to") == 0)
		return param_minute(v, &rule->to_minute);
	else if (strcmp(key, "days") == 0)
		return param_days(v, &rule->days);
	else if (strcmp(key, "timezone") == 0)
		return param_timezone(v, rule->timezone, sizeof(rule->timezone));
	else
		return false;
	return true;
}

/* What a valid value of each parameter is, for error details. */
static const struct
{
	const char *key;
	const char *expected;
}			param_values[] =
{
	{"rows", "a whole number of at least 0"},
	{"logins", "a whole number from 0 to 100000"},
	{"seconds", "a whole number from 1 to 86400"},
	{"from", "a time of day as \"HH:MM\", from \"00:00\" to \"24:00\""},
	{"to", "a time of day as \"HH:MM\", from \"00:00\" to \"24:00\""},
	{"days", "an array of ISO days of the week, 1 (Monday) to 7 (Sunday)"},
	{"timezone", "a time zone name, such as \"Europe/Paris\""},
};

static const char *
param_expected(const char *key)
{
	for (int i = 0; i < (int) lengthof(param_values); i++)
		if (strcmp(param_values[i].key, key) == 0)
			return param_values[i].expected;
	return "valid";
}

/* The defaults of every parameter (sql/0.4/70_alerts.sql documents them). */
static void
rule_defaults(AlertRule *rule)
{
	rule->rows = 1000;
	rule->logins = 5;
	rule->seconds = 60;
	rule->from_minute = 8 * 60;
	rule->to_minute = 18 * 60;
	rule->days = 0x3E;			/* Monday to Friday */
	strlcpy(rule->timezone, "UTC", sizeof(rule->timezone));
}

/*
 * Parse a rule of the given kind with params (a JSON object, or NULL)
 * into rule.  On bad input returns false with *error saying why.
 */
bool
audit_alert_rule_parse(const char *kind, Jsonb *params, AlertRule *rule,
					   char **error)
{
	int			k = -1;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	for (int i = 0; i < (int) lengthof(alert_kinds); i++)
		if (strcmp(alert_kinds[i].name, kind) == 0)
			k = i;
	if (k < 0)
	{
		*error = psprintf("Unknown kind \"%s\".", kind);
		return false;
	}
	memset(rule, 0, sizeof(*rule));
	rule->kind = alert_kinds[k].kind;
	rule_defaults(rule);
	if (params == NULL)
		return true;
	if (!JB_ROOT_IS_OBJECT(params))
	{
		*error = pstrdup("The parameters must be a JSON object.");
		return false;
	}
	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (strstr(alert_kinds[k].params, psprintf(" %s ", key)) == NULL)
				*error = psprintf("Kind %s takes no parameter \"%s\".", kind, key);
			else if (!param_set(rule, key, &v))
				*error = psprintf("Parameter \"%s\" must be %s.", key,
								  param_expected(key));
			else
				continue;
			return false;
		}
	}
	return true;
}

/* The name of a kind, as audit.alert_rules.kind spells it. */
const char *
audit_alert_kind_name(AlertKind kind)
{
	for (int i = 0; i < (int) lengthof(alert_kinds); i++)
		if (alert_kinds[i].kind == kind)
			return alert_kinds[i].name;
	return "unknown";
}

/* The OID of audit.alert_rules, or InvalidOid. */
static Oid
alert_rules_table(void)
{
	Oid			nsp = get_namespace_oid("audit", true);

	return OidIsValid(nsp) ? get_relname_relid("alert_rules", nsp) : InvalidOid;
}

/* Add the rule of one row of audit.alert_rules, if enabled and valid. */
static void
load_rule(HeapTuple tup, TupleDesc desc, int *allocated)
{
	bool		isnull;
	Datum		enabled = heap_getattr(tup, Anum_alert_rules_enabled, desc, &isnull);
	Datum		params;
	char	   *name;
	char	   *error;
	AlertRule	rule;

	if (isnull || !DatumGetBool(enabled))
		return;
	name = TextDatumGetCString(heap_getattr(tup, Anum_alert_rules_name, desc, &isnull));
	params = heap_getattr(tup, Anum_alert_rules_params, desc, &isnull);
	if (!audit_alert_rule_parse(TextDatumGetCString(heap_getattr(tup, Anum_alert_rules_kind, desc, &isnull)),
								isnull ? NULL : DatumGetJsonbP(params), &rule, &error))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alert rule \"%s\" is ignored", name),
				 errdetail_internal("%s", error)));
		return;
	}
	strlcpy(rule.name, name, sizeof(rule.name));
	if (nrules == *allocated)
	{
		*allocated *= 2;
		rules = repalloc(rules, sizeof(AlertRule) * *allocated);
	}
	rules[nrules++] = rule;
}

/* Read the enabled rules into rules_cxt. */
static void
alert_rules_load(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	int			allocated = 8;
	MemoryContext old;

	MemoryContextReset(rules_cxt);
	nrules = 0;
	rules_relid = alert_rules_table();
	if (!OidIsValid(rules_relid))
		return;
	old = MemoryContextSwitchTo(rules_cxt);
	rules = palloc(sizeof(AlertRule) * allocated);
	rel = table_open(rules_relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		load_rule(tup, RelationGetDescr(rel), &allocated);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);
}

/*
 * The enabled rules, read again if they may have changed; nrules set to
 * their number.  Call only inside a transaction.
 */
const AlertRule *
audit_alert_rules(int *count)
{
	if (!callback_registered)
	{
		rules_cxt = AllocSetContextCreate(CacheMemoryContext, "audit_ext alert rules",
										  ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(alert_rules_invalidate, (Datum) 0);
		callback_registered = true;
	}
	/* An invalidation that arrives while loading means: load again. */
	while (!rules_valid)
	{
		rules_valid = true;
		PG_TRY();
		{
			alert_rules_load();
		}
		PG_CATCH();
		{
			rules_valid = false;
			nrules = 0;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	*count = nrules;
	return rules;
}

/*
 * audit._alert_rule_check(kind, params): refuse a rule audit_ext could
 * not apply, saying why.
 */
Datum
audit_alert_rule_check(PG_FUNCTION_ARGS)
{
	AlertRule	rule;
	char	   *error;
	char	   *kind;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kind must not be NULL")));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!audit_alert_rule_parse(kind, PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
								&rule, &error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid alert rule of kind \"%s\"", kind),
				 errdetail_internal("%s", error),
				 errhint("See \"Real-time alerts\" in the README for the kinds and their parameters.")));
	PG_RETURN_VOID();
}

/*
 * audit._alert_rules_changed(): every session rereads the rules, from the
 * commit of this transaction on.
 */
Datum
audit_alert_rules_changed(PG_FUNCTION_ARGS)
{
	Oid			relid = alert_rules_table();

	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}
