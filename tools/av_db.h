/*-------------------------------------------------------------------------
 *
 * av_db.h
 *	  audit_verify: reading the trail from a live database through libpq,
 *	  in one consistent snapshot, through cursors (av_cursor.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_DB_H
#define AV_DB_H

#include "av.h"

#include "libpq-fe.h"

struct AvCursor;

typedef struct AvDb
{
	PGconn	   *conn;
	struct AvCursor *reading;	/* whose FETCH was sent, its rows not read */
	char	   *dbname;
	char	   *source;			/* a hub's source (--source), or NULL */
	bool		base_tables;	/* audit.event etc.; else the public views */
	/* What the queries read FROM: a relation, or at a hub a subquery */
	char	   *event_rel;		/* audit.event or audit.events */
	char	   *txn_rel;		/* audit.txn or audit.transactions */
	char	   *block_rel;		/* audit.block or audit.blocks */
	char	   *chain_rel;		/* audit.chain */
	char	   *archive_rel;	/* audit.archives (0.4) */
	int			event_format;	/* newest event format whose columns it has */
	bool		has_row_salt;	/* the event relation shows row_salt */
	bool		has_archive_id; /* ... and archive_id (audit_ext 0.4) */
	bool		has_erasure;	/* ... and erasure (audit_ext 0.4) */
} AvDb;

/* A server-side cursor, read a batch of rows at a time, one ahead. */
typedef struct AvCursor
{
	AvDb	   *db;
	char	   *name;
	PGresult   *res;
	PGresult   *ahead;			/* the next batch, read while another cursor's came */
	int			row;
	int			nrows;
	int			batch;
	bool		done;
} AvCursor;

/* The columns each query returns, in this order. */
enum
{
	AV_BLOCK_ID, AV_BLOCK_FIRST, AV_BLOCK_LAST, AV_BLOCK_TXN_COUNT,
	AV_BLOCK_EVENT_COUNT, AV_BLOCK_SEALED_AT, AV_BLOCK_TXN_ROOT,
	AV_BLOCK_PREV_HASH, AV_BLOCK_HASH, AV_BLOCK_TREE_ROOT, AV_BLOCK_SIGNATURE,
	AV_BLOCK_KEY_ID, AV_BLOCK_FRONTIER	/* only from the base table */
};
enum
{
	AV_TXN_TXID, AV_TXN_POSITION, AV_TXN_EVENT_COUNT, AV_TXN_COMMITTED_AT,
	AV_TXN_DIGEST
};
/* Events: the encoded fields of every format version, then these three. */
#define AV_EV_FORMAT_VERSION	AV_EVENT_FIELDS
#define AV_EV_LEAF_HASH			(AV_EVENT_FIELDS + 1)
#define AV_EV_ROW_SALT			(AV_EVENT_FIELDS + 2)
#define AV_EV_ARCHIVE_ID		(AV_EVENT_FIELDS + 3)
#define AV_EV_ERASURE			(AV_EVENT_FIELDS + 4)
#define AV_EV_NCOLS				(AV_EVENT_FIELDS + 5)

#define AV_BLOCK_NCOLS			AV_BLOCK_FRONTIER	/* without the frontier */
#define AV_TXN_NCOLS			(AV_TXN_DIGEST + 1)

/* How a column is fetched and written into a bundle. */
typedef enum AvColKind
{
	AV_COL_INT,					/* decimal integer */
	AV_COL_TEXT,				/* text, in the database encoding */
	AV_COL_INET,				/* inet, as its output function prints it */
	AV_COL_TIME,				/* timestamptz as microseconds since 2000 */
	AV_COL_HEX,					/* bytea as hex */
	AV_COL_JSON					/* jsonb as its text (jsonb_out), a string;
								 * row images too */
} AvColKind;

typedef struct AvColumn
{
	const char *key;			/* its name in bundles and proofs */
	const char *name;			/* its name in the table */
	AvColKind	kind;
} AvColumn;

/* Is a column of this kind read as the bytes of a string (text, JSON)? */
static inline bool
av_col_is_string(AvColKind kind)
{
	return kind == AV_COL_TEXT || kind == AV_COL_INET || kind == AV_COL_JSON;
}

extern const AvColumn av_block_cols[AV_BLOCK_FRONTIER + 1];
extern const AvColumn av_txn_cols[AV_TXN_NCOLS];
extern const AvColumn av_event_cols[AV_EV_NCOLS];
extern const AvColumn av_archive_cols[3];

extern void av_db_connect(AvDb *db, const char *conninfo, const char *source);
extern void av_db_begin(AvDb *db);
extern PGresult *av_db_query(AvDb *db, const char *sql);
extern PGresult *av_db_result(AvDb *db);
extern void av_db_chain_id(AvDb *db, uint8 out[AUDIT_CHAIN_ID_LEN]);
extern char *av_db_digest(AvDb *db);
extern void av_db_archives(AvDb *db, AvArchives *out);
extern char *av_sql_archives(const AvDb *db);
extern void av_db_finish(AvDb *db);

extern char *av_sql_blocks(const AvDb *db);
extern char *av_sql_txns(const AvDb *db);
extern char *av_sql_events_by_position(const AvDb *db);
extern char *av_sql_orphan_events(const AvDb *db);
extern char *av_sql_events_by_id(const AvDb *db);

extern void av_cursor_open(AvCursor *c, AvDb *db, const char *name,
						   const char *sql, int batch);
extern void av_cursor_open_binary(AvCursor *c, AvDb *db, const char *name,
								  const char *sql, int batch);
extern bool av_cursor_next(AvCursor *c);
extern void av_cursor_settle(AvDb *db);
extern const char *av_cursor_value(const AvCursor *c, int col);
extern size_t av_cursor_length(const AvCursor *c, int col);
extern Oid	av_cursor_type(const AvCursor *c, int col);
extern void av_cursor_close(AvCursor *c);

#endif							/* AV_DB_H */
