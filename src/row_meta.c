/*-------------------------------------------------------------------------
 *
 * row_meta.c
 *	  Per-relation metadata of row capture: whether and how the table is
 *	  tracked (audit.tracked_table), which columns its images show, masked
 *	  or not, which make up its row key, and how each converts to jsonb.
 *
 * Built the first time a row of the relation is captured in a backend and
 * kept until the relation's relcache entry is invalidated: by ALTER TABLE,
 * by a change of its indexes (the row key), and by audit.track() and
 * audit.untrack() (audit._tracking_changed()).  audit.tracked_table is
 * read only then, with a heap scan, never per row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "nodes/bitmapset.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "row_meta.h"

/* Columns of audit.tracked_table (sql/audit_ext--0.2--0.3.sql). */
#define Anum_tracked_relid				1
#define Anum_tracked_exclude_columns	2
#define Anum_tracked_mask_columns		3
#define Anum_tracked_mask_salt			4
#define Anum_tracked_exclude_attnums	8
#define Anum_tracked_mask_attnums		9

typedef struct TrackedConfig
{
	Oid			relid;			/* the tracked table */
	List	   *exclude;		/* column names */
	List	   *mask;
	bytea	   *mask_salt;
} TrackedConfig;

static HTAB *row_meta_cache = NULL;

static void
row_meta_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	HASH_SEQ_STATUS status;
	RowMeta    *entry;

	if (row_meta_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(row_meta_cache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			entry->valid = false;
		return;
	}
	hash_seq_init(&status, row_meta_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

/* A schema renamed: every name may be stale. */
static void
row_meta_invalidate_all(Datum arg, int cacheid pg_attribute_unused(),
						uint32 hashvalue pg_attribute_unused())
{
	row_meta_invalidate(arg, InvalidOid);
}

/*
 * A pg_class row changed: the entries whose tracked table it may be (a
 * partitioned parent renamed or moved: its partitions' entries name it).
 * Entries of the changed relation itself get a relcache invalidation.
 */
static void
row_meta_invalidate_names(Datum arg pg_attribute_unused(),
						  int cacheid pg_attribute_unused(), uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	RowMeta    *entry;

	hash_seq_init(&status, row_meta_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (hashvalue == 0 || entry->name_hash == hashvalue)
			entry->valid = false;
}

/* Make every backend reread the metadata of relid and of its partitions. */
void
audit_row_meta_invalidate_tree(Oid relid)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
		CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
}

/*
 * The current names of the columns of relid numbered in the int2[] array:
 * a column renamed since it was excluded or masked is still found.
 */
static List *
attnum_array_names(Oid relid, Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), INT2OID, 2, true,
					  TYPALIGN_SHORT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name = nulls[i] ? NULL :
			get_attname(relid, DatumGetInt16(elems[i]), true);

		if (name != NULL)
			result = lappend(result, name);
	}
	return result;
}

static List *
text_array_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

/*
 * The audit.tracked_table row of relid, if any, into config (allocated in
 * the current memory context).
 */
