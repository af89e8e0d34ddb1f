/*-------------------------------------------------------------------------
 *
 * archive.c
 *	  audit._archive_write(archive_id, first_block, last_block): the bundle
 *	  of an archive operation, written by the server under
 *	  audit.archive_directory (audit.archive(), sql/0.4/30_archive.sql,
 *	  does the rest: removing the payload, the audit.archive row, the
 *	  config event).
 *
 * The bundle is the one of docs/FORMAT.md ("Bundle"), which `audit_verify
 * --bundle` checks with no database: blocks 1..last_block, their
 * transactions and events, and the checkpoint at last_block, so it
 * verifies on its own.  Events of first_block..last_block have their
 * payload; those of earlier blocks were archived before and are listed as
 * they are stored now (leaf hash, archive_id), with the earlier archives in
 * archives.jsonl.  SHA256SUMS lists the SHA-256 of every other file; the
 * bundle's sha256 is the SHA-256 of SHA256SUMS.
 *
 * Files are written into "<name>.tmp", each fsynced, and the directory is
 * renamed to its name when complete, so a bundle is never seen half
 * written.  If the transaction aborts afterwards the bundle stays, with no
 * audit.archive row naming it; archive ids come from a sequence, so the
 * next attempt writes another name.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "archive.h"
#include "checkpoint.h"
#include "proof.h"
#include "schema.h"
#include "seal.h"

#define ARCHIVE_FETCH	1000
#define ARCHIVE_NFILES	7	/* SHA256SUMS too */

char	   *audit_archive_directory = NULL;

/* One file of the bundle being written, and the SHA-256 of its bytes. */
typedef struct BundleFile
{
	const char *name;
	char	   *path;
	FILE	   *fp;
	pg_cryptohash_ctx *sha;
	uint8		digest[AUDIT_HASH_LEN];
} BundleFile;

typedef struct Bundle
{
	char	   *dir;			/* final path */
	char	   *tmp;			/* where it is written */
	int			nfiles;
	BundleFile	files[ARCHIVE_NFILES];
	int64		event_count;	/* events of first_block..last_block */
} Bundle;

