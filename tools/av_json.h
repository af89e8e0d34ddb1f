/*-------------------------------------------------------------------------
 *
 * av_json.h
 *	  audit_verify: reading JSON documents and JSON-lines files (json-c),
 *	  and typed access to their fields with clear errors.
 *
 * Every function that finds the input malformed reports where ("ctx", e.g.
 * "events.jsonl line 12") and exits with status 2.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_JSON_H
#define AV_JSON_H

#include "av.h"

#include <json-c/json.h>

/* A JSON-lines file being read, one object per line. */
typedef struct AvLines
{
	FILE	   *fp;
	char	   *path;
	char	   *line;
	size_t		cap;
	int64		lineno;
	char		ctx[1100];		/* "<path> line <n>" of the current line */
	json_object *current;		/* owned; freed by the next call */
} AvLines;

extern json_object *av_json_parse(const char *text, size_t len, const char *ctx);
extern json_object *av_json_read_file(const char *path, bool missing_ok);
extern void av_lines_open(AvLines *r, const char *path);
extern json_object *av_lines_next(AvLines *r);
extern void av_lines_rewind(AvLines *r);
extern void av_lines_close(AvLines *r);

extern json_object *av_json_field(json_object *obj, const char *key,
								  const char *ctx, bool *isnull);
extern bool av_json_has(json_object *obj, const char *key);
extern void av_json_require_object(json_object *obj, const char *ctx);
extern int64 av_json_int64(json_object *obj, const char *key, const char *ctx);
extern bool av_json_int64_null(json_object *obj, const char *key,
							   const char *ctx, int64 *out);
extern uint64 av_json_uint64(json_object *obj, const char *key, const char *ctx);
extern bool av_json_text_null(json_object *obj, const char *key,
							  const char *ctx, const char **s, size_t *len);
extern bool av_json_hex_null(json_object *obj, const char *key,
							 const char *ctx, uint8 **bytes, size_t *len);
extern void av_json_hash(json_object *obj, const char *key, const char *ctx,
						 uint8 *out, size_t len);
extern void av_json_hash_list(json_object *obj, const char *key,
							  const char *ctx, int max,
							  uint8 (**hashes)[AUDIT_HASH_LEN], int *n);

/* av_event_json.c */
extern void av_event_from_json(AvEvent *ev, json_object *obj, const char *ctx);
extern void av_stored_hash_from_json(AvHash *out, json_object *obj,
									 const char *key, const char *ctx);

#endif							/* AV_JSON_H */
