/*-------------------------------------------------------------------------
 *
 * av_json.c
 *	  audit_verify: JSON documents and JSON-lines files through json-c,
 *	  with strict, typed field access.
 *
 * json-c clamps integers that do not fit in 64 bits instead of failing;
 * a value above INT64_MAX is caught here by reading it back as unsigned.
 * (One below INT64_MIN still reads as INT64_MIN; no field can legitimately
 * be that small, and the hash then simply does not match.)
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <errno.h>
#include <sys/stat.h>

#include "av_json.h"

#define JSON_MAX_DEPTH		16
#define JSON_MAX_FILE		(64 * 1024 * 1024)

static bool
only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* Parse one JSON value that must fill text; exit 2 naming ctx otherwise. */
json_object *
av_json_parse(const char *text, size_t len, const char *ctx)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	json_object *obj;
	enum json_tokener_error err;
	size_t		end;

	if (tok == NULL)
		av_fatal("out of memory for a JSON parser");
	if (len > PG_INT32_MAX)
		av_fatal("%s: too long to be parsed as JSON", ctx);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int) len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (err == json_tokener_continue)
		av_fatal("%s: malformed JSON: unexpected end of data (truncated?)", ctx);
	if (err != json_tokener_success)
		av_fatal("%s: malformed JSON at byte %zu: %s", ctx, end + 1,
				 json_tokener_error_desc(err));
	if (end < len && !only_space(text + end, len - end))
	{
		json_object_put(obj);
		av_fatal("%s: malformed JSON: unexpected data after the value at byte %zu",
				 ctx, end + 1);
	}
	return obj;
}

/* A whole file as one JSON value; NULL if it does not exist and missing_ok. */
json_object *
av_json_read_file(const char *path, bool missing_ok)
{
	FILE	   *fp = fopen(path, "rb");
	struct stat st;
	char	   *buf;
	size_t		got;
	json_object *obj;

	if (fp == NULL && errno == ENOENT && missing_ok)
		return NULL;
	if (fp == NULL)
		av_fatal("could not open \"%s\": %m", path);
	if (fstat(fileno(fp), &st) != 0)
		av_fatal("could not stat \"%s\": %m", path);
	if (!S_ISREG(st.st_mode))
		av_fatal("\"%s\" is not a regular file", path);
	if (st.st_size > JSON_MAX_FILE)
		av_fatal("\"%s\" is larger than %d MB", path, JSON_MAX_FILE / (1024 * 1024));
	buf = av_malloc((size_t) st.st_size + 1);
	got = fread(buf, 1, (size_t) st.st_size, fp);
	if (ferror(fp))
		av_fatal("could not read \"%s\": %m", path);
	fclose(fp);
	if (only_space(buf, got))
		av_fatal("%s: the file is empty", path);
	obj = av_json_parse(buf, got, path);
	free(buf);
	return obj;
}

void
av_lines_open(AvLines *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->fp = fopen(path, "rb");
	if (r->fp == NULL)
		av_fatal("could not open \"%s\": %m", path);
	r->path = av_strdup(path);
}

/*
 * The next line's JSON object, or NULL at the end of the file.  Blank lines
 * are skipped.  The object stays valid until the next call.
 */
json_object *
av_lines_next(AvLines *r)
{
	ssize_t		n;

	if (r->current)
		json_object_put(r->current);
	r->current = NULL;
	for (;;)
	{
		errno = 0;
		n = getline(&r->line, &r->cap, r->fp);
		if (n < 0)
		{
			if (ferror(r->fp))
				av_fatal("could not read \"%s\": %m", r->path);
			return NULL;
		}
		r->lineno++;
		if (!only_space(r->line, (size_t) n))
			break;
	}
	snprintf(r->ctx, sizeof(r->ctx), "%s line " INT64_FORMAT, r->path, r->lineno);
	r->current = av_json_parse(r->line, (size_t) n, r->ctx);
	av_json_require_object(r->current, r->ctx);
	return r->current;
}

void
av_lines_rewind(AvLines *r)
{
	if (r->current)
		json_object_put(r->current);
	r->current = NULL;
	r->lineno = 0;
	if (fseek(r->fp, 0, SEEK_SET) != 0)
		av_fatal("could not rewind \"%s\": %m", r->path);
}

