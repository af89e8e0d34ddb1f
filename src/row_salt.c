/*-------------------------------------------------------------------------
 *
 * row_salt.c
 *	  The secret salt of each row event, derived from a per-process key.
 *
 * A row event's images are committed to value by value, each commitment
 * salted from the event's 16-byte row_salt (docs/FORMAT.md, "Row images").
 * The salt must be unpredictable to anyone who does not hold it, and unique
 * per event; nothing else is asked of it.  Drawing it from the strong
 * random source for every row cost a system call (getpid, OpenSSL's fork
 * check) and a lock per event: about 3% of a bulk load's time.
 *
 * So each process draws a 32-byte key once from the strong random source
 * and derives the salts from it, as the first 16 bytes of
 * SHA-256(0x06 || key || counter), the counter counting the process's
 * salts.  SHA-256 with a secret key prefixed to a fixed-length input is a
 * pseudo-random function: salts read from audit.event (auditors may read
 * them) tell nothing of the key, so nothing of another event's salt — in
 * particular not of one that audit.redact() removed.  The key never leaves
 * the process's memory.  A key drawn before a fork (the postmaster has
 * none: it is drawn on first use) would be shared by the children, so it
 * is drawn again in any process that did not draw it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "event.h"
#include "hash.h"
#include "schema.h"

#define ROW_SALT_KEY_LEN	32
#define ROW_SALT_PREFIX		0x06

static uint8 salt_key[ROW_SALT_KEY_LEN];
static int	salt_key_pid = 0;	/* the process that drew salt_key */
static uint64 salt_counter = 0;

/* A fresh row_salt, as a bytea. */
bytea *
audit_row_salt(void)
{
	uint8		input[ROW_SALT_KEY_LEN + sizeof(uint64)];
	uint8		digest[AUDIT_HASH_LEN];
	bytea	   *salt;

	StaticAssertStmt(AUDIT_ROW_SALT_LEN <= AUDIT_HASH_LEN,
					 "a row salt is cut from one SHA-256 digest");
	if (salt_key_pid != MyProcPid)
	{
		if (!pg_strong_random(salt_key, ROW_SALT_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes for a salt")));
		salt_key_pid = MyProcPid;
		salt_counter = 0;
	}
	salt_counter++;
	memcpy(input, salt_key, ROW_SALT_KEY_LEN);
	memcpy(input + ROW_SALT_KEY_LEN, &salt_counter, sizeof(uint64));
	audit_hash_prefixed(ROW_SALT_PREFIX, input, sizeof(input), digest);
	explicit_bzero(input, sizeof(input));

	salt = palloc(VARHDRSZ + AUDIT_ROW_SALT_LEN);
	SET_VARSIZE(salt, VARHDRSZ + AUDIT_ROW_SALT_LEN);
	memcpy(VARDATA(salt), digest, AUDIT_ROW_SALT_LEN);
	return salt;
}