static void
file_open(Bundle *b, BundleFile *f, const char *name)
{
	f->name = name;
	f->path = psprintf("%s/%s", b->tmp, name);
	f->fp = AllocateFile(f->path, PG_BINARY_W);
	if (f->fp == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", f->path)));
	f->sha = pg_cryptohash_create(PG_SHA256);
	if (f->sha == NULL || pg_cryptohash_init(f->sha) < 0)
		elog(ERROR, "audit_ext: could not initialize SHA-256");
}

static void
file_put(BundleFile *f, const char *data, size_t len)
{
	if (fwrite(data, 1, len, f->fp) != len)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", f->path)));
	if (pg_cryptohash_update(f->sha, (const uint8 *) data, len) < 0)
		elog(ERROR, "audit_ext: could not compute SHA-256");
}

/* Flush, fsync and close; the file's digest is then known. */
static void
file_close(BundleFile *f)
{
	if (fflush(f->fp) != 0 || pg_fsync(fileno(f->fp)) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", f->path)));
	if (FreeFile(f->fp) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", f->path)));
	f->fp = NULL;
	if (pg_cryptohash_final(f->sha, f->digest, AUDIT_HASH_LEN) < 0)
		elog(ERROR, "audit_ext: could not compute SHA-256");
	pg_cryptohash_free(f->sha);
}

/* A whole small file of the bundle, from one string. */
static void
file_write_all(Bundle *b, const char *name, const char *content)
{
	BundleFile *f = &b->files[b->nfiles++];

	file_open(b, f, name);
	file_put(f, content, strlen(content));
	file_close(f);
}

/* One row (natts columns of cols) as a JSON line; skip: a column left out. */
static void
put_row_line(BundleFile *f, const AuditColumn *cols, int natts,
			 const Datum *values, const bool *isnull, int skip)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < natts; i++)
		if (i + 1 != skip)
			audit_json_put_column(&buf, &cols[i], values[i], isnull[i]);
	appendStringInfoString(&buf, "}\n");
	file_put(f, buf.data, buf.len);
	pfree(buf.data);
}

/*
 * Write every row of sql ($1 = arg) into a new file: the first natts
 * columns as a JSON line; a boolean column after them, when present, says
 * the row counts for the bundle's event_count.
 */
static void
write_rows(Bundle *b, const char *name, const char *sql, int64 arg,
		   const AuditColumn *cols, int natts, int skip)
{
	BundleFile *f = &b->files[b->nfiles++];
	Oid			argtype = INT8OID;
	Datum		argval = Int64GetDatum(arg);
	Portal		portal;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "audit_ext archive rows",
												 ALLOCSET_DEFAULT_SIZES);

	file_open(b, f, name);
	portal = SPI_cursor_open_with_args(NULL, sql, 1, &argtype, &argval, NULL,
									   true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, ARCHIVE_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;
			MemoryContext old = MemoryContextSwitchTo(rowcxt);
			Datum	   *values = palloc(sizeof(Datum) * desc->natts);
			bool	   *isnull = palloc(sizeof(bool) * desc->natts);

			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(SPI_tuptable->vals[r], desc, values, isnull);
			put_row_line(f, cols, natts, values, isnull, skip);
			if (desc->natts > natts && !isnull[natts] && DatumGetBool(values[natts]))
				b->event_count++;
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	file_close(f);
	MemoryContextDelete(rowcxt);
}

/* archives.jsonl: the archives before this one, whose events are listed archived. */
static void
write_archives(Bundle *b, int64 archive_id)
{
	static const AuditColumn cols[] = {
		{"archive_id", INT8OID, 0}, {"first_block", INT8OID, 0},
		{"last_block", INT8OID, 0}
	};

	write_rows(b, "archives.jsonl",
			   "SELECT archive_id, first_block, last_block FROM audit.archive"
			   " WHERE archive_id < $1 ORDER BY archive_id",
			   archive_id, cols, lengthof(cols), 0);
}

static void
write_chain(Bundle *b)
{
	uint8		chain_id[AUDIT_CHAIN_ID_LEN];
	StringInfoData buf;

	audit_chain_id(chain_id);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	audit_json_put_int(&buf, "format", 1);
	audit_json_put_hex(&buf, "chain_id", chain_id, AUDIT_CHAIN_ID_LEN);
	appendStringInfoString(&buf, "}\n");
	file_write_all(b, "chain.json", buf.data);
}

/* The last position of block block_id, which must exist. */
static int64
block_last_position(Snapshot snap, int64 block_id)
{
	AuditHead	head;

	if (!audit_read_block_row(snap, block_id, &head))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block %lld does not exist", (long long) block_id)));
	return head.state.last_position;
}

/* SHA256SUMS over the other files (in name order); sum: its SHA-256 in hex. */
static void
write_sums(Bundle *b, char sum[AUDIT_HASH_LEN * 2 + 1])
{
	StringInfoData buf;
	char		hex[AUDIT_HASH_LEN * 2 + 1];
	const char *order[] = {"archives.jsonl", "blocks.jsonl", "chain.json",
	"checkpoint.json", "events.jsonl", "transactions.jsonl"};

	initStringInfo(&buf);
	for (int n = 0; n < (int) lengthof(order); n++)
		for (int i = 0; i < b->nfiles; i++)
			if (strcmp(b->files[i].name, order[n]) == 0)
			{
				hex_encode((const char *) b->files[i].digest, AUDIT_HASH_LEN, hex);
				hex[AUDIT_HASH_LEN * 2] = '\0';
				appendStringInfo(&buf, "%s  %s\n", hex, order[n]);
			}
	file_write_all(b, "SHA256SUMS", buf.data);
	hex_encode((const char *) b->files[b->nfiles - 1].digest, AUDIT_HASH_LEN, sum);
	sum[AUDIT_HASH_LEN * 2] = '\0';
}

/* The directory name, checked: archiving enabled, bundle not there yet. */
static void
bundle_paths(Bundle *b, int64 archive_id, int64 first, int64 last)
{
	struct stat st;

	if (audit_archive_directory == NULL || audit_archive_directory[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("archiving is disabled"),
				 errdetail("audit.archive_directory is not set."),
				 errhint("Set audit.archive_directory to a directory the server may write to, and reload.")));
	b->dir = psprintf("%s/archive-%lld-blocks-%lld-%lld", audit_archive_directory,
					  (long long) archive_id, (long long) first, (long long) last);
	b->tmp = psprintf("%s.tmp", b->dir);
	if (stat(b->dir, &st) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("archive bundle \"%s\" already exists", b->dir),
				 errhint("Move it out of audit.archive_directory.")));
	if (MakePGDirectory(b->tmp) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create archive bundle directory \"%s\": %m", b->tmp)));
}

