/*-------------------------------------------------------------------------
 *
 * av_row_image.c
 *	  audit_verify: the field of a row image (docs/FORMAT.md, "Row images",
 *	  tag 0x06, format version 3), from the canonical text of a jsonb
 *	  object.
 *
 *	image		:= count:u32  member{count}
 *	member		:= key_length:u32  key[key_length]  commitment[32]
 *	commitment	:= SHA-256(0x03 || salt || value_text)
 *	salt		:= first 16 bytes of SHA-256(0x04 || row_salt || side || key)
 *
 * The tool has the image as jsonb prints it, {"k1": v1, "k2": v2}, and
 * takes it apart itself rather than through a JSON library, which would
 * reprint the values: each key is unescaped to its raw bytes, each value
 * is the exact text that follows "key": , found by skipping strings and
 * counting brackets.  Only the canonical form is taken apart (jsonb's
 * separators, its key order, the escapes it prints in keys): that is the
 * text the commitments were made from, and any other text is not what the
 * server stored.  Such an image cannot be encoded, nor one without a
 * 16-byte row_salt; the event is then reported as altered.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include "hash.h"

#define TAG_ROW_IMAGE		0x06
#define COMMIT_PREFIX_VALUE	0x03	/* domain of a value's commitment */
#define COMMIT_PREFIX_SALT	0x04	/* domain of a member's salt */
#define COMMIT_SALT_LEN		16

/* An image being taken apart and encoded. */
typedef struct Image
{
	const char *s;				/* the object's text */
	size_t		len;
	size_t		pos;			/* how far it is read */
	const uint8 *row_salt;
	char		side;			/* 'k', 'o' or 'n' */
	uint32		count;			/* members encoded so far */
	AvBuf	   *key;			/* the key being read, unescaped */
	AvBuf	   *prev;			/* the key before it */
} Image;

/* Consume lit if the text goes on with it. */
static bool
scan_lit(Image *im, const char *lit)
{
	size_t		n = strlen(lit);

	if (im->len - im->pos < n || memcmp(im->s + im->pos, lit, n) != 0)
		return false;
	im->pos += n;
	return true;
}

/* Past a string whose opening quote is at pos; false if it never closes. */
static bool
scan_string(Image *im)
{
	for (im->pos++; im->pos < im->len; im->pos++)
	{
		if (im->s[im->pos] == '\\')
			im->pos++;			/* the escaped character */
		else if (im->s[im->pos] == '"')
		{
			im->pos++;
			return true;
		}
	}
	return false;
}

/* Past an array or object that opens at pos, strings inside skipped. */
static bool
scan_nested(Image *im)
{
	size_t		depth = 0;

	while (im->pos < im->len)
	{
		char		c = im->s[im->pos];

		if (c == '"')
		{
			if (!scan_string(im))
				return false;
			continue;
		}
		im->pos++;
		if (c == '[' || c == '{')
			depth++;
		else if ((c == ']' || c == '}') && --depth == 0)
			return true;
	}
	return false;
}

/* Can c be part of a number, true, false or null? */
static bool
scalar_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '-';
}

/*
 * Past one value.  Its text is not validated: the commitment covers it as
 * it is, and text other than what the server printed will not match.
 */
static bool
scan_value(Image *im)
{
	size_t		start = im->pos;

	if (im->pos >= im->len)
		return false;
	if (im->s[im->pos] == '"')
		return scan_string(im);
	if (im->s[im->pos] == '[' || im->s[im->pos] == '{')
		return scan_nested(im);
	while (im->pos < im->len && scalar_char(im->s[im->pos]))
		im->pos++;
	return im->pos > start;
}

