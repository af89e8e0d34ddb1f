/*-------------------------------------------------------------------------
 *
 * av_export.c
 *	  audit_verify --export DIR "CONNINFO": write the bundle of
 *	  docs/FORMAT.md, a whole trail that verifies with no database.
 *
 *	  chain.json			{"format": 1, "chain_id": "<hex>"}
 *	  blocks.jsonl			every column of audit.block but tree_frontier
 *	  transactions.jsonl	txid, position, event_count, committed_at_us, digest
 *	  events.jsonl			the event's fields, format_version, leaf_hash
 *	  checkpoint.json		SELECT audit.digest(), when a block exists
 *	  archives.jsonl		archive_id, first_block, last_block of audit.archives
 *
 * All of it is read in one snapshot.  audit.digest() reads the newest block
 * as of its own call, which can be newer than the snapshot when a block is
 * sealed meanwhile; then the export starts again, so the checkpoint always
 * lies within the exported blocks.  Text is written as the database stores
 * it (client_encoding is the database encoding): the bytes FORMAT.md hashes.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "av_db.h"
#include "av_json.h"
#include "av_modes.h"

#define EXPORT_ATTEMPTS		5

typedef struct OutFile
{
	FILE	   *fp;
	char	   *path;
} OutFile;

static void
out_open(OutFile *f, const char *dir, const char *name)
{
	f->path = av_psprintf("%s/%s", dir, name);
	f->fp = fopen(f->path, "w");
	if (f->fp == NULL)
		av_fatal("could not create \"%s\": %m", f->path);
}

static void
out_close(OutFile *f)
{
	if (ferror(f->fp) || fclose(f->fp) != 0)
		av_fatal("could not write \"%s\": %m", f->path);
	free(f->path);
	f->fp = NULL;
}

/* A JSON string: the bytes as they are, with '"', '\' and controls escaped. */
static void
put_json_string(FILE *fp, const char *s, size_t len)
{
	fputc('"', fp);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", fp);
		else if (ch == '\t')
			fputs("\\t", fp);
		else if (ch == '\r')
			fputs("\\r", fp);
		else if (ch < 0x20)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

/* One row of a cursor as one JSON line, columns from first on. */
static void
put_row(FILE *fp, const AvCursor *c, const AvColumn *cols, int ncols)
{
	fputc('{', fp);
	for (int i = 0; i < ncols; i++)
	{
		const char *v = av_cursor_value(c, i);

		if (i > 0)
			fputs(", ", fp);
		put_json_string(fp, cols[i].key, strlen(cols[i].key));
		fputs(": ", fp);
		if (v == NULL)
			fputs("null", fp);
		else if (cols[i].kind == AV_COL_INT || cols[i].kind == AV_COL_TIME)
			fputs(v, fp);
		else
			put_json_string(fp, v, av_cursor_length(c, i));
	}
	fputs("}\n", fp);
}

/* Write every row of sql to dir/name; returns the row count. */
static int64
export_rows(AvDb *db, const char *dir, const char *name, const char *sql,
			const AvColumn *cols, int ncols, int64 *last_first_col)
{
	OutFile		f;
	AvCursor	c;
	int64		n = 0;

	out_open(&f, dir, name);
	av_cursor_open(&c, db, "audit_verify_export", sql, 1000);
	while (av_cursor_next(&c))
	{
		put_row(f.fp, &c, cols, ncols);
		if (last_first_col && av_cursor_value(&c, 0))
			(void) av_parse_int64(av_cursor_value(&c, 0), last_first_col);
		n++;
	}
	av_cursor_close(&c);
	PQclear(av_db_query(db, "CLOSE audit_verify_export"));
	out_close(&f);
	return n;
}

static void
export_chain(AvDb *db, const char *dir)
{
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	char	   *hex;
	OutFile		f;

	av_db_chain_id(db, chain_id);
	hex = av_hex(chain_id, AUDIT_CHAIN_ID_LEN);
	out_open(&f, dir, "chain.json");
	fprintf(f.fp, "{\"format\": 1, \"chain_id\": \"%s\"}\n", hex);
	out_close(&f);
	free(hex);
}

/* The block id of a checkpoint as audit.digest() returned it. */
static int64
digest_block_id(const char *json)
{
	json_object *obj = av_json_parse(json, strlen(json), "audit.digest()");
	int64		id;

	av_json_require_object(obj, "audit.digest()");
	id = av_json_int64(obj, "block_id", "audit.digest()");
	json_object_put(obj);
	return id;
}

static void
write_checkpoint(const char *dir, const char *digest)
{
	OutFile		f;
	char	   *path;

	if (digest == NULL)
	{
		/* nothing sealed: no checkpoint, and none left from before */
		path = av_psprintf("%s/checkpoint.json", dir);
		if (unlink(path) != 0 && errno != ENOENT)
			av_fatal("could not remove \"%s\": %m", path);
		free(path);
		return;
	}
	out_open(&f, dir, "checkpoint.json");
	fprintf(f.fp, "%s\n", digest);
	out_close(&f);
}

static void
report_export(const char *dir, int64 nblocks, int64 ntxns, int64 nevents)
{
	char	   *b = av_count_of(nblocks, "block");
	char	   *t = av_count_of(ntxns, "transaction");
	char	   *e = av_count_of(nevents, "event");

	printf("exported %s, %s, %s to %s", b, t, e, dir);
	free(b);
	free(t);
	free(e);
}

/* One attempt; false when the checkpoint came out newer than the snapshot. */
static bool
export_once(AvDb *db, const char *dir)
{
	char	   *digest;
	char	   *sql;
	int64		last_block = 0;
	int64		nblocks,
				ntxns,
				nevents;

	av_db_begin(db);
	digest = av_db_digest(db);
	export_chain(db, dir);
	sql = av_sql_blocks(db);
	nblocks = export_rows(db, dir, "blocks.jsonl", sql, av_block_cols,
						  AV_BLOCK_NCOLS, &last_block);
	free(sql);
	if (digest != NULL && digest_block_id(digest) > last_block)
	{
		free(digest);
		PQclear(av_db_query(db, "ROLLBACK"));
		return false;
	}
	sql = av_sql_txns(db);
	ntxns = export_rows(db, dir, "transactions.jsonl", sql, av_txn_cols,
						AV_TXN_NCOLS, NULL);
	free(sql);
	sql = av_sql_events_by_id(db);
	nevents = export_rows(db, dir, "events.jsonl", sql, av_event_cols,
						  AV_EV_NCOLS, NULL);
	free(sql);
	sql = av_sql_archives(db);
	(void) export_rows(db, dir, "archives.jsonl", sql, av_archive_cols, 3, NULL);
	free(sql);
	write_checkpoint(dir, digest);
	report_export(dir, nblocks, ntxns, nevents);
	if (digest)
		printf(" (checkpoint at block " INT64_FORMAT ")", digest_block_id(digest));
	printf("\n");
	free(digest);
	return true;
}

int
av_export(const char *conninfo, const char *source, const char *dir)
{
	AvDb		db;
	struct stat st;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		av_fatal("could not create directory \"%s\": %m", dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		av_fatal("\"%s\" is not a directory", dir);
	av_db_connect(&db, conninfo, source);
	for (int attempt = 1;; attempt++)
	{
		if (export_once(&db, dir))
			break;
		if (attempt == EXPORT_ATTEMPTS)
			av_fatal("blocks kept being sealed during the export; try again");
	}
	av_db_finish(&db);
	av_flush_output();
	return AV_EXIT_OK;
}
