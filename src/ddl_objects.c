/*-------------------------------------------------------------------------
 *
 * ddl_objects.c
 *	  The objects of each DDL statement, with their identities, for the
 *	  objects column of its event: what event triggers see.
 *
 * Two event triggers (audit_ext_ddl_command_end, audit_ext_sql_drop, in
 * the extension script) run the functions below.  They read
 * pg_event_trigger_ddl_commands() and pg_event_trigger_dropped_objects()
 * and append one JSON object per row to a frame: backend-local memory that
 * the ProcessUtility hook opens before it runs a utility statement
 * (audit_ddl_objects_push) and closes after it (audit_ddl_objects_pop),
 * taking the JSON array for the statement's event.  Statements nest (a DO
 * block, a function, an event trigger running DDL): each has its own
 * frame, and a trigger fills the innermost one, which belongs to the
 * statement it fired for.
 *
 * A statement that fails never pops its frame.  Frames pushed inside a
 * subtransaction are dropped when it aborts, and all frames when the
 * transaction aborts, so nothing collected for a failed statement reaches
 * a later one.  Pop finds its frame by token, not by position, so a frame
 * that went away meanwhile (a procedure's ROLLBACK) yields NULL rather
 * than someone else's objects, and frames left above it are discarded.
 *
 * One statement names at most AUDIT_DDL_OBJECTS_MAX objects (and not much
 * more than DDL_OBJECTS_MAX_BYTES of JSON); the rest are counted in a last element
 * {"truncated": N}, so a DROP SCHEMA ... CASCADE of a huge schema does not
 * make a huge event.  Nothing is collected where there is no frame, where
 * audit_ext is not installed, or while an extension script runs (its
 * statements are not recorded).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "tcop/deparse_utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "checkpoint.h"
#include "ddl_objects.h"
#include "scope.h"
#include "store.h"

/* Once a frame holds this much JSON it takes no more objects. */
#define DDL_OBJECTS_MAX_BYTES	(1024 * 1024)

/* The objects collected for one running utility statement. */
typedef struct DdlObjectsFrame
{
	int			token;			/* what push returned; never 0 */
	SubTransactionId subid;		/* subtransaction it was pushed in */
	StringInfoData elements;	/* JSON objects, comma-separated; data is
								 * NULL until the first one */
	int			count;			/* objects in elements */
	int64		truncated;		/* objects left out */
} DdlObjectsFrame;

/* Frame contents; reset whenever no frame is open. */
static MemoryContext objects_cxt = NULL;

/* The stack of open frames (in TopMemoryContext), innermost last. */
static DdlObjectsFrame *frames = NULL;
static int	frames_allocated = 0;
static int	frames_depth = 0;
static int	last_token = 0;

/* Close frames from index depth up, discarding what they hold. */
static void
frames_truncate(int depth)
{
	for (int i = depth; i < frames_depth; i++)
		if (frames[i].elements.data != NULL)
			pfree(frames[i].elements.data);
	frames_depth = depth;
	if (frames_depth == 0 && objects_cxt != NULL)
		MemoryContextReset(objects_cxt);
}

/* The open frame with this token, or -1 when it is gone. */
static int
frame_find(int token)
{
	for (int i = frames_depth - 1; i >= 0; i--)
		if (frames[i].token == token)
			return i;
	return -1;
}

/*
 * A transaction that aborts takes every frame with it: their statements
 * failed, or (a procedure's ROLLBACK) their objects were rolled back.
 */
static void
objects_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		frames_truncate(0);
}

/*
 * A subtransaction that aborts (an exception block, ROLLBACK TO) takes the
 * frames pushed inside it: those of the statements it interrupted.
 */
static void
objects_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid pg_attribute_unused(),
						 void *arg pg_attribute_unused())
{
	int			depth = frames_depth;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (depth > 0 && frames[depth - 1].subid >= mySubid)
		depth--;
	frames_truncate(depth);
}

