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
 * inside another string is not a password to the server and is left --
 * except in a dollar-quoted constant (the body of a DO block or of a
 * function), which the server will run as SQL: it is redacted likewise.
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

static char *redact_copy(const char *volatile text);

/*
 * A dollar-quoted constant (the body of a DO block or a function) is SQL
 * the server will run: a password in it is redacted as in the statement.
 * The constant is the len bytes at loc of text; its text between the tags
 * is exactly its value.
 */
static void
redact_dollar_body(const char *text, int loc, int len, StringInfo out,
				   volatile int *copied)
{
	const char *tag_end = memchr(text + loc + 1, '$', len - 1);
	int			tag_len;
	char	   *body;

	if (tag_end == NULL)
		return;
	tag_len = tag_end - (text + loc) + 1;
	if (len < 2 * tag_len)
		return;
	body = pnstrdup(text + loc + tag_len, len - 2 * tag_len);
	if (find_password_word(body) == NULL)
		return;
	appendBinaryStringInfo(out, text + *copied, loc + tag_len - *copied);
	appendStringInfoString(out, redact_copy(body));
	appendBinaryStringInfo(out, text + loc + len - tag_len, tag_len);
	*copied = loc + len;
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
		else if (tok == SCONST && text[yylloc] == '$')
			redact_dollar_body(text, yylloc, strlen(yyextra.scanbuf + yylloc),
							   out, copied);
		after_password = (tok == PASSWORD);
	}
	scanner_finish(yyscanner);
	appendStringInfoString(out, text + *copied);
	*copied = strlen(text);
}

/*
 * Passwords quoted at a deeper level than the statement's own: dynamic SQL
 * in a string ('CREATE ROLE r PASSWORD ''x''' inside a DO block), where
 * the scanner sees only one string constant.  After the word PASSWORD and
 * white space, a run of n quotes opens the password; the next run of at
 * least n quotes that is not a multiple of 2n closes it (2n is a quote
 * inside it; n plus more also closes the levels around it).  The text
 * between is replaced.  Applied to what the scanner pass left, where a
 * redacted password reads '[redacted]' and stays so.
 */
static char *
redact_quoted(char *text)
{
	StringInfoData out;
	const char *p = text;
	const char *word;

	initStringInfo(&out);
	while ((word = find_password_word(p)) != NULL)
	{
		const char *q = word + strlen("password");
		const char *body;
		const char *close = NULL;
		int			n = 0;

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		while (q[n] == '\'')
			n++;
		body = q + n;
		appendBinaryStringInfo(&out, p, body - p);
		p = body;
		/* Not the key word (part of a name), or no quote after it. */
		if (n == 0 || (word > text && (isalnum((unsigned char) word[-1]) ||
									   word[-1] == '_')))
			continue;
		for (const char *r = body; *r && close == NULL; r++)
		{
			int			run = 0;

			while (r[run] == '\'')
				run++;
			/* n closes; 2n is a quote inside; n + more closes outer levels too */
			if (run >= n && run % (2 * n) != 0)
				close = r;
			r += Max(run - 1, 0);
		}
		appendStringInfoString(&out, "[redacted]");
		if (close == NULL)
			return out.data;	/* never closed: all the rest goes */
		p = close;
	}
	appendStringInfoString(&out, p);
	return out.data;
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
		int			category = ERRCODE_TO_CATEGORY(geterrcode());

		/* Not the text's fault: out of memory, a cancel, a bug. */
		if (category == ERRCODE_INSUFFICIENT_RESOURCES ||
			category == ERRCODE_OPERATOR_INTERVENTION ||
			category == ERRCODE_INTERNAL_ERROR)
			PG_RE_THROW();
		/* Only the scanner's palloc'd state is lost; nothing to undo. */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();

		/*
		 * What was scanned is redacted.  After a redaction, the text may
		 * have become unreadable inside the same password ('it's'): all the
		 * rest goes.  Otherwise, from an unread PASSWORD on, all the rest.
		 */
		if (copied > 0)
			appendStringInfoString(&out, " [redacted: unreadable text]");
		else if (word == NULL)
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
	return redact_quoted(redact_copy(text));
}

/*
 * The text of a statement that failed: the server could not make sense of
 * it, so neither can we say where a password in it ends ('it's secret' is
 * the string 'it' followed by junk).  Everything from the first PASSWORD
 * on is redacted.
 */
const char *
audit_redact_failed(const char *text)
{
	const char *word;

	if (text == NULL || (word = find_password_word(text)) == NULL)
		return text;
	return psprintf("%.*spassword [redacted: the statement failed]",
					(int) (word - text), text);
}
