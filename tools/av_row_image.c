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
 * server stored.  Such an image cannot be encoded, nor one with a member
 * that has no salt; the event is then reported as altered.
 *
 * After audit.redact() (docs/FORMAT.md, "Erasure") the members erased are
 * in the event's erasure record as key and commitment, merged in key
 * order with those present, and row_salt is gone: the salts of the
 * members present are in the record too.
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
	const uint8 *row_salt;		/* NULL: salts from the erasure record */
	const AvImageErasure *ie;	/* what audit.redact() erased, kept */
	int			next_erased;	/* the next erased member to put */
	char		side;			/* 'k', 'o' or 'n' */
	uint32		count;			/* members encoded so far */
	uint32		present;		/* ... of them read from the text */
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

/* key_length, key, commitment. */
static void
put_key_commitment(AvBuf *b, const void *key, size_t keylen,
				   const uint8 *commitment)
{
	av_buf_put_be(b, (uint64) keylen, 4);
	av_buf_put(b, key, keylen);
	av_buf_put(b, commitment, AUDIT_HASH_LEN);
}

/*
 * The salt of the member being read: from row_salt, or else the one the
 * erasure record kept; false if there is none.
 */
static bool
member_salt(const Image *im, AvBuf *scratch, uint8 salt[AUDIT_HASH_LEN])
{
	if (im->row_salt == NULL)
		return av_erasure_salt(im->ie, im->key->data, im->key->len, salt);
	scratch->len = 0;
	av_buf_put(scratch, im->row_salt, AV_ROW_SALT_LEN);
	av_buf_put_u8(scratch, (uint8) im->side);
	av_buf_put(scratch, im->key->data, im->key->len);
	audit_hash_prefixed(COMMIT_PREFIX_SALT, scratch->data, scratch->len, salt);
	return true;
}

/* The member of the key read, committed to from value text v[0..vlen). */
static bool
put_member(AvBuf *b, const Image *im, const char *v, size_t vlen)
{
	static AvBuf scratch = {NULL, 0, 0};
	uint8		salt[AUDIT_HASH_LEN];
	uint8		commitment[AUDIT_HASH_LEN];

	if (!member_salt(im, &scratch, salt))
		return false;
	scratch.len = 0;
	av_buf_put(&scratch, salt, COMMIT_SALT_LEN);
	av_buf_put(&scratch, v, vlen);
	audit_hash_prefixed(COMMIT_PREFIX_VALUE, scratch.data, scratch.len, commitment);
	put_key_commitment(b, im->key->data, im->key->len, commitment);
	return true;
}

/*
 * The erased members that come before key (all of them, key NULL), by
 * their kept commitments; false if one has key itself (it cannot be both
 * erased and there).
 */
static bool
put_erased_before(AvBuf *b, Image *im, const AvBuf *key)
{
	while (im->next_erased < im->ie->nerased)
	{
		const AvErasedMember *m = &im->ie->erased[im->next_erased];
		AvBuf		mkey = {(uint8 *) m->key, m->keylen, m->keylen};

		if (key != NULL && !key_follows(&mkey, key))
			return !(mkey.len == key->len && memcmp(mkey.data, key->data, key->len) == 0);
		if (im->count == PG_UINT32_MAX)
			return false;
		put_key_commitment(b, m->key, m->keylen, m->commitment);
		im->count++;
		im->next_erased++;
	}
	return true;
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
	if (im->present > 0 && !key_follows(im->prev, im->key))
		return false;
	if (im->key->len > PG_UINT32_MAX || im->count == PG_UINT32_MAX ||
		!scan_lit(im, ": "))
		return false;
	value_start = im->pos;
	if (!scan_value(im) || !put_erased_before(b, im, im->key) ||
		im->count == PG_UINT32_MAX ||
		!put_member(b, im, im->s + value_start, im->pos - value_start))
		return false;
	im->count++;
	im->present++;
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
	return im->pos == im->len && put_erased_before(b, im, NULL);
}

/*
 * Append the field of the row image f (not NULL) with its commitments
 * salted from row_salt (16 bytes; NULL if the event has none: then from
 * the salts ie kept) and side, merged with the members ie erased.  False,
 * with nothing appended, when it cannot be encoded.
 */
bool
av_row_image_put(AvBuf *b, const AvField *f, const uint8 *row_salt,
				 const AvImageErasure *ie, char side)
{
	static AvBuf keys[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	Image		im = {f->s, f->len, 0, row_salt, ie, 0, side, 0, 0, &keys[0], &keys[1]};
	size_t		start = b->len;

	if (!ie->ok)
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
