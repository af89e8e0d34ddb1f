/*-------------------------------------------------------------------------
 *
 * event_context.c
 *	  Who and where: roles, client address and port, application name,
 *	  backend pid and database of the current session.
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
#include "utils/memutils.h"

#include "event_context.h"
#include "schema.h"

/* Per-backend cache of the client's address (an inet Datum) and port. */
static bool client_known = false;
static bool client_is_ip = false;
static Datum client_addr_datum;
static int32 client_port;

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
	MemoryContext oldcxt;

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

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	client_addr_datum = DirectFunctionCall1(inet_in, CStringGetDatum(host));
	MemoryContextSwitchTo(oldcxt);
	client_port = pg_strtoint32(serv);
	client_is_ip = true;
}

/*
 * Fill the who-and-where columns of an event row (all NULL on entry).
 */
void
audit_context_fill(Datum *values, bool *isnull)
{
	if (!client_known)
		context_load_client();

	audit_set_text(values, isnull, Anum_event_session_role,
			 GetUserNameFromId(GetSessionUserId(), true));
	audit_set_text(values, isnull, Anum_event_effective_role,
			 GetUserNameFromId(GetUserId(), true));
	audit_set_text(values, isnull, Anum_event_application_name, application_name);
	audit_set_text(values, isnull, Anum_event_database,
			 get_database_name(MyDatabaseId));

	if (client_is_ip)
	{
		audit_set(values, isnull, Anum_event_client_addr,
						client_addr_datum);
		audit_set(values, isnull, Anum_event_client_port,
						Int32GetDatum(client_port));
	}
	audit_set(values, isnull, Anum_event_backend_pid,
					Int32GetDatum(MyProcPid));
}
