/*-------------------------------------------------------------------------
 *
 * session_events.c
 *	  Logins, failed logins, logouts, and statements that fail: events
 *	  that the session's own transaction cannot carry, sent to the trail
 *	  through the event queue (event_queue.c).
 *
 * A login is recorded when InitPostgres commits its transaction, not when
 * authentication succeeds: a connection that authenticates and then fails
 * (the database does not exist, the role does not, no CONNECT privilege)
 * is a failed login.  ClientAuthentication_hook only notes that
 * authentication passed, and which method it used.  The login's context
 * is captured at PRE_COMMIT, while the catalogs can still be read, and
 * queued at COMMIT; what it learns (role and database names, client
 * address) also serves the session's later events.
 *
 * Failed logins and failed statements are caught in emit_log_hook: a FATAL
 * before the login was recorded is a failed login, an ERROR or FATAL
 * after it an error event.  The hook runs in the middle of error
 * reporting, in a transaction about to abort: it reads no catalog, takes
 * no lock but the queue's, allocates nothing that could fail, and raises
 * nothing.  Role names it does not know from the login are sent as role
 * ids, for the sealer to look up.  A failed login waits
 * (audit.queue_wait_timeout) for its event to be committed, so that the
 * client hears of the failure only once the trail has it.  A failed
 * statement's error is reported before its transaction aborts, with its
 * locks still held: it waits only once the abort has released them (a
 * resource-release callback), so the session goes on only once its
 * failure is in the trail, without holding anybody up meanwhile.
 *
 * Only regular client backends are audited this way: background workers
 * (the sealer and the launcher among them) and WAL senders are not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>

#include "access/xact.h"
#include "common/ip.h"
#include "libpq/auth.h"
#include "libpq/hba.h"
#include "libpq/libpq-be.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "event.h"
#include "event_context.h"
#include "event_queue.h"
#include "filter.h"
#include "scope.h"
#include "session_events.h"

/* Room for an error's detail JSON: the queue keeps at most this much. */
#define DETAIL_BYTES		2048
#define DETAIL_VALUE_BYTES	600 /* each string in it */
#define DETAIL_TRUNCATED	"... [audit_ext: truncated]"

/* What this session is, learnt at login, for events that cannot look. */
typedef struct SessionInfo
{
	Oid			roleid;			/* the session user at login */
	const char *role;
	const char *database;
	AuditContext login;			/* the login event's context */
} SessionInfo;

/* A JSON object being written into a fixed buffer. */
typedef struct DetailJson
{
	char	   *data;
	size_t		len;
	size_t		cap;
} DetailJson;

/* audit.log_connections: record logins and logouts. */
static bool audit_log_connections = true;

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

static bool session_authenticated = false;
static bool session_login_captured = false;
static bool session_logged_in = false;
static bool session_excluded = false;	/* no login nor logout, decided at login */
static bool session_emitting = false;
/* The message of the guard's refusal just recorded, until it is reported. */
static char session_refusal[256] = "";
static const char *session_auth_method = NULL;
static SessionInfo session;

/* The client's address and port, found once; NULL and -1 for none. */
static bool client_known = false;
static char client_host[NI_MAXHOST];
static int32 client_port = -1;

/*
 * Only regular client backends: not background workers, not WAL senders,
 * not a standalone backend.
 */
static bool
session_audited_process(void)
{
	return IsUnderPostmaster && MyBackendType == B_BACKEND && !am_walsender;
}

/* NULL for an empty string: nothing was given. */
static const char *
nonempty(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : NULL;
}

/*
 * The client's numeric address and port, without reading the catalogs or
 * resolving names: usable before the session has a database, and inside
 * error reporting.
 */
static const char *
session_client_addr(void)
{
	char		serv[NI_MAXSERV];

	if (client_known)
		return client_host[0] != '\0' ? client_host : NULL;
	client_known = true;
	client_host[0] = '\0';
	if (MyProcPort == NULL ||
		(MyProcPort->raddr.addr.ss_family != AF_INET &&
		 MyProcPort->raddr.addr.ss_family != AF_INET6))
		return NULL;
	if (pg_getnameinfo_all(&MyProcPort->raddr.addr, MyProcPort->raddr.salen,
						   client_host, sizeof(client_host), serv, sizeof(serv),
						   NI_NUMERICHOST | NI_NUMERICSERV) != 0)
	{
		client_host[0] = '\0';
		return NULL;
	}
	clean_ipv6_addr(MyProcPort->raddr.addr.ss_family, client_host);
	client_port = (int32) strtol(serv, NULL, 10);
	return client_host;
}