/* The value of a lower-case hex digit, or -1. */
static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The byte one escape in a key stands for, s pointing after the backslash;
 * *used gets how many characters it takes.  Only the escapes jsonb prints
 * (PostgreSQL's escape_json) are accepted: \" \\ \b \f \n \r \t, and
 * \u00xx in lower-case hex for the other control characters but NUL.
 */
static bool
unescape_one(const char *s, size_t len, uint8 *out, size_t *used)
{
	static const char names[] = "\"\\bfnrt";
	static const char bytes[] = "\"\\\b\f\n\r\t";
	const char *named = len >= 1 && s[0] != '\0' ? strchr(names, s[0]) : NULL;
	int			hi;
	int			lo;

	if (named != NULL)
	{
		*out = (uint8) bytes[named - names];
		*used = 1;
		return true;
	}
	if (len < 5 || s[0] != 'u' || s[1] != '0' || s[2] != '0' ||
		(hi = hex_digit(s[3])) < 0 || (lo = hex_digit(s[4])) < 0)
		return false;
	*out = (uint8) (hi * 16 + lo);
	*used = 5;
	return *out > 0 && *out < 0x20 && strchr(bytes, (char) *out) == NULL;
}

/* The raw bytes of a key whose text between the quotes is s[0..len). */
static bool
unescape_key(const char *s, size_t len, AvBuf *key)
{
	key->len = 0;
	for (size_t i = 0; i < len;)
	{
		uint8		c = (uint8) s[i];
		size_t		used;

		if (c < 0x20 || c == '"')
			return false;		/* jsonb escapes these */
		if (c != '\\')
		{
			av_buf_put_u8(key, c);
			i++;
			continue;
		}
		if (!unescape_one(s + i + 1, len - i - 1, &c, &used))
			return false;
		av_buf_put_u8(key, c);
		i += 1 + used;
	}
	return true;
}

/* Does key come after prev in jsonb's order: shorter first, then bytewise? */
static bool
key_follows(const AvBuf *prev, const AvBuf *key)
{
	if (prev->len != key->len)
		return prev->len < key->len;
	return key->len > 0 && memcmp(prev->data, key->data, key->len) < 0;
}

/* key_length, key, and the commitment to the value text v[0..vlen). */
static void
put_member(AvBuf *b, const Image *im, const char *v, size_t vlen)
{
	static AvBuf scratch = {NULL, 0, 0};
	uint8		salt[AUDIT_HASH_LEN];
	uint8		commitment[AUDIT_HASH_LEN];

	scratch.len = 0;
	av_buf_put(&scratch, im->row_salt, AV_ROW_SALT_LEN);
	av_buf_put_u8(&scratch, (uint8) im->side);
	av_buf_put(&scratch, im->key->data, im->key->len);
	audit_hash_prefixed(COMMIT_PREFIX_SALT, scratch.data, scratch.len, salt);
	scratch.len = 0;
	av_buf_put(&scratch, salt, COMMIT_SALT_LEN);
	av_buf_put(&scratch, v, vlen);
	audit_hash_prefixed(COMMIT_PREFIX_VALUE, scratch.data, scratch.len, commitment);

	av_buf_put_be(b, (uint64) im->key->len, 4);
	av_buf_put(b, im->key->data, im->key->len);
	av_buf_put(b, commitment, AUDIT_HASH_LEN);
}

/* Read "key": value at pos and append its member. */
static bool
put_next_member(AvBuf *b, Image *im)
{
	size_t		key_start = im->pos + 1;
	size_t		value_start;
	AvBuf	   *swap;

	if (im->pos >= im->len || im->s[im->pos] != '"' || !scan_string(im) ||
		!unescape_key(im->s + key_start, im->pos - 1 - key_start, im->key))
		return false;
	if (im->count > 0 && !key_follows(im->prev, im->key))
		return false;
	if (im->key->len > PG_UINT32_MAX || im->count == PG_UINT32_MAX ||
		!scan_lit(im, ": "))
		return false;
	value_start = im->pos;
	if (!scan_value(im))
		return false;
	put_member(b, im, im->s + value_start, im->pos - value_start);
	im->count++;
	swap = im->prev;
	im->prev = im->key;
	im->key = swap;
	return true;
}

/* The members of {"k1": v1, "k2": v2}, whole text read. */
static bool
put_members(AvBuf *b, Image *im)
{
	if (!scan_lit(im, "{"))
		return false;
	if (!scan_lit(im, "}"))
	{
		do
		{
			if (!put_next_member(b, im))
				return false;
		} while (scan_lit(im, ", "));
		if (!scan_lit(im, "}"))
			return false;
	}
	return im->pos == im->len;
}

/*
 * Append the field of the row image f (not NULL) with its commitments
 * salted from row_salt (16 bytes; NULL if the event has none) and side.
 * False, with nothing appended, when it cannot be encoded.
 */
bool
av_row_image_put(AvBuf *b, const AvField *f, const uint8 *row_salt, char side)
{
	static AvBuf keys[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	Image		im = {f->s, f->len, 0, row_salt, side, 0, &keys[0], &keys[1]};
	size_t		start = b->len;

	if (row_salt == NULL)
		return false;
	av_buf_put_u8(b, TAG_ROW_IMAGE);
	av_buf_put_be(b, 0, 4);		/* length, set below */
	av_buf_put_be(b, 0, 4);		/* member count, set below */
	if (!put_members(b, &im) || b->len - start - 5 > PG_UINT32_MAX)
	{
		b->len = start;
		return false;
	}
	av_buf_set_be(b, start + 1, (uint64) (b->len - start - 5), 4);
	av_buf_set_be(b, start + 5, im.count, 4);
	return true;
}
