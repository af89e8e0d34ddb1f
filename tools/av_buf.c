/*-------------------------------------------------------------------------
 *
 * av_buf.c
 *	  audit_verify: a growing byte buffer, and big-endian integers in it,
 *	  for the encodings that are hashed.
 *
 *-------------------------------------------------------------------------
 */
#include "av.h"

/* Room for len more bytes: av_buf_put()'s slow path. */
void
av_buf_grow(AvBuf *b, size_t len)
{
	if (len > SIZE_MAX / 2 - b->len)
		av_fatal("an event is too large to encode");
	if (b->len + len > b->cap)
	{
		b->cap = Max(b->cap * 2, b->len + len + 256);
		b->data = av_realloc(b->data, b->cap);
	}
}

/* v as nbytes (at most 8) big-endian bytes. */
void
av_buf_put_be(AvBuf *b, uint64 v, int nbytes)
{
	uint8		be[8];

	for (int i = 0; i < nbytes; i++)
		be[i] = (uint8) (v >> (8 * (nbytes - 1 - i)));
	av_buf_put(b, be, nbytes);
}

/*
 * Overwrite nbytes already written at offset at with v, big-endian: a
 * length known only once what it counts has been written.
 */
void
av_buf_set_be(AvBuf *b, size_t at, uint64 v, int nbytes)
{
	if (at > b->len || (size_t) nbytes > b->len - at)
		av_fatal("internal error: a length is patched outside what was encoded");
	for (int i = 0; i < nbytes; i++)
		b->data[at + i] = (uint8) (v >> (8 * (nbytes - 1 - i)));
}