/* ------------------------------------------------------------------------
 * A small JSON object in a fixed buffer: no allocation, always complete
 * ------------------------------------------------------------------------
 */

static void
detail_begin(DetailJson *json, char *buf, size_t cap)
{
	json->data = buf;
	json->cap = cap;
	json->len = strlcpy(buf, "{", cap);
}

/* Append raw text if it fits with room left to close the object. */
static bool
detail_raw(DetailJson *json, const char *s, size_t len)
{
	if (json->len + len + sizeof(DETAIL_TRUNCATED) + 3 > json->cap)
		return false;
	memcpy(json->data + json->len, s, len);
	json->len += len;
	json->data[json->len] = '\0';
	return true;
}

/* One character of a JSON string, escaped; false when it does not fit. */
static bool
detail_char(DetailJson *json, const char *p, int len)
{
	char		esc[8];
	unsigned char c = (unsigned char) *p;

	if (len > 1 || (c >= 0x20 && c != '"' && c != '\\'))
		return detail_raw(json, p, len);
	if (c == '"' || c == '\\')
		snprintf(esc, sizeof(esc), "\\%c", c);
	else if (c == '\n')
		strlcpy(esc, "\\n", sizeof(esc));
	else
		snprintf(esc, sizeof(esc), "\\u%04x", c);
	return detail_raw(json, esc, strlen(esc));
}

/*
 * Add "key": "value", value escaped and cut (on a character boundary,
 * with a marker) where it would pass DETAIL_VALUE_BYTES or the buffer.
 */
static void
detail_string(DetailJson *json, const char *key, const char *value)
{
	size_t		start;
	char		head[64];

	if (value == NULL)
		return;
	snprintf(head, sizeof(head), "%s\"%s\": \"", json->len > 1 ? ", " : "", key);
	if (!detail_raw(json, head, strlen(head)))
		return;
	start = json->len;
	for (const char *p = value; *p;)
	{
		int			len = pg_mblen(p);

		for (int k = 1; k < len; k++)
			if (p[k] == '\0')
				len = 1;
		if (json->len - start + len > DETAIL_VALUE_BYTES ||
			!detail_char(json, p, len))
		{
			/* detail_raw always leaves room for the marker */
			strlcpy(json->data + json->len, DETAIL_TRUNCATED, json->cap - json->len);
			json->len += strlen(DETAIL_TRUNCATED);
			break;
		}
		p += len;
	}
	json->data[json->len++] = '"';
	json->data[json->len] = '\0';
}

static void
detail_int(DetailJson *json, const char *key, int64 value)
{
	char		member[96];

	snprintf(member, sizeof(member), "%s\"%s\": " INT64_FORMAT,
			 json->len > 1 ? ", " : "", key, value);
	(void) detail_raw(json, member, strlen(member));
}

/* The object, closed; NULL when it has no member. */
static const char *
detail_end(DetailJson *json)
{
	if (json->len == 1)
		return NULL;
	json->data[json->len++] = '}';
	json->data[json->len] = '\0';
	return json->data;
}

/*
 * The detail of a failed login or statement: the failed transaction, the
 * error's position in the statement, its detail, hint and context.  The
 * detail meant for the server log only is kept for a failed login (why it
 * failed: no such role, wrong password, which pg_hba.conf line), not for
 * a statement (a deadlock's names other sessions' statements).
 */
static const char *
session_error_detail(const ErrorData *edata, bool login, char *buf)
{
	DetailJson	json;
	FullTransactionId fxid = GetTopFullTransactionIdIfAny();

	detail_begin(&json, buf, DETAIL_BYTES);
	if (login && session_auth_method != NULL)
		detail_string(&json, "auth_method", session_auth_method);
	if (!login && FullTransactionIdIsValid(fxid))
		detail_int(&json, "failed_txid", (int64) U64FromFullTransactionId(fxid));
	if (edata->cursorpos > 0)
		detail_int(&json, "position", edata->cursorpos);
	detail_string(&json, "detail", edata->detail);
	if (login)
		detail_string(&json, "detail_log", edata->detail_log);
	detail_string(&json, "hint", edata->hint);
	detail_string(&json, "context", edata->context);
	return detail_end(&json);
}

/* ------------------------------------------------------------------------
 * The events
 * ------------------------------------------------------------------------
 */

/*
 * The context of an event of this (logged in) session happening now,
 * without the catalogs: names learnt at login, ids for the sealer where a
 * role has changed since (SET ROLE, SECURITY DEFINER).
 */
