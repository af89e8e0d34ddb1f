/*-------------------------------------------------------------------------
 *
 * av_event.c
 *	  audit_verify: the canonical encoding of an event (docs/FORMAT.md,
 *	  format versions 1 to 3), its leaf hash, and checking it against the
 *	  stored leaf hash.
 *
 * Written from FORMAT.md, not from the server's src/event_format.c, on
 * purpose: two implementations that agree on every stored event are the
 * evidence that the specification is complete.
 *
 *	entry	:= version:u8  field_count:u8  field{field_count}
 *	field	:= 0x00 | tag:u8  length:u32  value[length]		(big-endian)
 *
 * Each event is encoded in its own format version: version 1 encodes the
 * first 15 fields of the table below, version 2 the first 25, version 3
 * all 29.  A field that its version does not encode must be NULL: the
 * extension cannot have written a value there, and a value that no hash
 * covers is not evidence of anything.  The row images of version 3 are
 * encoded key by key (av_row_image.c).
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#define TAG_NULL		0x00
#define TAG_INTEGER		0x01
#define TAG_TEXT		0x02
#define TAG_TIMESTAMP	0x03
#define TAG_INET		0x04
#define TAG_JSON		0x05
#define TAG_ROW_IMAGE	0x06	/* see av_row_image.c */

/* The tag of each field, in encoding order (FORMAT.md's tables). */
static const uint8 field_tags[AV_EVENT_FIELDS] = {
	/* format version 1 */
	TAG_INTEGER,				/* event_id */
	TAG_INTEGER,				/* txid */
	TAG_TIMESTAMP,				/* occurred_at */
	TAG_TEXT,					/* kind */
	TAG_TEXT,					/* command */
	TAG_TEXT,					/* object_name */
	TAG_TEXT,					/* session_role */
	TAG_TEXT,					/* effective_role */
	TAG_INET,					/* client_addr */
	TAG_INTEGER,				/* client_port */
	TAG_TEXT,					/* application_name */
	TAG_INTEGER,				/* backend_pid */
	TAG_TEXT,					/* database */
	TAG_TEXT,					/* statement */
	TAG_INTEGER,				/* rows_affected */
	/* added by format version 2 */
	TAG_TEXT,					/* class */
	TAG_INTEGER,				/* statement_id */
	TAG_INTEGER,				/* nesting_level */
	TAG_TEXT,					/* app_user */
	TAG_JSON,					/* context */
	TAG_JSON,					/* parameters */
	TAG_JSON,					/* objects */
	TAG_TEXT,					/* sqlstate */
	TAG_TEXT,					/* message */
	TAG_JSON,					/* detail */
	/* added by format version 3 */
	TAG_ROW_IMAGE,				/* row_key */
	TAG_ROW_IMAGE,				/* old_row */
	TAG_ROW_IMAGE,				/* new_row */
	TAG_JSON					/* changed_columns */
};

/* The side byte of each row image's commitments, by field; 0 for others. */
static const char image_sides[AV_EVENT_FIELDS] = {
	[AV_FIELD_ROW_KEY] = 'k', [AV_FIELD_OLD_ROW] = 'o', [AV_FIELD_NEW_ROW] = 'n'
};

/* How many fields each format version encodes (index: the version). */
static const int version_fields[AV_EVENT_FORMAT_MAX + 1] = {0, 15, 25, 29};

/*
 * Append one field.  False, with nothing appended, for a row image that
 * cannot be encoded (not an object; a member without a salt; a malformed
 * erasure record).
 */
static bool
put_field(AvBuf *b, int i, const AvEvent *ev, const AvErasure *erasure)
{
	const AvField *f = &ev->f[i];
	uint8		tag = field_tags[i];

	if (f->isnull)
	{
		av_buf_put_u8(b, TAG_NULL);
		return true;
	}
	if (tag == TAG_ROW_IMAGE)
		return (ev->row_salt_ok || ev->row_salt_null) &&
			av_row_image_put(b, f, ev->row_salt_ok ? ev->row_salt : NULL,
							 av_erasure_side(erasure, image_sides[i]), image_sides[i]);
	av_buf_put_u8(b, tag);
	if (tag == TAG_INTEGER || tag == TAG_TIMESTAMP)
	{
		av_buf_put_be(b, 8, 4);
		av_buf_put_be(b, (uint64) f->i, 8);
		return true;
	}
	if (f->len > PG_UINT32_MAX)
		av_fatal("a text field of an event is longer than 4 GB");
	av_buf_put_be(b, (uint64) f->len, 4);
	av_buf_put(b, f->s, f->len);
	return true;
}

/* The number of fields format version encodes; 0 for a version not known. */
int
av_event_field_count(int64 version)
{
	return version >= 1 && version <= AV_EVENT_FORMAT_MAX ?
		version_fields[version] : 0;
}

/* The first format version that encodes field i (0-based). */
int
av_event_field_since(int i)
{
	for (int v = 1; v <= AV_EVENT_FORMAT_MAX; v++)
		if (i < version_fields[v])
			return v;
	return 0;
}