static bool
tracked_config_of(Oid tracked_relid, Oid relid, TrackedConfig *config)
{
	Relation	rel = table_open(tracked_relid, AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, Anum_tracked_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		TupleDesc	desc = RelationGetDescr(rel);

		config->relid = relid;
		config->exclude = list_concat(text_array_list(heap_getattr(tup, Anum_tracked_exclude_columns, desc, &isnull)),
									  attnum_array_names(relid, heap_getattr(tup, Anum_tracked_exclude_attnums, desc, &isnull)));
		config->mask = list_concat(text_array_list(heap_getattr(tup, Anum_tracked_mask_columns, desc, &isnull)),
								   attnum_array_names(relid, heap_getattr(tup, Anum_tracked_mask_attnums, desc, &isnull)));
		config->mask_salt = DatumGetByteaPCopy(heap_getattr(tup, Anum_tracked_mask_salt, desc, &isnull));
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * How rel is tracked: its own configuration, or that of the nearest
 * partitioned table above it that is tracked.
 */
static bool
find_config(Relation rel, TrackedConfig *config)
{
	Oid			nsp = get_namespace_oid("audit", true);
	Oid			tracked_relid = OidIsValid(nsp) ?
		get_relname_relid("tracked_table", nsp) : InvalidOid;
	ListCell   *lc;

	if (!OidIsValid(tracked_relid))
		return false;
	if (tracked_config_of(tracked_relid, RelationGetRelid(rel), config))
		return true;
	if (!rel->rd_rel->relispartition)
		return false;
	foreach(lc, get_partition_ancestors(RelationGetRelid(rel)))
		if (tracked_config_of(tracked_relid, lfirst_oid(lc), config))
			return true;
	return false;
}

/*
 * The attribute numbers of rel's row key: its primary key, else the
 * columns of its replica identity index; NIL if it has neither.
 */
List *
audit_row_key_attnums(Relation rel)
{
	Bitmapset  *cols = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	List	   *result = NIL;
	int			i = -1;

	if (bms_is_empty(cols))
		cols = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
	while ((i = bms_next_member(cols, i)) >= 0)
		result = lappend_int(result, i + FirstLowInvalidHeapAttributeNumber);
	return result;
}

static bool
name_in(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* The columns images show, with their conversions, into meta. */
static void
fill_attrs(RowMeta *meta, Relation rel, const TrackedConfig *config)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *key = audit_row_key_attnums(rel);

	meta->attrs = palloc0(sizeof(RowAttr) * desc->natts);
	meta->nattrs = 0;
	meta->needs_pinning = false;
	meta->has_key = key != NIL;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		RowAttr    *ra;

		if (att->attisdropped || name_in(config->exclude, NameStr(att->attname)))
			continue;
		ra = &meta->attrs[meta->nattrs++];
		ra->attnum = att->attnum;
		ra->name = pstrdup(NameStr(att->attname));
		ra->masked = name_in(config->mask, ra->name);
		ra->in_key = list_member_int(key, att->attnum);
		ra->byval = att->attbyval;
		ra->typlen = att->attlen;
		audit_row_value_prepare(&ra->conv, att->atttypid, att->atttypmod,
								meta->cxt);
		if (ra->conv.kind == ROW_VALUE_OTHER)
			meta->needs_pinning = true;
	}
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static void
row_meta_build(RowMeta *meta, Relation rel)
{
	TrackedConfig config;
	MemoryContext old;

	/*
	 * A capture still using the old metadata (this one runs inside it: a
	 * cast to json that writes a tracked table) keeps it until the end of
	 * the transaction.
	 */
	if (meta->cxt != NULL && meta->in_use > 0)
		MemoryContextSetParent(meta->cxt, TopTransactionContext);
	else if (meta->cxt != NULL)
		MemoryContextDelete(meta->cxt);
	meta->cxt = AllocSetContextCreate(CacheMemoryContext, "audit_ext row metadata",
									  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(meta->cxt);
	meta->name_hash = 0;
	meta->tracked = find_config(rel, &config);
	if (meta->tracked)
	{
		meta->table_name = qualified_name(config.relid);
		meta->name_hash = GetSysCacheHashValue1(RELOID, ObjectIdGetDatum(config.relid));
		meta->partition_name = config.relid == RelationGetRelid(rel) ? NULL :
			qualified_name(RelationGetRelid(rel));
		memset(meta->mask_salt, 0, sizeof(meta->mask_salt));
		memcpy(meta->mask_salt, VARDATA(config.mask_salt),
			   Min(VARSIZE(config.mask_salt) - VARHDRSZ, AUDIT_HASH_LEN));
		fill_attrs(meta, rel, &config);
	}
	MemoryContextSwitchTo(old);
}

/*
 * The metadata of rel, built if missing or invalidated.  meta->tracked
 * says whether its rows are to be captured at all.
 */
RowMeta *
audit_row_meta_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	RowMeta    *meta;
	bool		found;

	if (row_meta_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RowMeta);
		ctl.hcxt = CacheMemoryContext;
		row_meta_cache = hash_create("audit_ext row metadata", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(row_meta_invalidate, (Datum) 0);
		/* Names: a schema or a partitioned parent renamed. */
		CacheRegisterSyscacheCallback(NAMESPACEOID, row_meta_invalidate_all, (Datum) 0);
		CacheRegisterSyscacheCallback(RELOID, row_meta_invalidate_names, (Datum) 0);
	}
	meta = hash_search(row_meta_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		meta->valid = false;
		meta->cxt = NULL;
		meta->in_use = 0;
		meta->name_hash = 0;
	}
	/* An invalidation that arrives while building means: build again. */
	while (!meta->valid)
	{
		meta->valid = true;
		PG_TRY();
		{
			row_meta_build(meta, rel);
		}
		PG_CATCH();
		{
			meta->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return meta;
}
