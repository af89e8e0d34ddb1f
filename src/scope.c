/*-------------------------------------------------------------------------
 *
 * scope.c
 *	  Where in the statement tree the session is.
 *
 * The nesting level counts the executor runs and utility statements the
 * current one is inside, as pg_stat_statements counts them: a statement
 * typed by the client is at level 0, one run by a function it called at
 * level 1, and so on.  The capture hooks raise it around the work they pass
 * on and restore it on the way out, also when an error unwinds them.
 *
 * All events of one top-level statement share a statement id: the event id
 * of the first event recorded for it (nested statements finish, and are
 * recorded, before the statement that ran them).  It is forgotten when the
 * next top-level statement starts.
 *
 * audit_ext's own queries (an event trigger's look-up of the objects a DDL
 * statement touched) are not audit events: the code that runs them marks
 * the span, and the capture hooks record nothing inside it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "scope.h"

/* The internal depth at the start of each open subtransaction. */
typedef struct SavedDepth
{
	SubTransactionId subid;
	int			internal_depth;
	struct SavedDepth *next;
} SavedDepth;

static SavedDepth *saved_depths = NULL;

static int	nesting_level = 0;
static int64 statement_id = 0;
static int	internal_depth = 0;
static bool setting_changed = false;
static bool explain_only = false;
static uint64 rows_captured = 0;	/* bit n: the statement at level n */

int
audit_scope_level(void)
{
	return nesting_level;
}

/* Going one level down; returns nothing, the caller saved the level. */
void
audit_scope_enter(void)
{
	nesting_level++;
}

/* Back to the level saved before audit_scope_enter(), error or not. */
void
audit_scope_leave(int saved_level)
{
	nesting_level = saved_level;
}

/* A statement starts: if it is a top-level one, its events get a new id. */
void
audit_scope_top_start(void)
{
	if (nesting_level == 0)
	{
		statement_id = 0;
		internal_depth = 0;
		rows_captured = 0;
	}
}

/* The statement id for an event whose own id is event_id. */
int64
audit_scope_statement_id(int64 event_id)
{
	if (statement_id == 0)
		statement_id = event_id;
	return statement_id;
}

/* Setting up a plan that will not run (EXPLAIN)?  Returns the old value. */
bool
audit_scope_set_explain_only(bool value)
{
	bool		old = explain_only;

	explain_only = value;
	return old;
}

bool
audit_scope_explain_only(void)
{
	return explain_only;
}

void
audit_internal_begin(void)
{
	internal_depth++;
}

void
audit_internal_end(void)
{
	if (internal_depth > 0)
		internal_depth--;
}

bool
audit_in_internal(void)
{
	return internal_depth > 0;
}

/*
 * A session changed an audit.* setting (SET, set_config()): the statement
 * that did it is recorded whatever audit.log says.
 */
void
audit_scope_note_setting_change(void)
{
	setting_changed = true;
}

bool
audit_scope_take_setting_change(void)
{
	bool		changed = setting_changed;

	setting_changed = false;
	return changed;
}

/*
 * Rows of a tracked table were captured: the statement that changed them
 * is recorded whatever audit.log says, so that its row events have it.
 */
void
audit_scope_note_rows(void)
{
	/* Row triggers fire one level below their statement (scope enter). */
	int			level = nesting_level - 1;

	if (level >= 0 && level < 64)
		rows_captured |= UINT64CONST(1) << level;
}

/* Did the statement ending now, at the current level, capture rows? */
bool
audit_scope_take_rows(void)
{
	uint64		bit;

	if (nesting_level < 0 || nesting_level >= 64)
		return false;
	bit = UINT64CONST(1) << nesting_level;
	if ((rows_captured & bit) == 0)
		return false;
	rows_captured &= ~bit;
	return true;
}

/*
 * A subtransaction that aborts inside an internal span (an error raised in
 * audit.track(), caught by the caller's exception block) leaves the span
 * as it was when the subtransaction started, so that nothing the session
 * does afterwards goes unrecorded.
 */
static void
scope_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid pg_attribute_unused(),
					   void *arg pg_attribute_unused())
{
	SavedDepth *s;
	int			depth_at_start = 0;

	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			/* Only inside a span: a subtransaction with no record began at 0. */
			if (internal_depth == 0)
				break;
			s = MemoryContextAlloc(TopTransactionContext, sizeof(SavedDepth));
			s->subid = mySubid;
			s->internal_depth = internal_depth;
			s->next = saved_depths;
			saved_depths = s;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
		case SUBXACT_EVENT_COMMIT_SUB:
			while (saved_depths != NULL && saved_depths->subid >= mySubid)
			{
				s = saved_depths;
				saved_depths = s->next;
				if (s->subid == mySubid)
					depth_at_start = s->internal_depth;
				pfree(s);
			}
			if (event == SUBXACT_EVENT_ABORT_SUB)
				internal_depth = depth_at_start;
			break;
		default:
			break;
	}
}

/* Nothing carries over from one transaction to the next. */
static void
scope_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		internal_depth = 0;
		rows_captured = 0;
		saved_depths = NULL;	/* freed with TopTransactionContext */
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		saved_depths = NULL;
		internal_depth = 0;
		setting_changed = false;
		rows_captured = 0;
		/* Its first event is gone with the transaction. */
		statement_id = 0;
	}
}

void
audit_scope_init(void)
{
	RegisterXactCallback(scope_xact_callback, NULL);
	RegisterSubXactCallback(scope_subxact_callback, NULL);
}