/* Every file in place and synced: the bundle takes its name. */
static void
bundle_finish(Bundle *b)
{
	fsync_fname(b->tmp, true);
	if (rename(b->tmp, b->dir) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename \"%s\" to \"%s\": %m", b->tmp, b->dir)));
	fsync_fname(b->dir, true);
	fsync_fname(audit_archive_directory, true);
}

/* The bundle's files but SHA256SUMS. */
static void
write_bundle(Bundle *b, Snapshot snap, int64 archive_id, int64 first, int64 last)
{
	int64		first_position = first > 1 ? block_last_position(snap, first - 1) + 1 : 1;
	int64		last_position = block_last_position(snap, last);
	char	   *events_sql;

	write_archives(b, archive_id);
	write_rows(b, "blocks.jsonl",
			   "SELECT * FROM audit.block WHERE block_id <= $1 ORDER BY block_id",
			   last, audit_block_columns, Natts_block, Anum_block_tree_frontier);
	write_chain(b);
	file_write_all(b, "checkpoint.json",
				   psprintf("%s\n", audit_checkpoint_json(snap, last)));
	events_sql = psprintf("SELECT e.*, t.position >= %lld FROM audit.event e"
						  " JOIN audit.txn t ON t.txid = e.txid"
						  " WHERE t.position <= $1 ORDER BY e.event_id",
						  (long long) first_position);
	write_rows(b, "events.jsonl", events_sql, last_position,
			   audit_event_columns, Natts_event, 0);
	write_rows(b, "transactions.jsonl",
			   "SELECT * FROM audit.txn WHERE position <= $1 ORDER BY position",
			   last_position, audit_txn_columns, Natts_txn, 0);
}

PG_FUNCTION_INFO_V1(audit_archive_write);

/*
 * audit._archive_write(archive_id, first_block, last_block) returns
 * {"bundle": path, "sha256": hex, "event_count": n}.
 */
Datum
audit_archive_write(PG_FUNCTION_ARGS)
{
	int64		archive_id = PG_GETARG_INT64(0);
	int64		first = PG_GETARG_INT64(1);
	int64		last = PG_GETARG_INT64(2);
	Bundle		b = {0};
	char		sha[AUDIT_HASH_LEN * 2 + 1];
	StringInfoData out;

	if (first < 1 || last < first)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blocks %lld to %lld are no range to archive",
						(long long) first, (long long) last)));
	bundle_paths(&b, archive_id, first, last);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "audit_ext: SPI_connect failed");
	write_bundle(&b, GetActiveSnapshot(), archive_id, first, last);
	write_sums(&b, sha);
	SPI_finish();
	bundle_finish(&b);

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	audit_json_put_text(&out, "bundle", b.dir);
	audit_json_put_text(&out, "sha256", sha);
	audit_json_put_int(&out, "event_count", b.event_count);
	appendStringInfoChar(&out, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
