/*-------------------------------------------------------------------------
 *
 * av_db.c
 *	  audit_verify: the connection, the snapshot, and the queries that
 *	  read the trail from a live database.
 *
 * Everything is read in one REPEATABLE READ, READ ONLY transaction, so the
 * blocks, transactions and events seen belong together, through cursors a
 * batch at a time (av_cursor.c), so a trail of millions of events needs no
 * more memory than a small one.  Values are fetched in forms that depend on
 * no setting.  As text: timestamps as microseconds since 2000-01-01, bytea
 * as hex, inet through its output function (the bare column, not ::text,
 * which adds /32), jsonb through its output function too (its canonical
 * text, what FORMAT.md hashes), text in the database encoding
 * (client_encoding is set to it).  The event cursors are binary
 * (column_expr()): the same values in their types' binary forms, inet
 * printed by format().
 *
 * A database whose extension is not updated yet has the event table of an
 * older layout, without the columns of the newer format versions: they are
 * read as NULL.  So is row_salt where the relation read does not show it.
 *
 * A superuser (or any role that may read the base tables) reads audit.event,
 * audit.txn and audit.block, which also show tree_frontier; audit_reader
 * reads the public views audit.events, audit.transactions, audit.blocks.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_db.h"

/* Microseconds since 2000-01-01 UTC, exact; the infinities as the server stores them. */
#define SQL_MICROSECONDS(col) \
	"CASE WHEN " col " = 'infinity' THEN 9223372036854775807" \
	" WHEN " col " = '-infinity' THEN -9223372036854775807 - 1" \
	" ELSE (extract(epoch FROM " col ") * 1000000)::bigint - 946684800000000 END"

const AvColumn av_block_cols[AV_BLOCK_FRONTIER + 1] = {
	{"block_id", "block_id", AV_COL_INT},
	{"first_position", "first_position", AV_COL_INT},
	{"last_position", "last_position", AV_COL_INT},
	{"txn_count", "txn_count", AV_COL_INT},
	{"event_count", "event_count", AV_COL_INT},
	{"sealed_at_us", "sealed_at", AV_COL_TIME},
	{"txn_root", "txn_root", AV_COL_HEX},
	{"prev_hash", "prev_hash", AV_COL_HEX},
	{"block_hash", "block_hash", AV_COL_HEX},
	{"tree_root", "tree_root", AV_COL_HEX},
	{"signature", "signature", AV_COL_HEX},
	{"key_id", "key_id", AV_COL_TEXT},
	{"tree_frontier", "tree_frontier", AV_COL_HEX}
};

const AvColumn av_txn_cols[AV_TXN_NCOLS] = {
	{"txid", "txid", AV_COL_INT},
	{"position", "position", AV_COL_INT},
	{"event_count", "event_count", AV_COL_INT},
	{"committed_at_us", "committed_at", AV_COL_TIME},
	{"digest", "digest", AV_COL_HEX}
};

/*
 * The encoded fields in encoding order (FORMAT.md): those of format version
 * 1, then those versions 2 and 3 added (a row image, like jsonb, as its
 * canonical text); then three more.
 */
const AvColumn av_event_cols[AV_EV_NCOLS] = {
	{"event_id", "event_id", AV_COL_INT},
	{"txid", "txid", AV_COL_INT},
	{"occurred_at_us", "occurred_at", AV_COL_TIME},
	{"kind", "kind", AV_COL_TEXT},
	{"command", "command", AV_COL_TEXT},
	{"object_name", "object_name", AV_COL_TEXT},
	{"session_role", "session_role", AV_COL_TEXT},
	{"effective_role", "effective_role", AV_COL_TEXT},
	{"client_addr", "client_addr", AV_COL_INET},
	{"client_port", "client_port", AV_COL_INT},
	{"application_name", "application_name", AV_COL_TEXT},
	{"backend_pid", "backend_pid", AV_COL_INT},
	{"database", "database", AV_COL_TEXT},
	{"statement", "statement", AV_COL_TEXT},
	{"rows_affected", "rows_affected", AV_COL_INT},
	{"class", "class", AV_COL_TEXT},
	{"statement_id", "statement_id", AV_COL_INT},
	{"nesting_level", "nesting_level", AV_COL_INT},
	{"app_user", "app_user", AV_COL_TEXT},
	{"context", "context", AV_COL_JSON},
	{"parameters", "parameters", AV_COL_JSON},
	{"objects", "objects", AV_COL_JSON},
	{"sqlstate", "sqlstate", AV_COL_TEXT},
	{"message", "message", AV_COL_TEXT},
	{"detail", "detail", AV_COL_JSON},
	{"row_key", "row_key", AV_COL_JSON},
	{"old_row", "old_row", AV_COL_JSON},
	{"new_row", "new_row", AV_COL_JSON},
	{"changed_columns", "changed_columns", AV_COL_JSON},
	{"format_version", "format_version", AV_COL_INT},
	{"leaf_hash", "leaf_hash", AV_COL_HEX},
	{"row_salt", "row_salt", AV_COL_HEX},
	{"archive_id", "archive_id", AV_COL_INT},
	{"erasure", "erasure", AV_COL_JSON}
};