/* Memory and callbacks, on first use. */
static void
frames_init(void)
{
	if (objects_cxt != NULL)
		return;
	frames = MemoryContextAlloc(TopMemoryContext, 8 * sizeof(DdlObjectsFrame));
	frames_allocated = 8;
	objects_cxt = AllocSetContextCreate(TopMemoryContext,
										"audit_ext DDL objects",
										ALLOCSET_SMALL_SIZES);
	RegisterXactCallback(objects_xact_callback, NULL);
	RegisterSubXactCallback(objects_subxact_callback, NULL);
}

/*
 * Before a utility statement runs: open its frame.  The token it returns
 * is to be given to audit_ddl_objects_pop() once the statement is done.
 */
int
audit_ddl_objects_push(void)
{
	DdlObjectsFrame *frame;

	frames_init();
	if (frames_depth == frames_allocated)
	{
		frames_allocated *= 2;
		frames = repalloc(frames, frames_allocated * sizeof(DdlObjectsFrame));
	}
	if (++last_token <= 0)
		last_token = 1;
	frame = &frames[frames_depth++];
	memset(frame, 0, sizeof(*frame));
	frame->token = last_token;
	frame->subid = GetCurrentSubTransactionId();
	return frame->token;
}

/* A frame's objects as a JSON array text, or NULL if there are none. */
static char *
frame_json(const DdlObjectsFrame *frame)
{
	StringInfoData buf;

	if (frame->count == 0 && frame->truncated == 0)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	if (frame->count > 0)
		appendBinaryStringInfo(&buf, frame->elements.data, frame->elements.len);
	if (frame->truncated > 0)
		appendStringInfo(&buf, "%s{\"truncated\": " INT64_FORMAT "}",
						 frame->count > 0 ? ", " : "", frame->truncated);
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * After a utility statement ran: close its frame (and any left above it)
 * and return its objects as a JSON array text, palloc'd in the current
 * memory context; NULL when there are none, or the frame is gone.
 */
char *
audit_ddl_objects_pop(int token)
{
	int			i = frame_find(token);
	char	   *json;

	if (i < 0)
		return NULL;
	json = frame_json(&frames[i]);
	frames_truncate(i);
	return json;
}

/* Has this frame taken all the objects it may? */
static bool
frame_full(const DdlObjectsFrame *frame)
{
	return frame->count >= AUDIT_DDL_OBJECTS_MAX ||
		frame->elements.len >= DDL_OBJECTS_MAX_BYTES;
}

/*
 * Add one object (a JSON object text) to the frame with this token, or
 * count it as left out when the frame is full.  A frame gone meanwhile
 * takes nothing.
 */
static void
frame_add(int token, const StringInfoData *element)
{
	int			i = frame_find(token);
	DdlObjectsFrame *frame;

	if (i < 0)
		return;
	frame = &frames[i];
	if (frame_full(frame))
	{
		frame->truncated++;
		return;
	}
	if (frame->elements.data == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(objects_cxt);

		initStringInfo(&frame->elements);
		MemoryContextSwitchTo(oldcxt);
	}
	else
		appendStringInfoString(&frame->elements, ", ");
	/* repalloc keeps the buffer in objects_cxt */
	appendBinaryStringInfo(&frame->elements, element->data, element->len);
	frame->count++;
}

/* Count n objects as left out of the frame with this token. */
static void
frame_add_truncated(int token, int64 n)
{
	int			i = frame_find(token);

	if (i >= 0 && n > 0)
		frames[i].truncated += n;
}

/* How many more objects the frame with this token takes. */
static int
frame_room(int token)
{
	int			i = frame_find(token);

	if (i < 0 || frame_full(&frames[i]))
		return 0;
	return AUDIT_DDL_OBJECTS_MAX - frames[i].count;
}

/* Start an element: {"command": ..., "type": ..., "schema": ..., "identity": ... */
static void
element_start(StringInfo buf, const char *command, const char *type,
			  const char *schema, const char *identity)
{
	resetStringInfo(buf);
	appendStringInfoChar(buf, '{');
	audit_json_put_text(buf, "command", command);
	audit_json_put_text(buf, "type", type);
	audit_json_put_text(buf, "schema", schema);
	audit_json_put_text(buf, "identity", identity);
}

/* Column attnum of an SPI result row as text, or NULL. */
static char *
spi_text(uint64 row, int attnum)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, attnum);
}

