/*-------------------------------------------------------------------------
 *
 * av_live.c
 *	  audit_verify "CONNINFO": verify a live database, as audit.verify()
 *	  does inside it, from the outside.
 *
 * The rows of four cursors (blocks, transactions, events in their
 * transaction's position order, events without a transaction) become the
 * records the walk of av_check.c reads.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

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

/* An event row (after the leading position column) as an AvEvent. */
static void
event_from_row(const AvCursor *c, AvEvent *ev)
{
	uint8	   *salt;
	size_t		salt_len;

	av_event_init(ev);
	for (int i = 0; i < AV_EVENT_FIELDS; i++)
	{
		AvField    *f = &ev->f[i];
		int			col = 1 + i;

		f->isnull = av_cursor_value(c, col) == NULL;
		if (f->isnull)
			continue;
		if (av_col_is_string(av_event_cols[i].kind))
		{
			f->s = av_cursor_value(c, col);
			f->len = av_cursor_length(c, col);
		}
		else if (i == 1)		/* txid: xid8, unsigned */
			f->i = (int64) uint_col(c, col);
		else
			f->i = int_col(c, col);
	}
	ev->has_format_version = av_cursor_value(c, 1 + AV_EV_FORMAT_VERSION) != NULL;
	ev->format_version = int_col(c, 1 + AV_EV_FORMAT_VERSION);
	hash_col(c, 1 + AV_EV_LEAF_HASH, &ev->leaf_hash);
	ev->archived = av_cursor_value(c, 1 + AV_EV_ARCHIVE_ID) != NULL;
	ev->archive_id = ev->archived ? int_col(c, 1 + AV_EV_ARCHIVE_ID) : 0;
	ev->erasure = av_cursor_value(c, 1 + AV_EV_ERASURE);
	ev->erasure_len = ev->erasure ? av_cursor_length(c, 1 + AV_EV_ERASURE) : 0;
	salt = hex_col_or_null(c, 1 + AV_EV_ROW_SALT, &salt_len);
	av_event_set_row_salt(ev, salt, salt_len);
	free(salt);
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
	rec->position = l->in_orphans ? 0 : int_col(c, 0);
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
	av_cursor_open(&l->events, &l->db, "audit_verify_events", sql, 500);
	free(sql);
	sql = av_sql_orphan_events(&l->db);
	av_cursor_open(&l->orphans, &l->db, "audit_verify_orphans", sql, 500);
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
