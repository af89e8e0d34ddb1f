/*-------------------------------------------------------------------------
 *
 * redact.c
 *	  Keeping passwords out of the trail.
 *
 * CREATE ROLE ... PASSWORD 'x', ALTER ROLE ... [ENCRYPTED] PASSWORD 'x',
 * and a password in the OPTIONS of a user mapping or server all have the
 * key word PASSWORD followed by a string constant.  Such a constant is
 * replaced by '[redacted]' in the statement text (and in an error message
 * quoting it) before the event is built and hashed, so the password never
 * reaches the table, its WAL or its hash.  The text is read with the
 * server's own scanner, so quoting, comments and dollar quotes are
 * understood as the parser understands them; a password in a comment or
 * inside another string is not a password to the server and is left.
 *
 * Text that the scanner cannot read to its end (an unterminated string or
 * comment: a statement that failed with a syntax error, or one cut to
 * audit.statement_max_bytes) keeps what was redacted up to the point where
 * scanning stopped, and is redacted wholesale from the first PASSWORD after
 * it: too much is better than a leak.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "parser/gramparse.h"
#include "utils/memutils.h"

#include "redact.h"

/* Case-insensitive search for the word, as a cheap test before scanning. */
static const char *
find_password_word(const char *text)
{
	static const char word[] = "password";

	for (const char *p = text; *p; p++)
	{
		int			i;

		for (i = 0; word[i] != '\0'; i++)
			if (pg_ascii_tolower((unsigned char) p[i]) != word[i])
				break;
		if (word[i] == '\0')
			return p;
	}
	return NULL;
}

/*
 * Scan text; append it to out with every string constant that directly
 * follows the key word PASSWORD replaced.  *copied tells how much of text
 * is in out so far.  May throw on malformed text.
 */
static void
redact_scan(const char *text, StringInfo out, volatile int *copied)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	bool		after_password = false;

	yyscanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.escape_string_warning = false;
	for (;;)
	{
		int			tok = core_yylex(&yylval, &yylloc, yyscanner);

		if (tok == 0)
			break;
		if (after_password && (tok == SCONST || tok == USCONST))
		{
			int			len = strlen(yyextra.scanbuf + yylloc);

			appendBinaryStringInfo(out, text + *copied, yylloc - *copied);
			appendStringInfoString(out, AUDIT_REDACTED);
			*copied = yylloc + len;
		}
		after_password = (tok == PASSWORD);
	}
	scanner_finish(yyscanner);
	appendStringInfoString(out, text + *copied);
	*copied = strlen(text);
}

/* A palloc'd copy of text with its passwords redacted. */
static char *
redact_copy(const char *volatile text)
{
	StringInfoData out;
	MemoryContext cxt = CurrentMemoryContext;
	volatile int copied = 0;

	initStringInfo(&out);
	PG_TRY();
	{
		redact_scan(text, &out, &copied);
	}
	PG_CATCH();
	{
		const char *rest = text + copied;
		const char *word = find_password_word(rest);

		/* Only the scanner's palloc'd state is lost; nothing to undo. */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		/* What was scanned is redacted; from an unread PASSWORD on, all is. */
		if (word == NULL)
			appendStringInfoString(&out, rest);
		else
		{
			appendBinaryStringInfo(&out, rest, word - rest);
			appendStringInfoString(&out, "password [redacted: unreadable text]");
		}
	}
	PG_END_TRY();
	return out.data;
}

/*
 * text with its passwords redacted: text itself when it has none, else a
 * palloc'd copy.
 */
const char *
audit_redact(const char *text)
{
	if (text == NULL || find_password_word(text) == NULL)
		return text;
	return redact_copy(text);
}