/* audit.archives, as far as verification needs it (archives.jsonl). */
const AvColumn av_archive_cols[3] = {
	{"archive_id", "archive_id", AV_COL_INT},
	{"first_block", "first_block", AV_COL_INT},
	{"last_block", "last_block", AV_COL_INT}
};

/* libpq's message without its trailing newlines. */
static char *
conn_message(PGconn *conn, PGresult *res)
{
	char	   *msg = av_strdup(res && PQresultErrorMessage(res)[0] ?
								PQresultErrorMessage(res) : PQerrorMessage(conn));
	size_t		len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	return msg;
}

static void
check_conn(AvDb *db, const char *what)
{
	if (PQstatus(db->conn) != CONNECTION_OK)
		av_fatal("%s: %s", what, conn_message(db->conn, NULL));
}

static PGresult *
checked_result(AvDb *db, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	av_fatal("query failed on database \"%s\": %s", db->dbname,
			 conn_message(db->conn, res));
}

/* Run a statement; any failure is fatal (exit 2) with the server's message. */
PGresult *
av_db_query(AvDb *db, const char *sql)
{
	av_cursor_settle(db);
	return checked_result(db, PQexec(db->conn, sql));
}

/*
 * The result of the statement sent by PQsendQuery(), read to the end of
 * the connection's results; any failure is fatal, as in av_db_query().
 */
PGresult *
av_db_result(AvDb *db)
{
	PGresult   *res = PQgetResult(db->conn);
	PGresult   *extra;

	if (res == NULL)
		av_fatal("query failed on database \"%s\": %s", db->dbname,
				 conn_message(db->conn, NULL));
	while ((extra = PQgetResult(db->conn)) != NULL)
		PQclear(extra);
	return checked_result(db, res);
}

static void
db_exec(AvDb *db, const char *sql)
{
	PQclear(av_db_query(db, sql));
}

void
av_db_connect(AvDb *db, const char *conninfo, const char *source)
{
	const char *encoding;

	memset(db, 0, sizeof(*db));
	db->source = source ? av_strdup(source) : NULL;
	db->conn = PQconnectdb(conninfo);
	if (db->conn == NULL)
		av_fatal("out of memory connecting to the database");
	check_conn(db, "could not connect to the database");
	db->dbname = av_strdup(PQdb(db->conn));
	/* Text is hashed in the database encoding: fetch it unconverted. */
	encoding = PQparameterStatus(db->conn, "server_encoding");
	if (encoding == NULL || PQsetClientEncoding(db->conn, encoding) != 0)
		av_fatal("could not set client_encoding to the database encoding (%s)",
				 encoding ? encoding : "unknown");
	db_exec(db, "SET statement_timeout = 0");
	db_exec(db, "SET idle_in_transaction_session_timeout = 0");
	/* Compiling the cursors' queries costs more than it saves on their rows. */
	db_exec(db, "SET jit = off");
}

/* How many of names (quoted, comma-separated) the event relation has. */
static int
event_rel_columns(AvDb *db, const char *names)
{
	char	   *sql = av_psprintf("SELECT count(*) FROM pg_catalog.pg_attribute"
								  " WHERE attrelid = '%s'::pg_catalog.regclass AND attnum > 0"
								  " AND NOT attisdropped AND attname IN (%s)",
								  db->source ? "audit.event" : db->event_rel, names);
	PGresult   *res = av_db_query(db, sql);
	int			found = atoi(PQgetvalue(res, 0, 0));

	PQclear(res);
	free(sql);
	return found;
}

