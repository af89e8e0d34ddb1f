/*-------------------------------------------------------------------------
 *
 * alert_logins.c
 *	  The counter behind the failed_logins alert rule: the recent failed
 *	  logins of each client address, in a sliding window.
 *
 * Failed logins reach the trail through the event queue, so the sealer of
 * the database writes them all: the counter lives in its memory (one per
 * sealer, lost when it restarts, which at worst delays one alert).  For
 * each rule and address it keeps the times of the last logins + 1 failed
 * logins; when they all fall within the rule's seconds, that is a burst:
 * the alert goes out and the count starts again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "alert.h"

/* Beyond this many addresses, the counter starts afresh. */
#define ALERT_LOGIN_MAX_ADDRESSES	10000

typedef struct LoginWindowKey
{
	char		rule[NAMEDATALEN];
	char		addr[64];
} LoginWindowKey;

typedef struct LoginWindow
{
	LoginWindowKey key;
	int			size;			/* capacity of times: logins + 1 */
	int			count;			/* times filled */
	int			next;			/* where the next time goes */
	TimestampTz *times;
} LoginWindow;

static MemoryContext windows_cxt = NULL;
static HTAB *windows = NULL;

static void
windows_create(void)
{
	HASHCTL		ctl;

	if (windows_cxt == NULL)
		windows_cxt = AllocSetContextCreate(TopMemoryContext,
											"audit_ext failed logins",
											ALLOCSET_SMALL_SIZES);
	MemoryContextReset(windows_cxt);
	ctl.keysize = sizeof(LoginWindowKey);
	ctl.entrysize = sizeof(LoginWindow);
	ctl.hcxt = windows_cxt;
	windows = hash_create("audit_ext failed logins", 64, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* The window of rule and addr, empty when new or when the rule changed. */
static LoginWindow *
window_of(const AlertRule *rule, const char *addr)
{
	LoginWindowKey key;
	LoginWindow *w;
	bool		found;

	if (windows == NULL || hash_get_num_entries(windows) >= ALERT_LOGIN_MAX_ADDRESSES)
		windows_create();
	memset(&key, 0, sizeof(key));
	strlcpy(key.rule, rule->name, sizeof(key.rule));
	strlcpy(key.addr, addr, sizeof(key.addr));
	w = hash_search(windows, &key, HASH_ENTER, &found);
	if (!found || w->size != rule->logins + 1)
	{
		w->size = rule->logins + 1;
		w->count = 0;
		w->next = 0;
		w->times = MemoryContextAlloc(windows_cxt, sizeof(TimestampTz) * w->size);
	}
	return w;
}

/*
 * A failed login from addr (NULL: a Unix socket) at the given time: is it
 * one more than rule->logins within rule->seconds?  Returns the number of
 * failed logins in the window then (0: no burst).
 */
int
audit_alert_login_burst(const AlertRule *rule, const char *addr, TimestampTz at)
{
	LoginWindow *w = window_of(rule, addr != NULL ? addr : "local");
	TimestampTz oldest;

	w->times[w->next] = at;
	w->next = (w->next + 1) % w->size;
	if (w->count < w->size)
		w->count++;
	if (w->count < w->size)
		return 0;
	/* Full: the oldest time is where the next one goes. */
	oldest = w->times[w->next];
	if (at - oldest > (TimestampTz) rule->seconds * USECS_PER_SEC)
		return 0;
	w->count = 0;
	return w->size;
}
