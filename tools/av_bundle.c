/*-------------------------------------------------------------------------
 *
 * av_bundle.c
 *	  audit_verify --bundle DIR: verify a bundle (docs/FORMAT.md, "Bundle")
 *	  with no database.
 *
 * Blocks and transactions are read line by line as the walk needs them.
 * Events are listed in event id order, but the walk takes them by their
 * transaction's position: they are checked as they are read, and their
 * fixed-size records sorted (av_sort.c) by the position of their
 * transaction, which a table of (txid, position), sorted by txid, gives.
 * That table is the only thing that grows with the trail in memory: 16
 * bytes per transaction.
 *
 * The bundle's own checkpoint.json, when present, is checked like a
 * --checkpoint: the trail must extend it, and with --public-key its
 * signature must hold.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <sys/stat.h>

#include "av_check.h"
#include "av_json.h"
#include "av_modes.h"
#include "av_sort.h"

typedef struct TxidPosition
{
	uint64		txid;
	int64		position;
} TxidPosition;

typedef struct Bundle
{
	char	   *dir;
	AvLines		blocks;
	AvLines		txns;
	AvSorter   *events;
	TxidPosition *map;
	size_t		nmap;
	bool		any_txn;		/* for the order check on the second pass */
	int64		prev_position;
} Bundle;

static char *
bundle_path(const Bundle *b, const char *name)
{
	return av_psprintf("%s/%s", b->dir, name);
}

static int32
int32_field(json_object *obj, const char *key, const char *ctx)
{
	int64		v = av_json_int64(obj, key, ctx);

	if (v < PG_INT32_MIN || v > PG_INT32_MAX)
		av_fatal("%s: \"%s\" is out of range", ctx, key);
	return (int32) v;
}

static void
read_chain(Bundle *b, uint8 chain_id[AUDIT_CHAIN_ID_LEN])
{
	char	   *path = bundle_path(b, "chain.json");
	json_object *obj = av_json_read_file(path, false);

	av_json_require_object(obj, path);
	if (av_json_int64(obj, "format", path) != 1)
		av_fatal("%s: bundle format " INT64_FORMAT " is not known (1 is)", path,
				 av_json_int64(obj, "format", path));
	av_json_hash(obj, "chain_id", path, chain_id, AUDIT_CHAIN_ID_LEN);
	json_object_put(obj);
	free(path);
}

/* Positions must increase strictly, as FORMAT.md lists transactions. */
static void
check_position_order(Bundle *b, int64 position, const char *ctx)
{
	if (b->any_txn && position <= b->prev_position)
		av_fatal("%s: transactions are not in position order (" INT64_FORMAT " after " INT64_FORMAT ")",
				 ctx, position, b->prev_position);
	b->any_txn = true;
	b->prev_position = position;
}

static int
map_cmp(const void *pa, const void *pb)
{
	const TxidPosition *a = pa;
	const TxidPosition *b = pb;

	return a->txid < b->txid ? -1 : a->txid > b->txid ? 1 : 0;
}

/* First pass over transactions.jsonl: the (txid, position) table. */
static void
load_txn_map(Bundle *b)
{
	json_object *obj;
	size_t		cap = 1024;

	b->map = av_malloc(sizeof(TxidPosition) * cap);
	while ((obj = av_lines_next(&b->txns)) != NULL)
	{
		if (b->nmap == cap)
			b->map = av_realloc(b->map, sizeof(TxidPosition) * (cap *= 2));
		b->map[b->nmap].txid = av_json_uint64(obj, "txid", b->txns.ctx);
		b->map[b->nmap].position = av_json_int64(obj, "position", b->txns.ctx);
		check_position_order(b, b->map[b->nmap].position, b->txns.ctx);
		b->nmap++;
	}
	qsort(b->map, b->nmap, sizeof(TxidPosition), map_cmp);
	for (size_t i = 1; i < b->nmap; i++)
		if (b->map[i].txid == b->map[i - 1].txid)
			av_fatal("%s/transactions.jsonl: transaction " UINT64_FORMAT " is listed twice",
					 b->dir, b->map[i].txid);
	av_lines_rewind(&b->txns);
	b->any_txn = false;
}

static const TxidPosition *
map_find(const Bundle *b, uint64 txid)
{
	TxidPosition key = {txid, 0};

	return bsearch(&key, b->map, b->nmap, sizeof(TxidPosition), map_cmp);
}

/* Check every event of events.jsonl and sort the results. */
static void
sort_events(Bundle *b, int sort_buffer)
{
	char	   *path = bundle_path(b, "events.jsonl");
	AvLines		lines;
	json_object *obj;
	AvEvent		ev;
	AvEventRec	rec;

	b->events = av_sorter_new(sort_buffer);
	av_lines_open(&lines, path);
	while ((obj = av_lines_next(&lines)) != NULL)
	{
		const TxidPosition *tp;

		av_event_from_json(&ev, obj, lines.ctx);
		av_stored_hash_from_json(&ev.leaf_hash, obj, "leaf_hash", lines.ctx);
		av_event_check(&ev, &rec);
		tp = map_find(b, rec.txid);
		rec.orphan = (tp == NULL);
		rec.position = tp ? tp->position : 0;
		av_sorter_add(b->events, &rec);
	}
	av_lines_close(&lines);
	av_sorter_finish(b->events);
	free(path);
}