/*
 * The newest event format version whose columns the event relation has:
 * the columns each version added, all or none of them.  A database whose
 * extension is not updated yet has an older layout: 0.1's is that of
 * format 1.
 */
static int
event_layout_format(AvDb *db)
{
	int			format = 1;

	for (int v = 2; v <= AV_EVENT_FORMAT_MAX; v++)
	{
		char	   *names = av_strdup("");
		int			expected = 0;
		int			found;

		for (int i = 0; i < AV_EVENT_FIELDS; i++)
		{
			char	   *next;

			if (av_event_field_since(i) != v)
				continue;
			next = av_psprintf("%s%s'%s'", names, expected++ > 0 ? ", " : "",
							   av_event_cols[i].name);
			free(names);
			names = next;
		}
		found = event_rel_columns(db, names);
		free(names);
		if (found == 0)
			break;
		if (found != expected)
			av_fatal("%s has %d of the %d columns event format version %d added",
					 db->event_rel, found, expected, v);
		format = v;
	}
	return format;
}

/*
 * Without row_salt (the public view audit.events lacks it) row events
 * cannot be encoded: say so, rather than report every one as altered.
 */
static void
check_row_salt_readable(AvDb *db)
{
	char	   *sql;
	PGresult   *res;

	if (db->has_row_salt || db->event_format < 3)
		return;
	sql = av_psprintf("SELECT EXISTS (SELECT FROM %s e WHERE row_key IS NOT NULL"
					  " OR old_row IS NOT NULL OR new_row IS NOT NULL)", db->event_rel);
	res = av_db_query(db, sql);
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		av_fatal("%s does not show row_salt, without which row events cannot be verified;"
				 " connect as a role that may read audit.event", db->event_rel);
	PQclear(res);
	free(sql);
}

static void
free_relations(AvDb *db)
{
	free(db->event_rel);
	free(db->txn_rel);
	free(db->block_rel);
	free(db->chain_rel);
	free(db->archive_rel);
	db->event_rel = db->txn_rel = db->block_rel = db->chain_rel = db->archive_rel = NULL;
}

/* Fails unless extension name is installed in this database. */
static void
require_extension(AvDb *db, const char *name, const char *why)
{
	char	   *sql = av_psprintf("SELECT FROM pg_catalog.pg_extension WHERE extname = '%s'", name);
	PGresult   *res = av_db_query(db, sql);

	if (PQntuples(res) != 1)
		av_fatal("the extension %s is not installed in database \"%s\"%s", name, db->dbname, why);
	PQclear(res);
	free(sql);
}

/* A database with audit_ext: the tables, or the views audit_reader reads. */
static void
trail_relations(AvDb *db)
{
	PGresult   *res;

	require_extension(db, "audit_ext", "");
	res = av_db_query(db,
					  "SELECT pg_catalog.has_table_privilege('audit.event', 'SELECT')"
					  " AND pg_catalog.has_table_privilege('audit.txn', 'SELECT')"
					  " AND pg_catalog.has_table_privilege('audit.block', 'SELECT')");
	db->base_tables = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	db->event_rel = av_strdup(db->base_tables ? "audit.event" : "audit.events");
	db->txn_rel = av_strdup(db->base_tables ? "audit.txn" : "audit.transactions");
	db->block_rel = av_strdup(db->base_tables ? "audit.block" : "audit.blocks");
	db->chain_rel = av_strdup("audit.chain");
	db->archive_rel = av_strdup("audit.archives");
}

/* A hub's table's rows of one source, as a subquery. */
static char *
source_rows(const char *table, const char *literal)
{
	return av_psprintf("(SELECT * FROM audit.%s WHERE source = %s)", table, literal);
}

/*
 * A hub (audit_hub): every source's trail in the same tables, told apart by
 * the column source; read one source's rows as if they were a trail.
 */
static void
hub_relations(AvDb *db)
{
	char	   *lit = PQescapeLiteral(db->conn, db->source, strlen(db->source));
	char	   *sql;
	PGresult   *res;

	if (lit == NULL)
		av_fatal("could not quote the source name: %s", PQerrorMessage(db->conn));
	require_extension(db, "audit_hub", "; --source reads a hub");
	sql = av_psprintf("SELECT FROM audit.chain WHERE source = %s", lit);
	res = av_db_query(db, sql);
	if (PQntuples(res) != 1)
		av_fatal("the hub in database \"%s\" has no source \"%s\" (audit_hub.sources lists them)",
				 db->dbname, db->source);
	PQclear(res);
	free(sql);
	db->base_tables = true;
	db->event_rel = source_rows("event", lit);
	db->txn_rel = source_rows("txn", lit);
	db->block_rel = source_rows("block", lit);
	db->chain_rel = source_rows("chain", lit);
	db->archive_rel = source_rows("archive", lit);
	PQfreemem(lit);
}

