/*-------------------------------------------------------------------------
 *
 * store.c
 *	  Finding audit_ext's relations in this database, checking their
 *	  layout, and writing rows.
 *
 * Whether the extension is installed in the current database is asked on
 * every audited statement, so the answer is cached and dropped by the
 * invalidation callbacks when the audit schema or our relations change
 * (CREATE / DROP EXTENSION, a rolled-back CREATE EXTENSION, ...).  Catalog
 * scans happen only when the cache is refilled.
 *
 * Rows are written with heap inserts plus index maintenance, the way the
 * server writes its own catalogs: no SPI, no planner, and no permission
 * check on the calling role, who holds no privilege on the audit tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_sequence.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "schema.h"
#include "store.h"

#define AUDIT_EXTENSION_NAME	"audit_ext"
#define AUDIT_SCHEMA_NAME		"audit"

/* Relation names, and the expected columns of the tables among them. */
static const struct
{
	const char *name;
	const AuditColumn *columns;
	int			ncolumns;
	int			older[3];		/* older versions' layouts, also accepted */
	bool		optional;		/* absent before ALTER EXTENSION UPDATE */
}			store_rels[AUDIT_REL_COUNT] = {
	[AUDIT_REL_EVENT] = {"event", audit_event_columns, Natts_event,
	{Natts_event_v1, Natts_event_v2, Natts_event_v3}},
	[AUDIT_REL_TXN] = {"txn", audit_txn_columns, Natts_txn},
	[AUDIT_REL_BLOCK] = {"block", audit_block_columns, Natts_block},
	[AUDIT_REL_CHAIN] = {"chain", NULL, 0},
	[AUDIT_REL_EVENT_SEQ] = {"event_id_seq", NULL, 0},
	[AUDIT_REL_POSITION_SEQ] = {"txn_position_seq", NULL, 0},
	[AUDIT_REL_EVENT_TXID_IDX] = {"event_txid_idx", NULL, 0},
	[AUDIT_REL_TXN_POSITION_IDX] = {"txn_position_idx", NULL, 0},
	[AUDIT_REL_BLOCK_PKEY] = {"block_pkey", NULL, 0},
	[AUDIT_REL_EVENT_PKEY] = {"event_pkey", NULL, 0},
	[AUDIT_REL_TXN_PKEY] = {"txn_pkey", NULL, 0},
	[AUDIT_REL_BLOCK_LAST_POSITION_IDX] = {"block_last_position_idx", NULL, 0},
	[AUDIT_REL_ROW_END] = {"row_end", audit_row_end_columns, Natts_row_end,
	{0}, true},
};

typedef struct StoreCache
{
	bool		valid;			/* relids[] are up to date */
	bool		available;		/* every required relation was found */
	Oid			extoid;			/* the extension, once available */
	Oid			nspid;			/* schema audit, once available */
	Oid			relids[AUDIT_REL_COUNT];
	bool		checked[AUDIT_REL_COUNT];	/* layout verified */
} StoreCache;

static StoreCache store_cache;
static bool callbacks_registered = false;

static void
store_invalidate(void)
{
	store_cache.valid = false;
}

static void
store_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	/*
	 * A negative answer is dropped on any change: a relation being created
	 * may be ours (CREATE EXTENSION in progress in this transaction).
	 */
	if (relid == InvalidOid || !store_cache.available)
	{
		store_invalidate();
		return;
	}
	for (int i = 0; i < AUDIT_REL_COUNT; i++)
		if (store_cache.relids[i] == relid)
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
 * Fill the cache: each relation must exist in the audit schema and belong
 * to the audit_ext extension (so that a user's own "audit.event" is never
 * written).
 */
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

	memset(&store_cache, 0, sizeof(store_cache));
	store_cache.valid = true;

	nspid = get_namespace_oid(AUDIT_SCHEMA_NAME, true);
	if (!OidIsValid(nspid))
		return;
	extoid = get_extension_oid(AUDIT_EXTENSION_NAME, true);
	if (!OidIsValid(extoid))
		return;

	for (int i = 0; i < AUDIT_REL_COUNT; i++)
	{
		Oid			relid = get_relname_relid(store_rels[i].name, nspid);

		if (!OidIsValid(relid) && store_rels[i].optional)
			continue;			/* looked up again by audit_store_has() */
		if (!OidIsValid(relid))
			return;
		/* Indexes belong to the extension through their table. */
		if (get_rel_relkind(relid) != RELKIND_INDEX &&
			getExtensionOfObject(RelationRelationId, relid) != extoid)
			return;
		store_cache.relids[i] = relid;
	}
	store_cache.nspid = nspid;
	store_cache.extoid = extoid;
	store_cache.available = true;
}

/*
 * Is audit_ext installed in this database, with its relations in place?
 * Must be called inside a transaction.
 */
bool
audit_store_available(void)
{
	if (!store_cache.valid)
		store_refresh();
	return store_cache.available;
}

/*
 * Schema audit of the installed extension, or InvalidOid when audit_ext is
 * not installed here (a user's own schema named audit is not ours).
 */
Oid
audit_store_namespace(void)
{
	return audit_store_available() ? store_cache.nspid : InvalidOid;
}

static void
store_require(void)
{
	if (!audit_store_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit_ext is not installed in this database"),
				 errhint("Run CREATE EXTENSION audit_ext.")));
}

Oid
audit_store_relid(AuditRel which)
{
	store_require();
	return store_cache.relids[which];
}