/* Column attnum of an SPI result row as a bool (NULL: false). */
static bool
spi_bool(uint64 row, int attnum)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  attnum, &isnull);

	return !isnull && DatumGetBool(d);
}

/* Column attnum of an SPI result row as a pg_ddl_command, or NULL. */
static const CollectedCommand *
spi_command(uint64 row, int attnum)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  attnum, &isnull);

	return isnull ? NULL : (const CollectedCommand *) DatumGetPointer(d);
}

/* audit_ext's queries of the event trigger functions, planned once. */
typedef enum DdlQuery
{
	QUERY_COMMANDS,
	QUERY_DROPPED,
	QUERY_DROPPED_COUNT,
	QUERY_COUNT
} DdlQuery;

static const char *const query_text[QUERY_COUNT] = {
	[QUERY_COMMANDS] =
	"SELECT command_tag, object_type, schema_name, object_identity,"
	" in_extension, command"
	" FROM pg_catalog.pg_event_trigger_ddl_commands()",
	[QUERY_DROPPED] =
	"SELECT object_type, schema_name, object_identity,"
	" original, normal, is_temporary"
	" FROM pg_catalog.pg_event_trigger_dropped_objects()",
	[QUERY_DROPPED_COUNT] =
	"SELECT pg_catalog.count(*)"
	" FROM pg_catalog.pg_event_trigger_dropped_objects()",
};

static SPIPlanPtr query_plan[QUERY_COUNT];

/* Run one of our queries (read-only); at most limit rows (0: all). */
static void
spi_run(DdlQuery query, long limit)
{
	int			rc;

	if (query_plan[query] == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(query_text[query], 0, NULL);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 query_text[query], SPI_result_code_string(SPI_result));
		query_plan[query] = plan;
	}
	rc = SPI_execute_plan(query_plan[query], NULL, NULL, true, limit);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s",
			 query_text[query], SPI_result_code_string(rc));
}

/* The catalog holding the objects a GRANT or REVOKE of this kind names. */
static Oid
grant_class(ObjectType objtype)
{
	switch (objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			return RelationRelationId;
		case OBJECT_DOMAIN:
		case OBJECT_TYPE:
			return TypeRelationId;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			return ProcedureRelationId;
		case OBJECT_SCHEMA:
			return NamespaceRelationId;
		case OBJECT_LANGUAGE:
			return LanguageRelationId;
		case OBJECT_LARGEOBJECT:
			return LargeObjectRelationId;
		case OBJECT_FDW:
			return ForeignDataWrapperRelationId;
		case OBJECT_FOREIGN_SERVER:
			return ForeignServerRelationId;
		default:
			return InvalidOid;
	}
}

/* The schema of an object that lives in one, or NULL. */
static char *
object_schema(const ObjectAddress *addr)
{
	Oid			nspid;

	if (addr->classId != RelationRelationId && addr->classId != TypeRelationId &&
		addr->classId != ProcedureRelationId)
		return NULL;
	nspid = get_object_namespace(addr);
	return OidIsValid(nspid) ? get_namespace_name(nspid) : NULL;
}

/*
 * A GRANT or REVOKE: pg_event_trigger_ddl_commands() gives one row with
 * neither schema nor identity, so name each object the statement covered
 * (ON ALL TABLES IN SCHEMA included) from the collected command.
 */