static void
block_signature_from_json(AvBlock *blk, json_object *obj, const char *ctx)
{
	uint8	   *sig;
	const char *key_id;

	if (av_json_hex_null(obj, "signature", ctx, &sig, &blk->signature_len))
	{
		blk->has_signature = true;
		memcpy(blk->signature, sig, Min(blk->signature_len, (size_t) AV_SIGNATURE_LEN));
		free(sig);
	}
	if (av_json_text_null(obj, "key_id", ctx, &key_id, &blk->key_id_len))
	{
		blk->has_key_id = true;
		blk->key_id_len = Min(blk->key_id_len, (size_t) AV_KEY_ID_MAX);
		memcpy(blk->key_id, key_id, blk->key_id_len);
	}
}

static bool
bundle_next_block(void *arg, AvBlock *blk)
{
	Bundle	   *b = arg;
	json_object *obj = av_lines_next(&b->blocks);
	const char *ctx = b->blocks.ctx;
	AvHash		h;

	if (obj == NULL)
		return false;
	memset(blk, 0, sizeof(*blk));
	blk->head.block_id = av_json_int64(obj, "block_id", ctx);
	blk->head.first_position = av_json_int64(obj, "first_position", ctx);
	blk->head.last_position = av_json_int64(obj, "last_position", ctx);
	blk->head.txn_count = int32_field(obj, "txn_count", ctx);
	blk->head.event_count = av_json_int64(obj, "event_count", ctx);
	blk->head.sealed_at = av_json_int64(obj, "sealed_at_us", ctx);
	av_stored_hash_from_json(&h, obj, "txn_root", ctx);
	memcpy(blk->head.txn_root, h.h, AUDIT_HASH_LEN);	/* zeros if unusable */
	av_stored_hash_from_json(&h, obj, "prev_hash", ctx);
	memcpy(blk->head.prev_hash, h.h, AUDIT_HASH_LEN);
	av_stored_hash_from_json(&blk->block_hash, obj, "block_hash", ctx);
	av_stored_hash_from_json(&blk->tree_root, obj, "tree_root", ctx);
	block_signature_from_json(blk, obj, ctx);
	return true;
}

static bool
bundle_next_txn(void *arg, AvTxn *t)
{
	Bundle	   *b = arg;
	json_object *obj = av_lines_next(&b->txns);
	const char *ctx = b->txns.ctx;
	AvHash		digest;

	if (obj == NULL)
		return false;
	memset(t, 0, sizeof(*t));
	t->entry.txid = av_json_uint64(obj, "txid", ctx);
	t->entry.position = av_json_int64(obj, "position", ctx);
	check_position_order(b, t->entry.position, ctx);
	t->entry.event_count = int32_field(obj, "event_count", ctx);
	t->entry.committed_at = av_json_int64(obj, "committed_at_us", ctx);
	av_stored_hash_from_json(&digest, obj, "digest", ctx);
	t->digest_ok = digest.ok;
	memcpy(t->entry.digest, digest.h, AUDIT_HASH_LEN);
	return true;
}

static bool
bundle_next_event(void *arg, AvEventRec *rec)
{
	Bundle	   *b = arg;

	return av_sorter_next(b->events, rec);
}

/* archives.jsonl, when there is one: the archives its events name. */
static void
read_archives(Bundle *b, AvArchives *out)
{
	char	   *path = bundle_path(b, "archives.jsonl");
	AvLines		lines;
	json_object *obj;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) == 0)
	{
		av_lines_open(&lines, path);
		while ((obj = av_lines_next(&lines)) != NULL)
			av_archives_add(out, av_json_int64(obj, "archive_id", lines.ctx),
							av_json_int64(obj, "first_block", lines.ctx),
							av_json_int64(obj, "last_block", lines.ctx));
		av_lines_close(&lines);
	}
	free(path);
	av_archives_sort(out);
}

/* The bundle's checkpoint.json, when there is one, joins the checkpoints. */
static void
add_own_checkpoint(Bundle *b, AvCheckpoints *cps)
{
	char	   *path = bundle_path(b, "checkpoint.json");
	json_object *doc = av_json_read_file(path, true);

	if (doc != NULL)
	{
		av_checkpoints_add_json(cps, doc, path);
		json_object_put(doc);
	}
	free(path);
}

int
av_bundle_verify(const char *dir, const AvKeyring *keys, AvCheckpoints *cps,
				 int sort_buffer)
{
	Bundle		b;
	AvSource	src;
	struct stat st;
	char	   *path;
	int			rc;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		av_fatal("bundle directory \"%s\" does not exist or is not a directory", dir);
	memset(&b, 0, sizeof(b));
	memset(&src, 0, sizeof(src));
	b.dir = av_strdup(dir);
	read_chain(&b, src.chain_id);
	read_archives(&b, &src.archives);
	add_own_checkpoint(&b, cps);
	path = bundle_path(&b, "transactions.jsonl");
	av_lines_open(&b.txns, path);
	free(path);
	load_txn_map(&b);
	sort_events(&b, sort_buffer);
	path = bundle_path(&b, "blocks.jsonl");
	av_lines_open(&b.blocks, path);
	free(path);

	src.arg = &b;
	src.next_block = bundle_next_block;
	src.next_txn = bundle_next_txn;
	src.next_event = bundle_next_event;
	src.name = av_psprintf("bundle %s", dir);
	rc = av_check_trail(&src, keys, cps);

	av_lines_close(&b.blocks);
	av_lines_close(&b.txns);
	av_sorter_free(b.events);
	av_archives_free(&src.archives);
	free(b.map);
	free(b.dir);
	return rc;
}
