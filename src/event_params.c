/*-------------------------------------------------------------------------
 *
 * event_params.c
 *	  Bind parameters of a statement, as recorded with audit.log_parameters.
 *
 * The parameters become a JSON array of their text forms (as the type's
 * output function prints them) or null, in parameter order: $1 first.
 * A value longer than audit.log_parameter_max_bytes is cut at a character
 * boundary and marked, so a multi-megabyte bytea does not make a
 * multi-megabyte event.  Parameters that PL/pgSQL supplies on demand
 * (its variables) are fetched without side effects; one that cannot be
 * had that way is recorded as null.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "event.h"
#include "event_params.h"

/* Parameter i (1-based), fetched as the executor would. */
static ParamExternData *
param_get(ParamListInfo params, int i, ParamExternData *workspace)
{
	if (params->paramFetch != NULL)
		return params->paramFetch(params, i, true, workspace);
	return &params->params[i - 1];
}

static void
param_append(StringInfo buf, ParamExternData *prm, int max_bytes)
{
	Oid			typoutput;
	bool		typisvarlena;
	char	   *value;

	if (prm == NULL || prm->isnull || !OidIsValid(prm->ptype))
	{
		appendStringInfoString(buf, "null");
		return;
	}
	getTypeOutputInfo(prm->ptype, &typoutput, &typisvarlena);
	value = OidOutputFunctionCall(typoutput, prm->value);
	escape_json(buf, audit_cap_text(value, max_bytes, "parameter"));
}

/*
 * The parameters as a JSON array (palloc'd), or NULL when there are none.
 */
char *
audit_params_json(ParamListInfo params, int max_bytes)
{
	StringInfoData buf;

	if (params == NULL || params->numParams <= 0)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 1; i <= params->numParams; i++)
	{
		ParamExternData workspace;

		if (i > 1)
			appendStringInfoString(&buf, ", ");
		param_append(&buf, param_get(params, i, &workspace), max_bytes);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}
