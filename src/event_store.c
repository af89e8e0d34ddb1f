/*-------------------------------------------------------------------------
 *
 * event_store.c
 *	  Finding audit_ext's tables in this database, and writing events.
 *
 * Whether the extension is installed in the current database is asked on
 * every audited statement, so the answer is cached and dropped by the
 * invalidation callbacks when the audit schema or our relations change
 * (CREATE / DROP EXTENSION, a rolled-back CREATE EXTENSION, ...).  Catalog
 * scans happen only when the cache is refilled.
 *
 * Rows are written with heap inserts plus index maintenance, the way the
 * server writes its own catalogs: no SPI, no planner, and no permission
 * check on the calling role, who holds no privilege on audit.event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "event_schema.h"
#include "event_store.h"

#define AUDIT_EXTENSION_NAME	"audit_ext"
#define AUDIT_SCHEMA_NAME		"audit"

typedef struct StoreCache
{
	bool		valid;			/* the fields below are up to date */
	bool		layout_checked; /* audit.event matched audit_event_columns */
	Oid			event_relid;	/* audit.event, or InvalidOid if absent */
	Oid			event_seq_relid;	/* audit.event_id_seq */
} StoreCache;

static StoreCache store_cache;
static bool callbacks_registered = false;

static void
store_invalidate(void)
{
	store_cache.valid = false;
	store_cache.layout_checked = false;
}

static void
store_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	/*
	 * A negative answer is dropped on any change: a relation being created
	 * may be ours (CREATE EXTENSION in progress in this transaction).
	 */
	if (relid == InvalidOid ||
		!OidIsValid(store_cache.event_relid) ||
		relid == store_cache.event_relid ||
		relid == store_cache.event_seq_relid)
		store_invalidate();
}

static void
store_syscache_callback(Datum arg pg_attribute_unused(),
						int cacheid pg_attribute_unused(),
						uint32 hashvalue pg_attribute_unused())
{
	store_invalidate();
}

/*
 * A relation of ours: it exists in the audit schema and belongs to the
 * audit_ext extension (so that a user's own "audit.event" is never written).
 */
static Oid
store_lookup_relation(Oid nspid, Oid extoid, const char *relname)
{
	Oid			relid = get_relname_relid(relname, nspid);

	if (!OidIsValid(relid))
		return InvalidOid;
	if (getExtensionOfObject(RelationRelationId, relid) != extoid)
		return InvalidOid;
	return relid;
}

static void
store_refresh(void)
{
	Oid			nspid;
	Oid			extoid;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(store_relcache_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, store_syscache_callback,
									  (Datum) 0);
		callbacks_registered = true;
	}

	store_cache.event_relid = InvalidOid;
	store_cache.event_seq_relid = InvalidOid;
	store_cache.layout_checked = false;
	store_cache.valid = true;

	nspid = get_namespace_oid(AUDIT_SCHEMA_NAME, true);
	if (!OidIsValid(nspid))
		return;
	extoid = get_extension_oid(AUDIT_EXTENSION_NAME, true);
	if (!OidIsValid(extoid))
		return;

	store_cache.event_seq_relid =
		store_lookup_relation(nspid, extoid, "event_id_seq");
	if (OidIsValid(store_cache.event_seq_relid))
		store_cache.event_relid =
			store_lookup_relation(nspid, extoid, "event");
}

/*
 * Is audit_ext installed in this database, with its tables in place?
 * Must be called inside a transaction.
 */
bool
audit_store_available(void)
{
	if (!store_cache.valid)
		store_refresh();
	return OidIsValid(store_cache.event_relid);
}

/*
 * Refuse to write into, or read from, an audit.event whose columns are not
 * the ones this library was built for (e.g. altered by hand).
 */
static void
store_check_layout(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			natts = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (i >= Natts_event ||
			strcmp(NameStr(att->attname), audit_event_columns[i].name) != 0 ||
			att->atttypid != audit_event_columns[i].type)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("table audit.event does not have the layout audit_ext expects"),
					 errdetail("Column %d is \"%s\" of type %s.", i + 1,
							   NameStr(att->attname),
							   format_type_be(att->atttypid)),
					 errhint("The table was altered outside the extension; reinstall audit_ext or restore the table.")));
		natts++;
	}
	if (natts != Natts_event || desc->natts != Natts_event)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("table audit.event does not have the layout audit_ext expects"),
				 errdetail("It has %d columns; %d were expected.",
						   natts, Natts_event),
				 errhint("The table was altered outside the extension; reinstall audit_ext or restore the table.")));
}

/*
 * Open audit.event, checking its layout the first time after each refresh.
 */
Relation
audit_store_open_events(LOCKMODE lockmode)
{
	Relation	rel;

	if (!audit_store_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit_ext is not installed in this database"),
				 errhint("Run CREATE EXTENSION audit_ext.")));

	rel = table_open(store_cache.event_relid, lockmode);
	if (!store_cache.layout_checked)
	{
		store_check_layout(rel);
		store_cache.layout_checked = true;
	}
	return rel;
}

/*
 * The next event id, without a permission check on the caller.
 */
int64
audit_store_next_event_id(void)
{
	return nextval_internal(store_cache.event_seq_relid, false);
}

/*
 * Insert one event row and its index entries.
 */
void
audit_store_insert(const Datum *values, const bool *isnull)
{
	Relation	rel = audit_store_open_events(RowExclusiveLock);
	HeapTuple	tuple;
	CatalogIndexState indstate;

	tuple = heap_form_tuple(RelationGetDescr(rel),
							(Datum *) values, (bool *) isnull);
	indstate = CatalogOpenIndexes(rel);
	CatalogTupleInsertWithInfo(rel, tuple, indstate);
	CatalogCloseIndexes(indstate);
	heap_freetuple(tuple);
	table_close(rel, RowExclusiveLock);
}