void
av_lines_close(AvLines *r)
{
	if (r->current)
		json_object_put(r->current);
	if (r->fp)
		fclose(r->fp);
	free(r->line);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

void
av_json_require_object(json_object *obj, const char *ctx)
{
	if (!json_object_is_type(obj, json_type_object))
		av_fatal("%s: a JSON object was expected", ctx);
}

bool
av_json_has(json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

/* Field key, which must be present; *isnull tells a JSON null. */
json_object *
av_json_field(json_object *obj, const char *key, const char *ctx, bool *isnull)
{
	json_object *v = NULL;

	if (!json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v))
		av_fatal("%s: \"%s\" is missing", ctx, key);
	*isnull = (v == NULL || json_object_is_type(v, json_type_null));
	return v;
}

/* An integer field, or null (false). */
bool
av_json_int64_null(json_object *obj, const char *key, const char *ctx,
				   int64 *out)
{
	bool		isnull;
	json_object *v = av_json_field(obj, key, ctx, &isnull);
	int64		i;

	if (isnull)
		return false;
	if (!json_object_is_type(v, json_type_int))
		av_fatal("%s: \"%s\" must be a whole number", ctx, key);
	i = json_object_get_int64(v);
	if (i == PG_INT64_MAX && json_object_get_uint64(v) != (uint64) PG_INT64_MAX)
		av_fatal("%s: \"%s\" is out of range", ctx, key);
	*out = i;
	return true;
}

int64
av_json_int64(json_object *obj, const char *key, const char *ctx)
{
	int64		i;

	if (!av_json_int64_null(obj, key, ctx, &i))
		av_fatal("%s: \"%s\" must not be null", ctx, key);
	return i;
}

/* A non-negative 64-bit integer (a transaction id). */
uint64
av_json_uint64(json_object *obj, const char *key, const char *ctx)
{
	bool		isnull;
	json_object *v = av_json_field(obj, key, ctx, &isnull);

	if (isnull)
		av_fatal("%s: \"%s\" must not be null", ctx, key);
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		av_fatal("%s: \"%s\" must be a non-negative whole number", ctx, key);
	return json_object_get_uint64(v);
}

/* A string field (its bytes, not NUL-terminated), or null (false). */
bool
av_json_text_null(json_object *obj, const char *key, const char *ctx,
				  const char **s, size_t *len)
{
	bool		isnull;
	json_object *v = av_json_field(obj, key, ctx, &isnull);

	if (isnull)
		return false;
	if (!json_object_is_type(v, json_type_string))
		av_fatal("%s: \"%s\" must be a string", ctx, key);
	*s = json_object_get_string(v);
	*len = (size_t) json_object_get_string_len(v);
	return true;
}

/*
 * A hex string value (an optional leading \x is allowed) decoded into
 * fresh memory.  Anything but hex digits is malformed; the length is the
 * caller's to judge.  what names the value in errors.
 */
static void
hex_value(json_object *v, const char *ctx, const char *what,
		  uint8 **bytes, size_t *len)
{
	const char *s;
	size_t		slen;

	if (!json_object_is_type(v, json_type_string))
		av_fatal("%s: \"%s\" must be a hexadecimal string", ctx, what);
	s = json_object_get_string(v);
	slen = (size_t) json_object_get_string_len(v);
	if (slen >= 2 && s[0] == '\\' && s[1] == 'x')
	{
		s += 2;
		slen -= 2;
	}
	if (!av_hex_decode(s, slen, bytes, len))
		av_fatal("%s: \"%s\" is not a hexadecimal string", ctx, what);
}

/* A hex string field decoded into fresh memory, or null (false). */
bool
av_json_hex_null(json_object *obj, const char *key, const char *ctx,
				 uint8 **bytes, size_t *len)
{
	bool		isnull;
	json_object *v = av_json_field(obj, key, ctx, &isnull);

	if (isnull)
		return false;
	hex_value(v, ctx, key, bytes, len);
	return true;
}

/* A hex string of exactly len bytes. */
void
av_json_hash(json_object *obj, const char *key, const char *ctx,
			 uint8 *out, size_t len)
{
	uint8	   *bytes;
	size_t		n;

	if (!av_json_hex_null(obj, key, ctx, &bytes, &n))
		av_fatal("%s: \"%s\" must not be null", ctx, key);
	if (n != len)
		av_fatal("%s: \"%s\" must be %zu bytes, not %zu", ctx, key, len, n);
	memcpy(out, bytes, len);
	free(bytes);
}

/* An array of at most max 32-byte hex hashes, in fresh memory. */
void
av_json_hash_list(json_object *obj, const char *key, const char *ctx, int max,
				  uint8 (**hashes)[AUDIT_HASH_LEN], int *n)
{
	bool		isnull;
	json_object *arr = av_json_field(obj, key, ctx, &isnull);
	size_t		len;

	if (isnull || !json_object_is_type(arr, json_type_array))
		av_fatal("%s: \"%s\" must be an array of hashes", ctx, key);
	len = json_object_array_length(arr);
	if (len > (size_t) max)
		av_fatal("%s: \"%s\" has %zu hashes, at most %d are possible", ctx, key,
				 len, max);
	*hashes = av_malloc(sizeof(**hashes) * (len > 0 ? len : 1));
	for (size_t i = 0; i < len; i++)
	{
		char		what[200];
		uint8	   *bytes;
		size_t		blen;

		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		hex_value(json_object_array_get_idx(arr, i), ctx, what, &bytes, &blen);
		if (blen != AUDIT_HASH_LEN)
			av_fatal("%s: \"%s\" must be %d bytes, not %zu", ctx, what,
					 AUDIT_HASH_LEN, blen);
		memcpy((*hashes)[i], bytes, AUDIT_HASH_LEN);
		free(bytes);
	}
	*n = (int) len;
}
