/*-------------------------------------------------------------------------
 *
 * av_util.c
 *	  audit_verify: fatal errors, memory, hex and integer parsing.
 *
 * Every input the tool reads may be hostile (a bundle or a proof handed
 * over by someone else): parsing here is strict and never trusts a length
 * it did not count itself.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

#include <errno.h>
#include <stdarg.h>

/*
 * Print "audit_verify: error: ..." and exit with status 2: the input could
 * not be read, which is not a verdict on the trail.
 */
void
av_fatal(const char *fmt,...)
{
	va_list		ap;
	int			save_errno = errno; /* for %m */

	av_flush_output();
	errno = save_errno;
	fprintf(stderr, "audit_verify: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(AV_EXIT_ERROR);
}

void *
av_malloc(size_t size)
{
	void	   *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		av_fatal("out of memory (%zu bytes)", size);
	return p;
}

void *
av_realloc(void *p, size_t size)
{
	void	   *q = realloc(p, size > 0 ? size : 1);

	if (q == NULL)
		av_fatal("out of memory (%zu bytes)", size);
	return q;
}

char *
av_strdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *d = av_malloc(len + 1);

	memcpy(d, s, len + 1);
	return d;
}

/* A formatted string in fresh memory (details of problems). */
char *
av_psprintf(const char *fmt,...)
{
	va_list		ap;
	int			len;
	char	   *buf;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		av_fatal("could not format a message");
	buf = av_malloc((size_t) len + 1);
	va_start(ap, fmt);
	vsnprintf(buf, (size_t) len + 1, fmt, ap);
	va_end(ap);
	return buf;
}

/* Lower-case hex of bytes, in fresh memory. */
char *
av_hex(const uint8 *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char	   *out = av_malloc(len * 2 + 1);

	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	out[len * 2] = '\0';
	return out;
}

/* "\x" and hex, as the server writes hashes in its problem details. */
char *
av_hex_x(const uint8 *bytes, size_t len)
{
	char	   *hex = av_hex(bytes, len);
	char	   *out = av_psprintf("\\x%s", hex);

	free(hex);
	return out;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode hexlen hex digits into fresh memory.  False for an odd length or
 * a character that is not a hex digit.
 */
bool
av_hex_decode(const char *hex, size_t hexlen, uint8 **out, size_t *outlen)
{
	uint8	   *buf;

	if (hexlen % 2 != 0)
		return false;
	buf = av_malloc(hexlen / 2);
	for (size_t i = 0; i < hexlen / 2; i++)
	{
		int			hi = hex_digit(hex[2 * i]);
		int			lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			free(buf);
			return false;
		}
		buf[i] = (uint8) (hi << 4 | lo);
	}
	*out = buf;
	*outlen = hexlen / 2;
	return true;
}

/* A whole string as a signed 64-bit decimal; false if it is anything else. */
bool
av_parse_int64(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64) v;
	return true;
}

/* A whole string as an unsigned 64-bit decimal (no sign). */
bool
av_parse_uint64(const char *s, uint64 *out)
{
	char	   *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (uint64) v;
	return true;
}

/* A stored hash column: usable only when it has exactly 32 bytes. */
void
av_set_hash(AvHash *dst, const uint8 *bytes, size_t len)
{
	dst->ok = bytes != NULL && len == AUDIT_HASH_LEN;
	if (dst->ok)
		memcpy(dst->h, bytes, AUDIT_HASH_LEN);
	else
		memset(dst->h, 0, AUDIT_HASH_LEN);
}

/*
 * Text from the input, made safe to print on one line: bytes outside
 * printable ASCII become '?'.
 */
char *
av_printable(const char *s, size_t len)
{
	char	   *out = av_malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[len] = '\0';
	return out;
}

/* "1 block", "2 blocks", in fresh memory. */
char *
av_count_of(int64 n, const char *noun)
{
	return av_psprintf(INT64_FORMAT " %s%s", n, noun, n == 1 ? "" : "s");
}