/* One snapshot for everything; and which relations this role may read. */
void
av_db_begin(AvDb *db)
{
	db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	free_relations(db);
	if (db->source)
		hub_relations(db);
	else
		trail_relations(db);
	db->event_format = event_layout_format(db);
	db->has_row_salt = event_rel_columns(db, "'row_salt'") == 1;
	db->has_archive_id = event_rel_columns(db, "'archive_id'") == 1;
	db->has_erasure = event_rel_columns(db, "'erasure'") == 1;
	check_row_salt_readable(db);
}

/* The trail's chain id (audit.chain, readable by audit_reader). */
void
av_db_chain_id(AvDb *db, uint8 out[AUDIT_CHAIN_ID_LEN])
{
	char	   *sql = av_psprintf("SELECT encode(c.chain_id, 'hex') FROM %s c", db->chain_rel);
	PGresult   *res = av_db_query(db, sql);
	uint8	   *bytes;
	size_t		len;

	free(sql);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		av_fatal("audit.chain must hold exactly one chain id, it holds %d rows",
				 PQntuples(res));
	if (!av_hex_decode(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)), &bytes, &len) ||
		len != AUDIT_CHAIN_ID_LEN)
		av_fatal("the chain id in audit.chain is not %d bytes", AUDIT_CHAIN_ID_LEN);
	memcpy(out, bytes, AUDIT_CHAIN_ID_LEN);
	free(bytes);
	PQclear(res);
}

/*
 * SELECT audit.digest() as JSON text, or NULL when nothing is sealed; NULL
 * at a hub too, which has no such function (a bundle of a source read there
 * carries no checkpoint: verify it with one saved at the source).
 */
char *
av_db_digest(AvDb *db)
{
	PGresult   *res;
	char	   *json = NULL;

	if (db->source)
		return NULL;
	res = av_db_query(db, "SELECT audit.digest()");
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		json = av_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return json;
}

void
av_db_finish(AvDb *db)
{
	if (db->conn)
	{
		PGresult   *res;

		av_cursor_settle(db);
		res = PQexec(db->conn, "COMMIT");

		PQclear(res);
		PQfinish(db->conn);
	}
	free(db->dbname);
	free(db->source);
	free_relations(db);
	memset(db, 0, sizeof(*db));
}

/*
 * The expression of column col of a kind, for rows fetched as text or, if
 * binary, in binary (a timestamp's binary form is its microseconds since
 * 2000, the infinities as the server stores them; bytea's is its bytes;
 * inet's is not its text: format() prints it through its output function,
 * and NULL stays NULL).
 */
static char *
column_expr(const char *col, AvColKind kind, bool binary)
{
	if (kind == AV_COL_TIME && !binary)
		return av_psprintf(SQL_MICROSECONDS("%s"), col, col, col);
	if (kind == AV_COL_HEX && !binary)
		return av_psprintf("encode(%s, 'hex')", col);
	if (kind == AV_COL_INET && binary)
		return av_psprintf("CASE WHEN %s IS NOT NULL THEN pg_catalog.format('%%s', %s) END",
						   col, col);
	return av_strdup(col);
}

/*
 * The columns for a select list, as column_expr() makes them; NULL for the
 * columns the relation lacks (absent[i]; absent may be NULL).
 */
static char *
select_list(const AvColumn *cols, int n, const char *alias, const bool *absent,
			bool binary)
{
	char	   *out = av_strdup("");

	for (int i = 0; i < n; i++)
	{
		char	   *col = av_psprintf("%s.%s", alias, cols[i].name);
		char	   *expr;
		char	   *next;

		if (absent && absent[i])
			expr = av_strdup("NULL");
		else
			expr = column_expr(col, cols[i].kind, binary);
		next = av_psprintf("%s%s%s", out, i > 0 ? ", " : "", expr);
		free(out);
		free(col);
		free(expr);
		out = next;
	}
	return out;
}

