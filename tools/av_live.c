/*-------------------------------------------------------------------------
 *
 * av_live.c
 *	  audit_verify "CONNINFO": verify a live database, as audit.verify()
 *	  does inside it, from the outside.
 *
 * The rows of four cursors (blocks, transactions, events in their
 * transaction's position order, events without a transaction) become the
 * records the walk of av_check.c reads.  The two event cursors, nearly all
 * of what is read, are binary: the server need not print integers,
 * timestamps and hashes as text, nor the tool parse them back.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "catalog/pg_type_d.h"

#include "av_check.h"
#include "av_db.h"
#include "av_modes.h"

typedef struct Live
{
	AvDb		db;
	AvCursor	blocks;
	AvCursor	txns;
	AvCursor	events;
	AvCursor	orphans;
	bool		in_orphans;
} Live;

/* An integer column; NULL reads as 0, as the server's verify reads it. */
static int64
int_col(const AvCursor *c, int col)
{
	const char *v = av_cursor_value(c, col);
	int64		i;

	if (v == NULL)
		return 0;
	if (!av_parse_int64(v, &i))
		av_fatal("the database returned \"%s\" where an integer was expected", v);
	return i;
}

static uint64
uint_col(const AvCursor *c, int col)
{
	const char *v = av_cursor_value(c, col);
	uint64		u;

	if (v == NULL)
		return 0;
	if (!av_parse_uint64(v, &u))
		av_fatal("the database returned \"%s\" where a transaction id was expected", v);
	return u;
}

/* A hex (bytea) column into fresh memory; false for NULL. */
static bool
hex_col(const AvCursor *c, int col, uint8 **bytes, size_t *len)
{
	const char *v = av_cursor_value(c, col);

	if (v == NULL)
		return false;
	if (!av_hex_decode(v, av_cursor_length(c, col), bytes, len))
		av_fatal("the database returned malformed hex");
	return true;
}

/* A hex column's bytes (fresh memory; NULL for SQL NULL) and length. */
static uint8 *
hex_col_or_null(const AvCursor *c, int col, size_t *len)
{
	uint8	   *bytes = NULL;

	*len = 0;
	(void) hex_col(c, col, &bytes, len);
	return bytes;
}

/* A hash column: unusable when NULL or not 32 bytes. */
static void
hash_col(const AvCursor *c, int col, AvHash *out)
{
	size_t		len;
	uint8	   *bytes = hex_col_or_null(c, col, &len);

	av_set_hash(out, bytes, len);
	free(bytes);
}

static int
popcount64(uint64 v)
{
	return __builtin_popcountll(v);
}

/* tree_frontier, well formed as the server's audit_block_state_decode wants it. */
static void
block_frontier(const AvCursor *c, AvBlock *b)
{
	uint8	   *bytes = NULL;
	size_t		len = 0;
	int64		id = b->head.block_id;

	b->has_frontier = true;
	b->frontier_ok = hex_col(c, AV_BLOCK_FRONTIER, &bytes, &len) &&
		id > 0 && b->block_hash.ok && len % AUDIT_HASH_LEN == 0 &&
		av_cursor_value(c, AV_BLOCK_LAST) != NULL &&
		(int) (len / AUDIT_HASH_LEN) == popcount64((uint64) id);
	if (b->frontier_ok)
	{
		b->frontier.size = (uint64) id;
		b->frontier.count = (int) (len / AUDIT_HASH_LEN);
		memcpy(b->frontier.hash, bytes, len);
	}
	free(bytes);
}

static void
block_signature(const AvCursor *c, AvBlock *b)
{
	uint8	   *sig = NULL;
	const char *key_id = av_cursor_value(c, AV_BLOCK_KEY_ID);

	if (hex_col(c, AV_BLOCK_SIGNATURE, &sig, &b->signature_len))
	{
		b->has_signature = true;
		memcpy(b->signature, sig, Min(b->signature_len, (size_t) AV_SIGNATURE_LEN));
		free(sig);
	}
	if (key_id != NULL)
	{
		b->has_key_id = true;
		b->key_id_len = Min(av_cursor_length(c, AV_BLOCK_KEY_ID), (size_t) AV_KEY_ID_MAX);
		memcpy(b->key_id, key_id, b->key_id_len);
	}
}

