/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  audit.verify(): recompute every event's leaf hash and report.
 *
 * Verification reads the stored rows directly and re-encodes them with the
 * same code that encoded them when they were written (event_format.c); any
 * change to a hashed column, the format version or the stored hash shows up
 * as a mismatch on that event.  The first problem reported is the one with
 * the lowest event id, whatever the physical order of the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "event_format.h"
#include "event_schema.h"
#include "event_store.h"

typedef struct VerifyState
{
	int64		events_checked;
	int64		problems;
	int64		first_event_id; /* event of first_problem */
	char	   *first_problem;	/* in the caller's memory context */
	MemoryContext result_cxt;
} VerifyState;

static char *
hex_of(const uint8 *bytes, int len)
{
	char	   *out = palloc(len * 2 + 3);

	out[0] = '\\';
	out[1] = 'x';
	hex_encode((const char *) bytes, len, out + 2);
	out[len * 2 + 2] = '\0';
	return out;
}

/*
 * Note a problem with one event; keep the description of the earliest.
 */
static void
verify_problem(VerifyState *state, int64 event_id, const char *detail)
{
	state->problems++;
	if (state->first_problem == NULL || event_id < state->first_event_id)
	{
		MemoryContext old = MemoryContextSwitchTo(state->result_cxt);

		if (state->first_problem)
			pfree(state->first_problem);
		state->first_problem = psprintf("event %lld: %s",
										(long long) event_id, detail);
		state->first_event_id = event_id;
		MemoryContextSwitchTo(old);
	}
}

/*
 * Check one stored event row against its leaf hash.
 */
static void
verify_event(VerifyState *state, const Datum *values, const bool *isnull)
{
	int64		event_id = isnull[Anum_event_event_id - 1] ? -1 :
		DatumGetInt64(values[Anum_event_event_id - 1]);
	uint8		computed[AUDIT_HASH_LEN];
	bytea	   *stored;

	state->events_checked++;

	if (isnull[Anum_event_format_version - 1] ||
		DatumGetInt16(values[Anum_event_format_version - 1]) != AUDIT_FORMAT_VERSION)
	{
		verify_problem(state, event_id, "event altered: unknown format version");
		return;
	}
	if (isnull[Anum_event_leaf_hash - 1])
	{
		verify_problem(state, event_id, "event altered: leaf hash is missing");
		return;
	}

	audit_event_leaf_hash(values, isnull, computed);
	stored = DatumGetByteaPP(values[Anum_event_leaf_hash - 1]);
	if (VARSIZE_ANY_EXHDR(stored) != AUDIT_HASH_LEN ||
		memcmp(VARDATA_ANY(stored), computed, AUDIT_HASH_LEN) != 0)
		verify_problem(state, event_id,
					   psprintf("event altered: stored leaf hash %s, computed %s",
								hex_of((uint8 *) VARDATA_ANY(stored),
									   VARSIZE_ANY_EXHDR(stored)),
								hex_of(computed, AUDIT_HASH_LEN)));
}

/*
 * Scan audit.event under the current snapshot and check every row.
 */
static void
verify_all_events(VerifyState *state)
{
	Relation	rel = audit_store_open_events(AccessShareLock);
	TableScanDesc scan;
	TupleTableSlot *slot;
	MemoryContext row_cxt;
	MemoryContext old;

	row_cxt = AllocSetContextCreate(CurrentMemoryContext,
									"audit_ext verify row",
									ALLOCSET_DEFAULT_SIZES);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		old = MemoryContextSwitchTo(row_cxt);
		verify_event(state, slot->tts_values, slot->tts_isnull);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(row_cxt);
}

PG_FUNCTION_INFO_V1(audit_verify);

/*
 * audit.verify() returns (ok, events_checked, problems, first_problem).
 */
Datum
audit_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	VerifyState state = {0};
	Datum		values[4];
	bool		isnull[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	state.result_cxt = CurrentMemoryContext;
	verify_all_events(&state);

	values[0] = BoolGetDatum(state.problems == 0);
	values[1] = Int64GetDatum(state.events_checked);
	values[2] = Int64GetDatum(state.problems);
	if (state.first_problem)
		values[3] = CStringGetTextDatum(state.first_problem);
	else
		isnull[3] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, isnull)));
}