/*
 * The event's row_salt, as stored: kept when it is 16 bytes long; any
 * other length, like NULL, leaves the row images without a salt.
 */
void
av_event_set_row_salt(AvEvent *ev, const uint8 *bytes, size_t len)
{
	ev->row_salt_ok = (bytes != NULL && len == AV_ROW_SALT_LEN);
	ev->row_salt_null = (bytes == NULL);
	if (ev->row_salt_ok)
		memcpy(ev->row_salt, bytes, AV_ROW_SALT_LEN);
}

void
av_event_init(AvEvent *ev)
{
	memset(ev, 0, sizeof(*ev));
	for (int i = 0; i < AV_EVENT_FIELDS; i++)
		ev->f[i].isnull = true;
	ev->row_salt_null = true;
}

/*
 * SHA-256(0x00 || entry) of the event's encoding in its own format version,
 * into out; or, without touching out, why it has none: a version not
 * known, values in fields the version does not encode, or a row image
 * that cannot be encoded.
 */
AvEventStatus
av_event_leaf(const AvEvent *ev, uint8 out[AUDIT_HASH_LEN])
{
	static AvBuf b = {NULL, 0, 0};	/* reused: one event at a time */
	int			nfields = ev->has_format_version ?
		av_event_field_count(ev->format_version) : 0;
	AvErasure	erasure;
	char	   *ctx;
	bool		ok = true;

	if (nfields == 0)
		return AV_EVENT_UNKNOWN_VERSION;
	for (int i = nfields; i < AV_EVENT_FIELDS; i++)
		if (!ev->f[i].isnull)
			return AV_EVENT_UNHASHED_VALUES;
	b.len = 0;
	av_buf_put_u8(&b, (uint8) ev->format_version);
	av_buf_put_u8(&b, (uint8) nfields);
	ctx = ev->erasure ? av_psprintf("the erasure of event %lld", (long long) ev->f[0].i) : NULL;
	av_erasure_parse(&erasure, ev->erasure, ev->erasure_len, ctx);
	for (int i = 0; ok && i < nfields; i++)
		ok = put_field(&b, i, ev, &erasure);
	av_erasure_free(&erasure);
	free(ctx);
	if (!ok)
		return AV_EVENT_ROW_IMAGE;
	audit_hash_leaf(b.data, b.len, out);
	return AV_EVENT_OK;
}

/* The detail a problem with an event's content is reported with. */
const char *
av_event_status_detail(AvEventStatus status)
{
	switch (status)
	{
		case AV_EVENT_UNKNOWN_VERSION:
			return "unknown format version";
		case AV_EVENT_UNHASHED_VALUES:
			return "fields its format version does not hash hold values";
		case AV_EVENT_ROW_IMAGE:
			return "a row image cannot be encoded: it is not an object, or row_salt is not 16 bytes";
		case AV_EVENT_NO_LEAF:
			return "leaf hash is missing or malformed";
		default:
			return "stored and computed leaf hashes differ";
	}
}

/*
 * Check an event against its stored leaf hash, as the server's verify
 * does: an unknown format version is reported rather than guessed at.
 * position and orphan are left for the caller.
 */
void
av_event_check(const AvEvent *ev, AvEventRec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->event_id = ev->f[0].isnull ? -1 : ev->f[0].i;
	rec->txid = ev->f[1].isnull ? 0 : (uint64) ev->f[1].i;
	rec->has_stored = ev->leaf_hash.ok;
	if (ev->leaf_hash.ok)
		memcpy(rec->stored, ev->leaf_hash.h, AUDIT_HASH_LEN);

	if (ev->archived)
	{
		/* not encoded: the walk checks an archive covers it */
		rec->status = AV_EVENT_ARCHIVED;
		rec->archive_id = ev->archive_id;
		for (int i = 2; i < AV_EVENT_FIELDS; i++)
			rec->holds_payload |= !ev->f[i].isnull;
		return;
	}
	rec->status = av_event_leaf(ev, rec->computed);
	if (rec->status != AV_EVENT_OK)
		return;
	if (!ev->leaf_hash.ok)
		rec->status = AV_EVENT_NO_LEAF;
	else if (memcmp(rec->stored, rec->computed, AUDIT_HASH_LEN) != 0)
		rec->status = AV_EVENT_MISMATCH;
}

/*
 * The leaf the transaction's tree is rebuilt from: the stored one, so an
 * altered event is reported once, as itself, and not again as a digest
 * mismatch; the computed one when nothing usable is stored.
 */
void
av_event_rec_leaf(const AvEventRec *rec, uint8 out[AUDIT_HASH_LEN])
{
	if (rec->status == AV_EVENT_NO_LEAF)
		memcpy(out, rec->computed, AUDIT_HASH_LEN);
	else if (rec->has_stored)
		memcpy(out, rec->stored, AUDIT_HASH_LEN);
	else
		memset(out, 0, AUDIT_HASH_LEN);
}