static bool
live_next_block(void *arg, AvBlock *b)
{
	Live	   *l = arg;
	AvCursor   *c = &l->blocks;
	AvHash		h;

	if (!av_cursor_next(c))
		return false;
	memset(b, 0, sizeof(*b));
	b->head.block_id = int_col(c, AV_BLOCK_ID);
	b->head.first_position = int_col(c, AV_BLOCK_FIRST);
	b->head.last_position = int_col(c, AV_BLOCK_LAST);
	b->head.txn_count = (int32) int_col(c, AV_BLOCK_TXN_COUNT);
	b->head.event_count = int_col(c, AV_BLOCK_EVENT_COUNT);
	b->head.sealed_at = int_col(c, AV_BLOCK_SEALED_AT);
	hash_col(c, AV_BLOCK_TXN_ROOT, &h);
	memcpy(b->head.txn_root, h.h, AUDIT_HASH_LEN);	/* zeros if malformed */
	hash_col(c, AV_BLOCK_PREV_HASH, &h);
	memcpy(b->head.prev_hash, h.h, AUDIT_HASH_LEN);
	hash_col(c, AV_BLOCK_HASH, &b->block_hash);
	hash_col(c, AV_BLOCK_TREE_ROOT, &b->tree_root);
	block_signature(c, b);
	if (l->db.base_tables)
		block_frontier(c, b);
	return true;
}

static bool
live_next_txn(void *arg, AvTxn *t)
{
	Live	   *l = arg;
	AvCursor   *c = &l->txns;
	AvHash		digest;

	if (!av_cursor_next(c))
		return false;
	memset(t, 0, sizeof(*t));
	t->entry.txid = uint_col(c, AV_TXN_TXID);
	t->entry.position = int_col(c, AV_TXN_POSITION);
	t->entry.event_count = (int32) int_col(c, AV_TXN_EVENT_COUNT);
	t->entry.committed_at = int_col(c, AV_TXN_COMMITTED_AT);
	hash_col(c, AV_TXN_DIGEST, &digest);
	t->digest_ok = digest.ok;
	memcpy(t->entry.digest, digest.h, AUDIT_HASH_LEN);
	return true;
}

/*
 * The event cursors are binary (av_sql_events_by_position()): integers and
 * timestamps come as big-endian integers, bytea as its bytes, text and
 * inet as their text, jsonb as a version byte and its text.
 */

/* One column of the current row: its bytes (NULL for SQL NULL) and length. */
typedef struct BinValue
{
	const char *v;
	size_t		len;
} BinValue;

static BinValue
bin_value(const AvCursor *c, int col)
{
	BinValue	b = {av_cursor_value(c, col), 0};

	if (b.v != NULL)
		b.len = av_cursor_length(c, col);
	return b;
}

/* An integer (int2, int4, int8, xid8, timestamptz); NULL reads as 0. */
static int64
bin_int(BinValue b)
{
	const uint8 *v = (const uint8 *) b.v;
	uint64		u = 0;

	if (v == NULL)
		return 0;
	if (b.len != 2 && b.len != 4 && b.len != 8)
		av_fatal("the database returned a value of %zu bytes where an integer was expected",
				 b.len);
	for (size_t i = 0; i < b.len; i++)
		u = u << 8 | v[i];
	if (b.len < 8 && (v[0] & 0x80) != 0)
		u |= ~UINT64CONST(0) << (8 * b.len);	/* sign-extended */
	return (int64) u;
}

/* A text, inet or jsonb value (not NULL) of column col: the bytes of its text. */
static void
bin_text(const AvCursor *c, int col, BinValue b, const char **s, size_t *len)
{
	*s = b.v;
	*len = b.len;
	if (av_cursor_type(c, col) != JSONBOID)
		return;
	if (*len < 1 || (*s)[0] != 1)
		av_fatal("the database returned jsonb in a binary format version this tool does not know");
	(*s)++;
	(*len)--;
}

