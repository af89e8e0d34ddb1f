/*-------------------------------------------------------------------------
 *
 * av_event_json.c
 *	  audit_verify: an event as JSON (a line of events.jsonl, the "event"
 *	  of an inclusion proof), read into the fields FORMAT.md encodes.
 *
 * Every field its format version encodes must be present (null where it
 * is SQL NULL): a key that is missing is a malformed file, not an event
 * with a NULL.  The fields a later format version added may be left out of
 * an event of an earlier version, as bundles and proofs written before
 * that version have them; when present they must be null.  JSON strings
 * are hashed as the bytes they decode to; a jsonb column is a string, its
 * canonical text, and so is a row image.  row_salt, which is no field but
 * salts the row images, is hex, or null; it may be left out of an event of
 * a version before 3, as its row images.  So is erasure (audit.redact(),
 * audit_ext 0.4): its canonical text as a string, or null; bundles and
 * proofs made before 0.4 have none.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "av_db.h"
#include "av_json.h"

/* May field i be left out of an event of this (possibly unknown) version? */
static bool
field_optional(const AvEvent *ev, int i)
{
	int			since = av_event_field_since(i);

	return since > 1 && ev->has_format_version &&
		ev->format_version >= 1 && ev->format_version < since;
}

static void
row_salt_from_json(AvEvent *ev, json_object *obj, const char *ctx)
{
	uint8	   *bytes = NULL;
	size_t		len = 0;

	if (!av_json_has(obj, "row_salt") && field_optional(ev, AV_FIELD_ROW_KEY))
		return;					/* stays without one */
	(void) av_json_hex_null(obj, "row_salt", ctx, &bytes, &len);
	av_event_set_row_salt(ev, bytes, len);
	free(bytes);
}

void
av_event_from_json(AvEvent *ev, json_object *obj, const char *ctx)
{
	av_json_require_object(obj, ctx);
	av_event_init(ev);
	ev->has_format_version = av_json_int64_null(obj, "format_version", ctx,
												&ev->format_version);
	for (int i = 0; i < AV_EVENT_FIELDS; i++)
	{
		AvField    *f = &ev->f[i];
		const char *key = av_event_cols[i].key;

		if (!av_json_has(obj, key) && field_optional(ev, i))
			continue;			/* stays NULL */
		if (av_col_is_string(av_event_cols[i].kind))
			f->isnull = !av_json_text_null(obj, key, ctx, &f->s, &f->len);
		else if (i == 1)		/* txid: xid8, unsigned */
		{
			f->isnull = false;
			f->i = (int64) av_json_uint64(obj, key, ctx);
		}
		else
			f->isnull = !av_json_int64_null(obj, key, ctx, &f->i);
	}
	row_salt_from_json(ev, obj, ctx);
	if (av_json_has(obj, "erasure") &&
		!av_json_text_null(obj, "erasure", ctx, &ev->erasure, &ev->erasure_len))
		ev->erasure = NULL;
	/* archive_id: bundles since audit_ext 0.4; absent means not archived */
	if (av_json_has(obj, "archive_id"))
		ev->archived = av_json_int64_null(obj, "archive_id", ctx, &ev->archive_id);
	if (ev->f[0].isnull)
		av_fatal("%s: \"event_id\" must not be null", ctx);
}

/*
 * A stored hash in hex: null, or hex of the wrong length, is kept as
 * unusable (reported as the server reports it); text that is not hex is a
 * malformed file.
 */
void
av_stored_hash_from_json(AvHash *out, json_object *obj, const char *key,
						 const char *ctx)
{
	uint8	   *bytes = NULL;
	size_t		len = 0;

	(void) av_json_hex_null(obj, key, ctx, &bytes, &len);
	av_set_hash(out, bytes, len);
	free(bytes);
}