/* before, the columns (NULL for those absent), after. */
static char *
sql_with_list(const char *before, const AvColumn *cols, int n,
			  const char *alias, const char *after, const bool *absent,
			  bool binary)
{
	char	   *list = select_list(cols, n, alias, absent, binary);
	char	   *sql = av_psprintf("%s%s%s", before, list, after);

	free(list);
	return sql;
}

/*
 * before, the event columns (alias e; NULL for those of format versions
 * newer than the relation's layout, and for row_salt if it lacks it), then
 * after.
 */
static char *
sql_with_events(const AvDb *db, const char *before, const char *after,
				bool binary)
{
	bool		absent[AV_EV_NCOLS] = {0};

	for (int i = av_event_field_count(db->event_format); i < AV_EVENT_FIELDS; i++)
		absent[i] = true;
	absent[AV_EV_ROW_SALT] = !db->has_row_salt;
	absent[AV_EV_ARCHIVE_ID] = !db->has_archive_id;
	absent[AV_EV_ERASURE] = !db->has_erasure;
	return sql_with_list(before, av_event_cols, AV_EV_NCOLS, "e", after, absent,
						 binary);
}

/* Blocks in id order; with tree_frontier when the base table is read. */
char *
av_sql_blocks(const AvDb *db)
{
	char	   *from = av_psprintf(" FROM %s b ORDER BY b.block_id", db->block_rel);
	char	   *sql = sql_with_list("SELECT ", av_block_cols,
									db->base_tables ? AV_BLOCK_FRONTIER + 1 : AV_BLOCK_NCOLS,
									"b", from, NULL, false);

	free(from);
	return sql;
}

char *
av_sql_txns(const AvDb *db)
{
	char	   *from = av_psprintf(" FROM %s t ORDER BY t.position", db->txn_rel);
	char	   *sql = sql_with_list("SELECT ", av_txn_cols, AV_TXN_NCOLS, "t", from, NULL, false);

	free(from);
	return sql;
}

/*
 * Events with their transaction's position first, in the walk's order;
 * for a binary cursor (column_expr()).
 */
char *
av_sql_events_by_position(const AvDb *db)
{
	char	   *from = av_psprintf(" FROM %s t JOIN %s e ON e.txid = t.txid"
								   " ORDER BY t.position, e.event_id",
								   db->txn_rel, db->event_rel);
	char	   *sql = sql_with_events(db, "SELECT t.position, ", from, true);

	free(from);
	return sql;
}

/* Events whose transaction has no row, position NULL first; binary too. */
char *
av_sql_orphan_events(const AvDb *db)
{
	char	   *from = av_psprintf(" FROM %s e WHERE NOT EXISTS"
								   " (SELECT FROM %s t WHERE t.txid = e.txid)"
								   " ORDER BY e.txid, e.event_id",
								   db->event_rel, db->txn_rel);
	char	   *sql = sql_with_events(db, "SELECT NULL::bigint, ", from, true);

	free(from);
	return sql;
}

/* Events in id order, for a bundle. */
char *
av_sql_events_by_id(const AvDb *db)
{
	char	   *from = av_psprintf(" FROM %s e ORDER BY e.event_id", db->event_rel);
	char	   *sql = sql_with_events(db, "SELECT ", from, false);

	free(from);
	return sql;
}

/* The archives (audit.archives), by archive_id; none before audit_ext 0.4. */
char *
av_sql_archives(const AvDb *db)
{
	char	   *from;
	char	   *sql;

	if (!db->has_archive_id)
		return av_strdup("SELECT NULL::bigint, NULL::bigint, NULL::bigint WHERE false");
	from = av_psprintf(" FROM %s a ORDER BY a.archive_id", db->archive_rel);
	sql = sql_with_list("SELECT ", av_archive_cols, 3, "a", from, NULL, false);
	free(from);
	return sql;
}

void
av_db_archives(AvDb *db, AvArchives *out)
{
	char	   *sql = av_sql_archives(db);
	PGresult   *res = av_db_query(db, sql);

	memset(out, 0, sizeof(*out));
	for (int r = 0; r < PQntuples(res); r++)
	{
		int64		v[3];

		for (int c = 0; c < 3; c++)
			if (!av_parse_int64(PQgetvalue(res, r, c), &v[c]))
				av_fatal("audit.archives holds a value that is not an integer");
		av_archives_add(out, v[0], v[1], v[2]);
	}
	PQclear(res);
	free(sql);
	av_archives_sort(out);
}
