/*-------------------------------------------------------------------------
 *
 * av.h
 *	  audit_verify, the offline verifier of audit_ext: the types shared by
 *	  its parts and the helpers every part uses.
 *
 * The verifier reads a trail from one of two sources (a live database
 * through libpq, or a bundle directory), turns it into the records below,
 * and walks them the way audit.verify() walks the tables in the server
 * (av_check.c).  Transaction entries, block heads, checkpoint messages and
 * Merkle trees are hashed by the server's own src/chain_format.c,
 * src/merkle.c and src/hash.c, compiled a second time with -DFRONTEND; the
 * event encoding is a second, independent implementation of
 * docs/FORMAT.md (av_event.c, av_row_image.c), so that the tool
 * cross-checks the server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_H
#define AV_H

#include "postgres_fe.h"

#include "chain_format.h"
#include "merkle.h"

/* Exit statuses. */
#define AV_EXIT_OK		0		/* everything holds */
#define AV_EXIT_FAILED	1		/* tampering (a problem) was found */
#define AV_EXIT_ERROR	2		/* usage, connection, I/O, malformed input */

#define AV_SIGNATURE_LEN	64
#define AV_KEY_ID_LEN		16	/* hex characters */
#define AV_KEY_ID_MAX		64	/* longer stored key ids are kept cut */

/*
 * Event fields, in encoding order (docs/FORMAT.md): each format version
 * encodes the first n of them, 15 for version 1, 25 for version 2, all 29
 * for version 3.
 */
#define AV_EVENT_FIELDS		29
#define AV_EVENT_FORMAT_MAX	3	/* the newest event format version known */
#define AV_ROW_SALT_LEN		16	/* an event's row_salt (format 3) */

/* The row images among the fields (0-based): fields 26-28 of FORMAT.md. */
#define AV_FIELD_ROW_KEY	25
#define AV_FIELD_OLD_ROW	26
#define AV_FIELD_NEW_ROW	27

/* A stored hash; !ok when it is NULL or not 32 bytes, as the server sees it. */
typedef struct AvHash
{
	bool		ok;
	uint8		h[AUDIT_HASH_LEN];
} AvHash;

/* One field of an event: an integer (or timestamp), or bytes. */
typedef struct AvField
{
	bool		isnull;
	int64		i;				/* integer, xid8 (as its bits), timestamp */
	const char *s;				/* text, inet, JSON text: not NUL-terminated */
	size_t		len;
} AvField;

/*
 * An event as stored, before it is checked.  row_salt is no field: it salts
 * the commitments of the row images (fields 26-28).
 */
typedef struct AvEvent
{
	AvField		f[AV_EVENT_FIELDS];
	bool		has_format_version;
	int64		format_version;
	AvHash		leaf_hash;
	bool		row_salt_ok;	/* row_salt is there and 16 bytes long */
	bool		row_salt_null;	/* row_salt is NULL (erased events: salts kept) */
	uint8		row_salt[AV_ROW_SALT_LEN];
	const char *erasure;		/* its erasure record's text (not owned), or NULL */
	size_t		erasure_len;
	bool		archived;		/* archive_id is set: payload removed */
	int64		archive_id;
} AvEvent;

/*
 * An event's erasure record (audit.redact(); docs/FORMAT.md, "Erasure"), by
 * side of the row images (k, o, n): the members erased, in jsonb's key
 * order, with their commitments, and the salts kept for those that stay.
 */
#define AV_ERASURE_SIDES	3
#define AV_MEMBER_SALT_LEN	16

typedef struct AvErasedMember
{
	const char *key;			/* points into the parsed record */
	size_t		keylen;
	uint8		commitment[AUDIT_HASH_LEN];
} AvErasedMember;

typedef struct AvImageErasure
{
	bool		ok;				/* its part of the record is well formed */
	int			nerased;
	AvErasedMember *erased;
	struct json_object *salts;	/* key -> salt hex, or NULL */
} AvImageErasure;

typedef struct AvErasure
{
	struct json_object *root;
	AvImageErasure side[AV_ERASURE_SIDES];
} AvErasure;

/* A growing byte buffer. */
typedef struct AvBuf
{
	uint8	   *data;
	size_t		len;
	size_t		cap;
} AvBuf;

/* What checking one event against its leaf hash found. */
typedef enum AvEventStatus
{
	AV_EVENT_OK,
	AV_EVENT_UNKNOWN_VERSION,	/* not a format version this tool knows */
	AV_EVENT_UNHASHED_VALUES,	/* fields its version does not encode hold values */
	AV_EVENT_ROW_IMAGE,			/* a row image cannot be encoded */
	AV_EVENT_NO_LEAF,			/* leaf hash missing or not 32 bytes */
	AV_EVENT_MISMATCH,			/* stored and computed leaf hashes differ */
	AV_EVENT_ARCHIVED			/* not encoded: its stored leaf stands for it */
} AvEventStatus;

/*
 * A checked event, in the order the walk wants them: by the position of
 * its transaction, then event id; events whose transaction has no row
 * (orphans) last.  Fixed size, so bundles can sort them on disk.
 */
