/*-------------------------------------------------------------------------
 *
 * av_cursor.c
 *	  audit_verify: server-side cursors, read a batch at a time, the next
 *	  batch read ahead.
 *
 * When a batch arrives, the FETCH of the next one is sent at once and its
 * rows are left to come while this batch is worked on: the server reads
 * and prints the rows of batch n + 1 while the tool hashes those of batch
 * n, on another core; what it sends is taken into libpq's buffer every
 * few rows, so the server is never held up by a full socket.  One connection carries one statement at a time, so
 * a cursor whose rows are still on the way is read to the end (its result
 * kept for it) before any other statement is sent on the connection: by
 * another cursor, or av_db_query().
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_db.h"

/*
 * Rows worked on between two reads of what the server sent meanwhile: a
 * batch is larger than the socket's buffers, and a server that cannot send
 * stops printing rows.
 */
#define CONSUME_EVERY	100

/* The result of the statement sent last; any failure is fatal. */
static PGresult *
collect(AvCursor *c)
{
	PGresult   *res = av_db_result(c->db);

	c->db->reading = NULL;
	return res;
}

/* Send the FETCH of c's next batch, without waiting for it. */
static void
read_ahead(AvCursor *c)
{
	char	   *fetch = av_psprintf("FETCH FORWARD %d FROM %s", c->batch, c->name);

	av_cursor_settle(c->db);
	if (!PQsendQuery(c->db->conn, fetch))
		av_fatal("could not send a query to database \"%s\": %s", c->db->dbname,
				 PQerrorMessage(c->db->conn));
	c->db->reading = c;
	free(fetch);
}

/*
 * Before another statement is sent on the connection: the rows of a FETCH
 * sent ahead are read, and kept for their cursor.
 */
void
av_cursor_settle(AvDb *db)
{
	AvCursor   *c = db->reading;

	if (c == NULL)
		return;
	Assert(c->ahead == NULL);
	c->ahead = collect(c);
}

static void
cursor_open(AvCursor *c, AvDb *db, const char *name, const char *sql,
			int batch, bool binary)
{
	char	   *declare = av_psprintf("DECLARE %s %sNO SCROLL CURSOR FOR %s", name,
									  binary ? "BINARY " : "", sql);

	memset(c, 0, sizeof(*c));
	c->db = db;
	c->name = av_strdup(name);
	c->batch = batch;
	PQclear(av_db_query(db, declare));
	free(declare);
}

/* A cursor whose rows come as text. */
void
av_cursor_open(AvCursor *c, AvDb *db, const char *name, const char *sql, int batch)
{
	cursor_open(c, db, name, sql, batch, false);
}

/* A cursor whose rows come in binary, each column in its type's send form. */
void
av_cursor_open_binary(AvCursor *c, AvDb *db, const char *name, const char *sql,
					  int batch)
{
	cursor_open(c, db, name, sql, batch, true);
}

/* The next batch: the one read ahead, or one fetched now. */
static PGresult *
next_batch(AvCursor *c)
{
	PGresult   *res;

	if (c->db->reading == c)
		return collect(c);
	if (c->ahead != NULL)
	{
		res = c->ahead;
		c->ahead = NULL;
		return res;
	}
	read_ahead(c);
	return collect(c);
}

/* Move to the next row, taking the next batch when needed. */
bool
av_cursor_next(AvCursor *c)
{
	if (c->res != NULL && c->row + 1 < c->nrows)
	{
		c->row++;
		if (c->db->reading != NULL && c->row % CONSUME_EVERY == 0)
			(void) PQconsumeInput(c->db->conn); /* errors come with the result */
		return true;
	}
	if (c->done)
		return false;
	PQclear(c->res);
	c->res = next_batch(c);
	c->nrows = PQntuples(c->res);
	c->row = 0;
	if (c->nrows < c->batch)
		c->done = true;
	else
		read_ahead(c);
	return c->nrows > 0;
}

/* The text (or binary value) of a column of the current row; NULL for SQL NULL. */
const char *
av_cursor_value(const AvCursor *c, int col)
{
	if (col >= PQnfields(c->res))
		av_fatal("internal error: column %d of cursor %s does not exist", col, c->name);
	if (PQgetisnull(c->res, c->row, col))
		return NULL;
	return PQgetvalue(c->res, c->row, col);
}

size_t
av_cursor_length(const AvCursor *c, int col)
{
	return (size_t) PQgetlength(c->res, c->row, col);
}

/* The type of a column. */
Oid
av_cursor_type(const AvCursor *c, int col)
{
	return PQftype(c->res, col);
}

/* Close: a batch still on the way is read and dropped. */
void
av_cursor_close(AvCursor *c)
{
	if (c->db != NULL && c->db->reading == c)
		PQclear(collect(c));
	PQclear(c->ahead);
	PQclear(c->res);
	free(c->name);
	memset(c, 0, sizeof(*c));
}
