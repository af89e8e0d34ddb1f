/*-------------------------------------------------------------------------
 *
 * event_context.c
 *	  Who and where: roles, client address and port, application name,
 *	  backend pid and database of the current session; and on whose behalf:
 *	  the application user and request context set by the application.
 *
 * The client address cannot change during a session, so it is computed
 * once per backend; roles and application_name can change at any statement
 * and are read each time (syscache lookups, no catalog scans).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>

#include "commands/dbcommands.h"
#include "common/ip.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "common/jsonapi.h"
#include "access/xact.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "parser/scansup.h"

#include "event_context.h"

/* audit.app_user and audit.context: set by the application, per session or transaction. */
char	   *audit_app_user = NULL;
char	   *audit_app_context = NULL;

/* Longest audit.app_user or audit.context accepted. */
#define CONTEXT_MAX_BYTES	8192

/* Per-backend cache of the client's address (text) and port. */
static bool client_known = false;
static char *client_host = NULL;
static int32 client_port = -1;

/*
 * Work out the client address and port once: NULL for a Unix socket or a
 * background process, as inet_client_addr() and inet_client_port() do.
 */
static void
context_load_client(void)
{
	Port	   *port = MyProcPort;
	char		host[NI_MAXHOST];
	char		serv[NI_MAXSERV];

	client_known = true;
	if (port == NULL)
		return;
	if (port->raddr.addr.ss_family != AF_INET &&
		port->raddr.addr.ss_family != AF_INET6)
		return;

	host[0] = serv[0] = '\0';
	if (pg_getnameinfo_all(&port->raddr.addr, port->raddr.salen,
						   host, sizeof(host), serv, sizeof(serv),
						   NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	clean_ipv6_addr(port->raddr.addr.ss_family, host);

	client_host = MemoryContextStrdup(TopMemoryContext, host);
	client_port = pg_strtoint32(serv);
}

/*
 * The database's name, looked up once: a database cannot be renamed while
 * anyone is connected to it.
 */
static const char *
context_database_name(void)
{
	static char *name = NULL;

	if (name == NULL && OidIsValid(MyDatabaseId))
	{
		char	   *found = get_database_name(MyDatabaseId);

		if (found != NULL)
			name = MemoryContextStrdup(TopMemoryContext, found);
	}
	return name;
}

/* NULL for an empty setting: no application user or context was given. */
static const char *
nonempty(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : NULL;
}

/*
 * The context of the current session, for an event happening now (strings
 * palloc'd or static; valid until the end of the statement).
 */
void
audit_context_capture(AuditContext *ctx)
{
	if (!client_known)
		context_load_client();

	ctx->occurred_at = GetCurrentTimestamp();
	ctx->session_role = GetUserNameFromId(GetSessionUserId(), true);
	ctx->effective_role = GetUserNameFromId(GetUserId(), true);
	ctx->client_addr = client_host;
	ctx->client_port = client_port;
	ctx->application_name = application_name;
	ctx->backend_pid = MyProcPid;
	ctx->database = context_database_name();
	ctx->app_user = nonempty(audit_app_user);
	ctx->context = nonempty(audit_app_context);
	ctx->statement_id = 0;
	ctx->nesting_level = -1;
}

static bool
check_app_user(char **newval, void **extra pg_attribute_unused(),
			   GucSource source pg_attribute_unused())
{
	if (strlen(*newval) > CONTEXT_MAX_BYTES)
	{
		GUC_check_errdetail("It is longer than %d bytes.", CONTEXT_MAX_BYTES);
		return false;
	}
	return true;
}

/*
 * Does jsonb_in accept s?  Beyond JSON's grammar it refuses \u0000 and
 * numbers numeric cannot hold; asked of jsonb_in itself, whose errors are
 * plain input errors (no resources to release), caught here.
 */
static bool
jsonb_accepts(const char *s)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		(void) DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
	}
	PG_CATCH();
	{
		if (geterrcode() == ERRCODE_OUT_OF_MEMORY)
			PG_RE_THROW();
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * audit.context must be empty or a JSON object that jsonb accepts (it is
 * stored as jsonb in every event: a value it refused would make the
 * audited statement fail).
 */
static bool
check_app_context(char **newval, void **extra pg_attribute_unused(),
				  GucSource source pg_attribute_unused())
{
	const char *s = *newval;
	size_t		len = strlen(s);
	JsonLexContext *lex;
	const char *p = s;

	if (len == 0)
		return true;
	if (len > CONTEXT_MAX_BYTES)
	{
		GUC_check_errdetail("It is longer than %d bytes.", CONTEXT_MAX_BYTES);
		return false;
	}
	while (scanner_isspace(*p))
		p++;
	lex = makeJsonLexContextCstringLen((char *) s, len, GetDatabaseEncoding(), true);
	if (*p != '{' || pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		GUC_check_errdetail("audit.context must be a JSON object.");
		return false;
	}
	if (!jsonb_accepts(s))
	{
		GUC_check_errdetail("jsonb does not accept it (e.g. \\u0000, or a number out of range).");
		return false;
	}
	return true;
}

void
audit_context_define_settings(void)
{
	DefineCustomStringVariable("audit.app_user",
							   "The application user on whose behalf this session or transaction works.",
							   "Recorded in app_user of every event.  Set it with audit.set_context(), "
							   "which is transaction-local by default.",
							   &audit_app_user,
							   "",
							   PGC_USERSET, 0,
							   check_app_user, NULL, NULL);
	DefineCustomStringVariable("audit.context",
							   "Request context (a JSON object) recorded in every event.",
							   "A W3C traceparent here is kept as is, to join events to traces.",
							   &audit_app_context,
							   "",
							   PGC_USERSET, 0,
							   check_app_context, NULL, NULL);
}

/*
 * audit.set_context(app_user text, context jsonb DEFAULT '{}',
 *					 is_local boolean DEFAULT true)
 *
 * Sets both settings at once, for the current transaction by default, so
 * that a pooler handing the connection to someone else at commit cannot
 * carry one application user's identity into the next transaction.
 */
PG_FUNCTION_INFO_V1(audit_set_context);
Datum
audit_set_context(PG_FUNCTION_ARGS)
{
	const char *user = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *context = PG_ARGISNULL(1) ? "" :
		DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(1)));
	bool		is_local = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
	GucAction	action = is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET;

	if (!PG_ARGISNULL(1) && !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit context must be a JSON object")));
	if (is_local && !IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("audit.set_context() with is_local = true has no effect outside a transaction block"),
				 errhint("Call it inside BEGIN ... COMMIT, or pass is_local => false.")));

	(void) set_config_option("audit.app_user", user, PGC_USERSET, PGC_S_SESSION,
							 action, true, 0, false);
	(void) set_config_option("audit.context", context, PGC_USERSET, PGC_S_SESSION,
							 action, true, 0, false);
	PG_RETURN_VOID();
}