typedef struct AvEventRec
{
	int64		position;		/* of its transaction; unused for orphans */
	uint64		txid;
	int64		event_id;
	int32		status;			/* AvEventStatus */
	bool		orphan;
	bool		has_stored;
	uint8		stored[AUDIT_HASH_LEN];
	uint8		computed[AUDIT_HASH_LEN];
	int64		archive_id;		/* AV_EVENT_ARCHIVED: of which archive */
	bool		holds_payload;	/* AV_EVENT_ARCHIVED, yet a field holds a value */
} AvEventRec;

/* The archives of a trail (audit.archives, archives.jsonl), by archive_id. */
typedef struct AvArchive
{
	int64		archive_id;
	int64		first_block;
	int64		last_block;
} AvArchive;

typedef struct AvArchives
{
	int			n;
	AvArchive  *items;
} AvArchives;

/* A row of audit.txn. */
typedef struct AvTxn
{
	TxnEntry	entry;			/* digest zeroed when !digest_ok */
	bool		digest_ok;
} AvTxn;

/* A row of audit.block. */
typedef struct AvBlock
{
	BlockHead	head;			/* chain_id is the trail's, set by the walk */
	AvHash		block_hash;
	AvHash		tree_root;
	bool		has_signature;
	size_t		signature_len;	/* may exceed the bytes kept */
	uint8		signature[AV_SIGNATURE_LEN];
	bool		has_key_id;
	size_t		key_id_len;		/* of what is kept: longer ids are cut */
	char		key_id[AV_KEY_ID_MAX + 1];
	bool		has_frontier;	/* the source can show tree_frontier */
	bool		frontier_ok;	/* ... and it is well formed */
	MerkleFrontier frontier;
} AvBlock;

/* Where a problem is; -1 / 0 / -1 where a part does not apply. */
typedef struct AvWhere
{
	int64		block_id;
	uint64		txid;
	int64		event_id;
} AvWhere;

/* av_util.c */
extern void av_fatal(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();
extern void *av_malloc(size_t size);
extern void *av_realloc(void *p, size_t size);
extern char *av_strdup(const char *s);
extern char *av_psprintf(const char *fmt,...) pg_attribute_printf(1, 2);
extern char *av_hex(const uint8 *bytes, size_t len);
extern char *av_hex_x(const uint8 *bytes, size_t len);
extern bool av_hex_decode(const char *hex, size_t hexlen, uint8 **out, size_t *outlen);
extern bool av_parse_int64(const char *s, int64 *out);
extern bool av_parse_uint64(const char *s, uint64 *out);
extern void av_set_hash(AvHash *dst, const uint8 *bytes, size_t len);
extern char *av_printable(const char *s, size_t len);
extern char *av_count_of(int64 n, const char *noun);

/* av_buf.c */
extern void av_buf_grow(AvBuf *b, size_t len);
extern void av_buf_put_be(AvBuf *b, uint64 v, int nbytes);
extern void av_buf_set_be(AvBuf *b, size_t at, uint64 v, int nbytes);

/*
 * Append len bytes to b.  Inline: an event is encoded in about a hundred
 * small appends, and a call for each was an eighth of the tool's time.
 */
static inline void
av_buf_put(AvBuf *b, const void *src, size_t len)
{
	if (len > b->cap - b->len)
		av_buf_grow(b, len);
	if (len > 0)
		memcpy(b->data + b->len, src, len);
	b->len += len;
}

static inline void
av_buf_put_u8(AvBuf *b, uint8 v)
{
	if (b->len == b->cap)
		av_buf_grow(b, 1);
	b->data[b->len++] = v;
}

/* av_report.c */
extern void av_problem(const AvWhere *w, const char *problem,
					   const char *fmt,...) pg_attribute_printf(3, 4);
extern int64 av_problem_count(void);
extern void av_summary_failed(const char *what);
extern void av_flush_output(void);

/* av_event.c */
extern int	av_event_field_count(int64 version);
extern int	av_event_field_since(int field);
extern void av_event_init(AvEvent *ev);
extern AvEventStatus av_event_leaf(const AvEvent *ev, uint8 out[AUDIT_HASH_LEN]);
extern const char *av_event_status_detail(AvEventStatus status);
extern void av_event_check(const AvEvent *ev, AvEventRec *rec);
extern void av_event_rec_leaf(const AvEventRec *rec, uint8 out[AUDIT_HASH_LEN]);
extern void av_event_set_row_salt(AvEvent *ev, const uint8 *bytes, size_t len);

/* av_archive.c */
extern void av_archives_add(AvArchives *a, int64 archive_id, int64 first_block,
							int64 last_block);
extern void av_archives_sort(AvArchives *a);
extern bool av_archives_cover(const AvArchives *a, int64 archive_id, int64 block_id);
extern void av_archives_free(AvArchives *a);

/* av_erasure.c */
extern void av_erasure_parse(AvErasure *e, const char *s, size_t len,
							 const char *ctx);
extern const AvImageErasure *av_erasure_side(const AvErasure *e, char side);
extern bool av_erasure_salt(const AvImageErasure *ie, const uint8 *key,
							size_t keylen, uint8 out[AV_MEMBER_SALT_LEN]);
extern void av_erasure_free(AvErasure *e);

/* av_row_image.c */
extern bool av_row_image_put(AvBuf *b, const AvField *f, const uint8 *row_salt,
							 const AvImageErasure *ie, char side);

#endif							/* AV_H */