static void
collect_grant(int token, const char *command, const CollectedCommand *cmd,
			  StringInfo element)
{
	InternalGrant *istmt = cmd->d.grant.istmt;
	Oid			classid = grant_class(istmt->objtype);
	ListCell   *lc;

	if (!OidIsValid(classid))
		return;
	foreach(lc, istmt->objects)
	{
		ObjectAddress addr;

		/* Look up no more than fits (ON ALL TABLES of a huge schema). */
		if (frame_room(token) == 0)
		{
			frame_add_truncated(token, list_length(istmt->objects) -
								foreach_current_index(lc));
			break;
		}
		ObjectAddressSet(addr, classid, lfirst_oid(lc));
		element_start(element, command, getObjectTypeDescription(&addr, true),
					  object_schema(&addr), getObjectIdentity(&addr, true));
		appendStringInfoChar(element, '}');
		frame_add(token, element);
	}
}

/* ddl_command_end: every command the statement ran, with its object. */
static void
collect_commands(int token)
{
	StringInfoData element;

	spi_run(QUERY_COMMANDS, 0);
	initStringInfo(&element);
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		char	   *command = spi_text(row, 1);
		const CollectedCommand *cmd = spi_command(row, 6);

		if (cmd != NULL && cmd->type == SCT_Grant)
		{
			collect_grant(token, command, cmd, &element);
			continue;
		}
		element_start(&element, command, spi_text(row, 2), spi_text(row, 3),
					  spi_text(row, 4));
		if (spi_bool(row, 5))
			audit_json_put_raw(&element, "in_extension", "true");
		appendStringInfoChar(&element, '}');
		frame_add(token, &element);
	}
}

/* sql_drop: each object dropped, CASCADE and dependent objects included. */
static void
collect_dropped(int token)
{
	StringInfoData element;
	int			room = frame_room(token);

	/* Fetch one row more than fits: if it comes, count them all. */
	spi_run(QUERY_DROPPED, room + 1);
	initStringInfo(&element);
	for (uint64 row = 0; row < SPI_processed && row < (uint64) room; row++)
	{
		element_start(&element, "DROP", spi_text(row, 1), spi_text(row, 2),
					  spi_text(row, 3));
		audit_json_put_raw(&element, "original", spi_bool(row, 4) ? "true" : "false");
		audit_json_put_raw(&element, "normal", spi_bool(row, 5) ? "true" : "false");
		if (spi_bool(row, 6))
			audit_json_put_raw(&element, "temporary", "true");
		appendStringInfoChar(&element, '}');
		frame_add(token, &element);
	}
	if (SPI_processed > (uint64) room)
	{
		bool		isnull;
		int64		total;

		spi_run(QUERY_DROPPED_COUNT, 0);
		total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
		frame_add_truncated(token, total - room);
	}
}

/*
 * Run collect for the innermost frame, unless there is nothing to collect
 * for: no frame, no audit_ext here, or an extension script running.  The
 * SPI queries are marked as audit_ext's own, so no capture hook records
 * them, error or not.
 */
static void
collect_for_statement(FunctionCallInfo fcinfo, const char *event,
					  void (*collect) (int token))
{
	int			token;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo) ||
		strcmp(((EventTriggerData *) fcinfo->context)->event, event) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be fired by an event trigger on %s", event)));
	if (frames_depth == 0 || creating_extension || !audit_store_available())
		return;
	token = frames[frames_depth - 1].token;

	audit_internal_begin();
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		collect(token);
		SPI_finish();
	}
	PG_FINALLY();
	{
		audit_internal_end();
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(audit_ddl_command_end);

/* audit._ddl_command_end(): event trigger on ddl_command_end. */
Datum
audit_ddl_command_end(PG_FUNCTION_ARGS)
{
	collect_for_statement(fcinfo, "ddl_command_end", collect_commands);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(audit_sql_drop);

/* audit._sql_drop(): event trigger on sql_drop. */
Datum
audit_sql_drop(PG_FUNCTION_ARGS)
{
	collect_for_statement(fcinfo, "sql_drop", collect_dropped);
	PG_RETURN_VOID();
}