/* The columns after the event's fields: version, hashes, archive, erasure. */
static void
event_extras(const AvCursor *c, AvEvent *ev)
{
	BinValue	version = bin_value(c, 1 + AV_EV_FORMAT_VERSION);
	BinValue	leaf = bin_value(c, 1 + AV_EV_LEAF_HASH);
	BinValue	archive = bin_value(c, 1 + AV_EV_ARCHIVE_ID);
	BinValue	erasure = bin_value(c, 1 + AV_EV_ERASURE);
	BinValue	salt = bin_value(c, 1 + AV_EV_ROW_SALT);

	ev->has_format_version = version.v != NULL;
	ev->format_version = bin_int(version);
	av_set_hash(&ev->leaf_hash, (const uint8 *) leaf.v, leaf.len);
	ev->archived = archive.v != NULL;
	ev->archive_id = bin_int(archive);
	if (erasure.v != NULL)
		bin_text(c, 1 + AV_EV_ERASURE, erasure, &ev->erasure, &ev->erasure_len);
	av_event_set_row_salt(ev, (const uint8 *) salt.v, salt.len);
}

/* An event row (after the leading position column) as an AvEvent. */
static void
event_from_row(const AvCursor *c, AvEvent *ev)
{
	av_event_init(ev);
	for (int i = 0; i < AV_EVENT_FIELDS; i++)
	{
		AvField    *f = &ev->f[i];
		BinValue	b = bin_value(c, 1 + i);

		f->isnull = b.v == NULL;
		if (f->isnull)
			continue;
		if (av_col_is_string(av_event_cols[i].kind))
			bin_text(c, 1 + i, b, &f->s, &f->len);
		else
			f->i = bin_int(b);
	}
	event_extras(c, ev);
}

static bool
live_next_event(void *arg, AvEventRec *rec)
{
	Live	   *l = arg;
	AvCursor   *c = l->in_orphans ? &l->orphans : &l->events;
	AvEvent		ev;

	if (!av_cursor_next(c))
	{
		if (l->in_orphans)
			return false;
		l->in_orphans = true;
		c = &l->orphans;
		if (!av_cursor_next(c))
			return false;
	}
	event_from_row(c, &ev);
	av_event_check(&ev, rec);
	rec->orphan = l->in_orphans;
	rec->position = l->in_orphans ? 0 : bin_int(bin_value(c, 0));
	return true;
}

static void
live_open_cursors(Live *l)
{
	char	   *sql;

	sql = av_sql_blocks(&l->db);
	av_cursor_open(&l->blocks, &l->db, "audit_verify_blocks", sql, 1000);
	free(sql);
	sql = av_sql_txns(&l->db);
	av_cursor_open(&l->txns, &l->db, "audit_verify_txns", sql, 5000);
	free(sql);
	sql = av_sql_events_by_position(&l->db);
	av_cursor_open_binary(&l->events, &l->db, "audit_verify_events", sql, 500);
	free(sql);
	sql = av_sql_orphan_events(&l->db);
	av_cursor_open_binary(&l->orphans, &l->db, "audit_verify_orphans", sql, 500);
	free(sql);
}

int
av_live_verify(const char *conninfo, const char *source, const AvKeyring *keys,
			   AvCheckpoints *cps)
{
	Live		l;
	AvSource	src;
	int			rc;

	memset(&l, 0, sizeof(l));
	memset(&src, 0, sizeof(src));
	av_db_connect(&l.db, conninfo, source);
	av_db_begin(&l.db);
	av_db_chain_id(&l.db, src.chain_id);
	av_db_archives(&l.db, &src.archives);
	live_open_cursors(&l);
	src.arg = &l;
	src.next_block = live_next_block;
	src.next_txn = live_next_txn;
	src.next_event = live_next_event;
	src.name = source ? av_psprintf("source \"%s\" of the hub in database \"%s\"", source, l.db.dbname)
		: av_psprintf("database \"%s\"", l.db.dbname);
	rc = av_check_trail(&src, keys, cps);
	av_cursor_close(&l.blocks);
	av_cursor_close(&l.txns);
	av_cursor_close(&l.events);
	av_cursor_close(&l.orphans);
	av_archives_free(&src.archives);
	av_db_finish(&l.db);
	return rc;
}