static void
session_context_now(AuditQueueEntry *entry)
{
	Oid			session_user = GetSessionUserId();
	Oid			current_user = GetUserId();

	entry->ctx.occurred_at = GetCurrentTimestamp();
	entry->session_roleid = session_user;
	entry->ctx.session_role = session_user == session.roleid ? session.role : NULL;
	entry->effective_roleid = current_user;
	entry->ctx.effective_role = current_user == session.roleid ? session.role : NULL;
	entry->ctx.client_addr = session.login.client_addr;
	entry->ctx.client_port = session.login.client_port;
	entry->ctx.application_name = nonempty(application_name);
	entry->ctx.backend_pid = MyProcPid;
	entry->ctx.database = session.database;
	entry->ctx.app_user = nonempty(audit_app_user);
	entry->ctx.context = nonempty(audit_app_context);
	entry->ctx.statement_id = 0;
	entry->ctx.nesting_level = -1;
	entry->dbid = MyDatabaseId;
	entry->dbname = session.database;
}

/*
 * Logout: how long the session lasted.  A before_shmem_exit callback,
 * registered at login; it does not wait for the sealer.
 */
static void
session_logout(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	AuditQueueEntry entry;
	char		detail[160];
	int64		ms;

	memset(&entry, 0, sizeof(entry));
	session_context_now(&entry);
	ms = Max((entry.ctx.occurred_at - MyStartTimestamp) / 1000, 0);
	snprintf(detail, sizeof(detail),
			 "{\"session_duration_ms\": " INT64_FORMAT ", \"session_duration\": \"%02"
			 INT64_MODIFIER "d:%02d:%02d.%03d\"}",
			 ms, ms / 3600000, (int) (ms / 60000 % 60), (int) (ms / 1000 % 60),
			 (int) (ms % 1000));
	entry.event.kind = "logout";
	entry.event.detail = detail;
	(void) audit_queue_entry(&entry, false);
}

/*
 * PRE_COMMIT of InitPostgres's transaction: the session is in.  Capture
 * the login's context while the catalogs can be read; keep what later
 * events of the session need.
 */
static void
session_capture_login(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	AuditContext *ctx = &session.login;

	audit_context_capture(ctx);
	ctx->application_name = ctx->application_name ?
		pstrdup(ctx->application_name) : NULL;
	ctx->app_user = ctx->app_user ? pstrdup(ctx->app_user) : NULL;
	ctx->context = ctx->context ? pstrdup(ctx->context) : NULL;
	session.roleid = GetSessionUserId();
	session.role = ctx->session_role;	/* already in TopMemoryContext */
	session.database = ctx->database;
	MemoryContextSwitchTo(old);
	session_excluded = !audit_log_connections || audit_session_excluded();
	session_login_captured = true;
}

/*
 * COMMIT of InitPostgres's transaction: queue the login, arm the logout;
 * neither with audit.log_connections off or for a login role in
 * audit.exclude_roles (the session's errors are still recorded).
 */
static void
session_record_login(void)
{
	AuditEvent	event;
	char		detail[DETAIL_BYTES];
	DetailJson	json;

	session_logged_in = true;
	if (session_excluded)
		return;
	memset(&event, 0, sizeof(event));
	event.kind = "login";
	if (session_auth_method != NULL)
	{
		detail_begin(&json, detail, sizeof(detail));
		detail_string(&json, "auth_method", session_auth_method);
		event.detail = detail_end(&json);
	}
	(void) audit_queue_event(&event, &session.login, MyDatabaseId,
							 session.database, false);
	before_shmem_exit(session_logout, (Datum) 0);
}

/* A FATAL before the login was recorded: a failed login. */
static void
session_record_login_failed(const ErrorData *edata)
{
	AuditQueueEntry entry;
	char		sqlstate[6];
	char		detail[DETAIL_BYTES];
	Port	   *port = MyProcPort;

	memset(&entry, 0, sizeof(entry));
	strlcpy(sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(sqlstate));
	entry.event.kind = "login_failed";
	entry.event.sqlstate = sqlstate;
	entry.event.message = edata->message;
	entry.event.detail = session_error_detail(edata, true, detail);
	entry.ctx.occurred_at = GetCurrentTimestamp();
	entry.ctx.session_role = port ? nonempty(port->user_name) : NULL;
	entry.ctx.client_addr = session_client_addr();
	entry.ctx.client_port = client_port;
	entry.ctx.application_name = port ? nonempty(port->application_name) : NULL;
	entry.ctx.backend_pid = MyProcPid;
	entry.ctx.database = port ? nonempty(port->database_name) : NULL;
	entry.ctx.nesting_level = -1;
	entry.dbid = MyDatabaseId;
	entry.dbname = entry.ctx.database;
	(void) audit_queue_entry(&entry, true);
}