/*
 * Is an optional relation there?  (A schema of an older version, before
 * ALTER EXTENSION UPDATE, lacks it.)  While it is missing, each call looks
 * for it again: a negative syscache hit, dropped when it is created, so
 * the whole cache need not be refilled on every invalidation meanwhile.
 */
bool
audit_store_has(AuditRel which)
{
	Oid			relid;

	store_require();
	if (OidIsValid(store_cache.relids[which]))
		return true;
	relid = get_relname_relid(store_rels[which].name, store_cache.nspid);
	if (!OidIsValid(relid) ||
		getExtensionOfObject(RelationRelationId, relid) != store_cache.extoid)
		return false;
	store_cache.relids[which] = relid;
	return true;
}

static void
layout_error(Relation rel, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("table audit.%s does not have the layout audit_ext expects",
					RelationGetRelationName(rel)),
			 errdetail_internal("%s", detail),
			 errhint("If the audit_ext library was upgraded, run ALTER EXTENSION audit_ext UPDATE in this database; otherwise the table was altered outside the extension.")));
}

/*
 * Refuse to write into, or read from, a table whose columns are not the
 * ones this library was built for (e.g. altered by hand).  A table still
 * in the layout of the previous version (before ALTER EXTENSION UPDATE)
 * is accepted: its first columns are the same.
 */
static void
store_check_layout(Relation rel, const AuditColumn *columns, int ncolumns,
				   const int *older)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		known = (desc->natts == ncolumns);

	for (int i = 0; i < (int) lengthof(store_rels[0].older); i++)
		known |= (older[i] != 0 && desc->natts == older[i]);
	if (!known)
		layout_error(rel, psprintf("It has %d columns; %d were expected.",
								   desc->natts, ncolumns));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped ||
			strcmp(NameStr(att->attname), columns[i].name) != 0 ||
			att->atttypid != columns[i].type)
			layout_error(rel, psprintf("Column %d is \"%s\" of type %s; \"%s\" of type %s was expected.",
									   i + 1, NameStr(att->attname),
									   format_type_be(att->atttypid),
									   columns[i].name,
									   format_type_be(columns[i].type)));
	}
}

/*
 * Open one of our relations, checking a table's layout the first time
 * after each refresh of the cache.
 */
Relation
audit_store_open(AuditRel which, LOCKMODE lockmode)
{
	Relation	rel;

	store_require();
	rel = relation_open(store_cache.relids[which], lockmode);
	if (!store_cache.checked[which] && store_rels[which].columns != NULL)
		store_check_layout(rel, store_rels[which].columns,
						   store_rels[which].ncolumns,
						   store_rels[which].older);
	store_cache.checked[which] = true;
	return rel;
}

/*
 * The event format audit.event, open as rel, can hold: AUDIT_FORMAT_VERSION,
 * or that of an older version while the table is still in its layout
 * (before ALTER EXTENSION UPDATE).  Read from the open relation itself, not
 * the cache: an invalidation in the middle of a statement (autovacuum's
 * ANALYZE of audit.event) empties the cache while a batch keeps the
 * relation open.
 */
int
audit_store_event_format(Relation rel)
{
	int			natts = RelationGetDescr(rel)->natts;

	if (natts >= Natts_event_v3)
		return AUDIT_FORMAT_VERSION;
	return natts >= Natts_event_v2 ? 2 : 1;
}

/*
 * Insert one row and its index entries.
 */
void
audit_store_insert(Relation rel, const Datum *values, const bool *isnull)
{
	HeapTuple	tuple;
	CatalogIndexState indstate;

	tuple = heap_form_tuple(RelationGetDescr(rel),
							(Datum *) values, (bool *) isnull);
	indstate = CatalogOpenIndexes(rel);
	CatalogTupleInsertWithInfo(rel, tuple, indstate);
	CatalogCloseIndexes(indstate);
	heap_freetuple(tuple);
}

/* The next event id, without a permission check on the caller. */
int64
audit_store_next_event_id(void)
{
	return nextval_internal(audit_store_relid(AUDIT_REL_EVENT_SEQ), false);
}

/* The next commit position, without a permission check on the caller. */
int64
audit_store_next_position(void)
{
	return nextval_internal(audit_store_relid(AUDIT_REL_POSITION_SEQ), false);
}

/*
 * The last commit position handed out (0 if none), read from the sequence
 * itself, not from a snapshot.  Only callers running as the extension's
 * owner (the sealer, SECURITY DEFINER functions) may read the sequence.
 *
 * With a sequence cache, a backend could hold positions that were handed
 * out before the sealer read this value, without having announced them:
 * sealing past them would skip transactions.  So a cache is refused.
 */
int64
audit_store_last_position(void)
{
	Datum		d;
	HeapTuple	tup;
	bool		cached;
	LOCAL_FCINFO(fcinfo, 1);

	tup = SearchSysCache1(SEQRELID,
						  ObjectIdGetDatum(audit_store_relid(AUDIT_REL_POSITION_SEQ)));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "audit_ext: cache lookup failed for audit.txn_position_seq");
	cached = ((Form_pg_sequence) GETSTRUCT(tup))->seqcache != 1;
	ReleaseSysCache(tup);
	if (cached)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit.txn_position_seq must not cache values: sealing stops until it is fixed"),
				 errhint("Run ALTER SEQUENCE audit.txn_position_seq CACHE 1.")));

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(audit_store_relid(AUDIT_REL_POSITION_SEQ));
	fcinfo->args[0].isnull = false;
	d = pg_sequence_last_value(fcinfo);
	return fcinfo->isnull ? 0 : DatumGetInt64(d);
}
