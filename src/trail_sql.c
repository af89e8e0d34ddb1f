/*-------------------------------------------------------------------------
 *
 * trail_sql.c
 *	  SQL-callable functions of the integrity layer: audit.verify(),
 *	  audit.verify_report(), audit.seal(), audit.digest(),
 *	  audit.public_key().
 *
 * Argument checking lives here; the work is in verify.c, seal.c and
 * checkpoint.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "checkpoint.h"
#include "seal.h"
#include "sign.h"
#include "store.h"
#include "verify.h"

/*
 * Read (from_block, to_block) into opts: NULL means open-ended.
 */
static void
range_args(FunctionCallInfo fcinfo, VerifyOptions *opts)
{
	opts->from_block = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	opts->to_block = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	if (!PG_ARGISNULL(0) && opts->from_block < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_block must be at least 1")));
	if (!PG_ARGISNULL(1) && opts->to_block < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("to_block must be at least 1")));
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && opts->to_block < opts->from_block)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("to_block %lld is before from_block %lld",
						(long long) opts->to_block, (long long) opts->from_block)));
}

static Datum
hash_datum(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), h, AUDIT_HASH_LEN);
	return PointerGetDatum(b);
}

/* The summary row of verify(). */
static Datum
summary_row(FunctionCallInfo fcinfo, const VerifyResult *r)
{
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		isnull[10] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts < 9 || tupdesc->natts > 10)
		elog(ERROR, "return type must be a row type of 9 or 10 columns");
	values[0] = BoolGetDatum(r->problems == 0);
	values[1] = Int64GetDatum(r->blocks_checked);
	values[2] = Int64GetDatum(r->transactions_checked);
	values[3] = Int64GetDatum(r->events_checked);
	values[4] = Int64GetDatum(r->unsealed_events);
	values[5] = Int64GetDatum(r->last_verified_block);
	isnull[5] = r->last_verified_block == 0;
	values[6] = r->has_head ? hash_datum(r->head_hash) : (Datum) 0;
	isnull[6] = !r->has_head;
	values[7] = Int64GetDatum(r->problems);
	values[8] = r->first_problem ? CStringGetTextDatum(r->first_problem) : (Datum) 0;
	isnull[8] = r->first_problem == NULL;
	/* archived_events, from audit_ext 0.4 on */
	values[9] = Int64GetDatum(r->archived_events);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, isnull)));
}

PG_FUNCTION_INFO_V1(audit_verify);

/*
 * audit.verify(from_block, to_block): one summary row.
 */
Datum
audit_verify(PG_FUNCTION_ARGS)
{
	VerifyOptions opts = {0};
	VerifyResult res;

	range_args(fcinfo, &opts);
	audit_verify_trail(&opts, &res);
	return summary_row(fcinfo, &res);
}

PG_FUNCTION_INFO_V1(audit_verify_checkpoints);

/*
 * audit.verify(digests jsonb): the whole trail, and that it still extends
 * every saved checkpoint.
 */
Datum
audit_verify_checkpoints(PG_FUNCTION_ARGS)
{
	VerifyOptions opts = {0};
	VerifyResult res;

	opts.checkpoints = audit_checkpoints_parse(PG_GETARG_JSONB_P(0),
											   &opts.ncheckpoints);
	audit_verify_trail(&opts, &res);
	return summary_row(fcinfo, &res);
}

PG_FUNCTION_INFO_V1(audit_verify_report);

/*
 * audit.verify_report(from_block, to_block): one row per problem.
 */
Datum
audit_verify_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VerifyOptions opts = {0};
	VerifyResult res;

	range_args(fcinfo, &opts);
	InitMaterializedSRF(fcinfo, 0);
	opts.report = rsinfo->setResult;
	opts.report_desc = rsinfo->setDesc;
	audit_verify_trail(&opts, &res);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(audit_seal);

/*
 * audit.seal(): seal every settled transaction now; the newest block id.
 */
Datum
audit_seal(PG_FUNCTION_ARGS)
{
	int64		last;

	PreventCommandIfReadOnly("audit.seal()");
	last = audit_seal_all();

	if (last == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(last);
}

PG_FUNCTION_INFO_V1(audit_digest);

/*
 * audit.digest(): the checkpoint of the newest block, or NULL.
 */
Datum
audit_digest(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = audit_checkpoint_current();

	if (j == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(j);
}

PG_FUNCTION_INFO_V1(audit_public_key);

/*
 * audit.public_key(): PEM of the key that signs checkpoints, or NULL.
 */
Datum
audit_public_key(PG_FUNCTION_ARGS)
{
	char	   *pem = audit_sign_public_key_pem();

	if (pem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pem));
}