/*
 * An ERROR or FATAL of a logged-in session: an error event, waited for,
 * unless the session is being ended by the server or an administrator
 * (a shutdown takes the sealers down too: no point in holding it up).
 */
static void
session_record_error(const ErrorData *edata)
{
	AuditQueueEntry entry;
	char		sqlstate[6];
	char		detail[DETAIL_BYTES];

	memset(&entry, 0, sizeof(entry));
	session_context_now(&entry);
	strlcpy(sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(sqlstate));
	entry.event.kind = "error";
	entry.event.sqlstate = sqlstate;
	entry.event.message = edata->message;
	entry.event.statement = debug_query_string;
	entry.event.detail = session_error_detail(edata, false, detail);
	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION &&
		edata->elevel >= FATAL)
		(void) audit_queue_entry(&entry, false);
	else
		(void) audit_queue_entry_deferred(&entry);
}

/*
 * The guard is about to refuse a statement (SQLSTATE 42501, message and
 * detail):
 * record it now, as the error event the log hook would record, so that
 * the attempt is in the trail even if the session keeps its errors out of
 * the server log (log_min_messages).  The log hook then lets that error
 * pass.
 */
void
audit_session_record_refusal(const char *message, const char *detail)
{
	ErrorData	edata = {0};

	if (!session_logged_in || !session_audited_process() || session_emitting)
		return;
	edata.sqlerrcode = ERRCODE_INSUFFICIENT_PRIVILEGE;
	edata.message = (char *) message;
	edata.detail = (char *) detail;
	session_emitting = true;
	session_record_error(&edata);
	session_emitting = false;
	strlcpy(session_refusal, message, sizeof(session_refusal));
}

/*
 * After a failed statement's transaction (or subtransaction) has released
 * its locks, wait for its error event to be committed: the session goes
 * on only once its failure is in the trail, and holds nobody up meanwhile.
 * (The client has the error message already: the error is reported before
 * the transaction is aborted.)
 */
static void
session_release_callback(ResourceReleasePhase phase,
						 bool isCommit pg_attribute_unused(),
						 bool isTopLevel pg_attribute_unused(),
						 void *arg pg_attribute_unused())
{
	if (phase == RESOURCE_RELEASE_AFTER_LOCKS)
		audit_queue_wait_deferred();
}

/* ------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------
 */

/*
 * Authentication has run: note whether it passed and with which method.
 * Nothing is recorded yet (see the file header).
 */
static void
session_client_auth(Port *port, int status)
{
	if (port != NULL && port->hba != NULL)
		session_auth_method = hba_authname(port->hba->auth_method);
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);
	if (status == STATUS_OK && session_audited_process())
		session_authenticated = true;
}

static void
session_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT)
		session_emitting = false;	/* should the hook ever have thrown */
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT)
		session_refusal[0] = '\0';	/* a refusal caught by an EXCEPTION block */
	if (!session_authenticated || session_logged_in || !OidIsValid(MyDatabaseId))
		return;
	if (event == XACT_EVENT_PRE_COMMIT)
		session_capture_login();
	else if (event == XACT_EVENT_COMMIT && session_login_captured)
		session_record_login();
}

/*
 * Every message bound for the server log passes here; only ERROR and
 * FATAL of audited sessions are recorded, and never those of audit_ext's
 * own internal queries.  Note that a message the server does not log
 * (log_min_messages above ERROR) does not reach this hook.
 */
static void
session_emit_log(ErrorData *edata)
{
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
	if (edata->elevel < ERROR || edata->elevel >= PANIC || session_emitting ||
		!session_audited_process() || audit_in_internal())
		return;
	if (session_refusal[0] != '\0' && edata->message != NULL &&
		edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		strncmp(edata->message, session_refusal, sizeof(session_refusal) - 1) == 0)
	{
		session_refusal[0] = '\0'; /* the guard recorded it */
		return;
	}

	session_emitting = true;
	if (session_logged_in)
		session_record_error(edata);
	else if (edata->elevel >= FATAL)
		session_record_login_failed(edata);
	session_emitting = false;
}

void
audit_session_define_settings(void)
{
	DefineCustomBoolVariable("audit.log_connections",
							 "Records logins and logouts.",
							 "Failed logins and failed statements are recorded whatever it says.  "
							 "Read when a session starts: it can be set per role and per database.",
							 &audit_log_connections,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	audit_queue_define_settings();
}

/*
 * Called from _PG_init: the queue's shared memory, and the hooks.
 */
void
audit_session_events_init(void)
{
	audit_queue_init();
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = session_client_auth;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = session_emit_log;
	RegisterXactCallback(session_xact_callback, NULL);
	RegisterResourceReleaseCallback(session_release_callback, NULL);
}
