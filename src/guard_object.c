/*-------------------------------------------------------------------------
 *
 * guard_object.c
 *	  Which objects the guard protects, and how to name them.
 *
 * Protected are schema audit itself, every object in it (tables, views,
 * indexes, sequences, functions, types ...), the triggers, rules and
 * policies on its relations, and the extension's members
 * that live outside the schema (its event triggers).  The object access
 * hook asks about objects that may have just been created, before the
 * command counter is incremented: their catalog rows are read with
 * SnapshotSelf, which sees them, rather than through the syscache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "guard.h"
#include "store.h"

/*
 * The attribute of a catalog row naming the relation an object hangs on,
 * for the classes of objects that have no namespace of their own.
 */
static AttrNumber
object_relation_attnum(Oid classId)
{
	switch (classId)
	{
		case TriggerRelationId:
			return Anum_pg_trigger_tgrelid;
		case RewriteRelationId:
			return Anum_pg_rewrite_ev_class;
		case PolicyRelationId:
			return Anum_pg_policy_polrelid;
		default:
			return InvalidAttrNumber;
	}
}

/*
 * One Oid-valued attribute of an object's catalog row, read with
 * SnapshotSelf; InvalidOid if the row is not found.
 */
static Oid
object_catalog_oid(Oid classId, Oid objectId, AttrNumber attnum)
{
	Relation	catalog = table_open(classId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	ScanKeyInit(&key, get_object_attnum_oid(classId), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(catalog, get_object_oid_index(classId), true,
							  SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(catalog),
									 &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return result;
}

/* The schema an object lives in, or hangs on through its relation. */
static Oid
object_namespace(Oid classId, Oid objectId)
{
	AttrNumber	attnum;

	if (!is_objectclass_supported(classId))
		return InvalidOid;
	attnum = get_object_attnum_namespace(classId);
	if (attnum != InvalidAttrNumber)
		return object_catalog_oid(classId, objectId, attnum);
	attnum = object_relation_attnum(classId);
	if (attnum == InvalidAttrNumber)
		return InvalidOid;
	return object_namespace(RelationRelationId,
							object_catalog_oid(classId, objectId, attnum));
}

/* Is the relation one of schema audit's? */
bool
audit_guard_protects_relation(Oid relid)
{
	Oid			nspid = audit_store_namespace();

	return OidIsValid(nspid) && OidIsValid(relid) &&
		get_rel_namespace(relid) == nspid;
}

/*
 * Does the guard protect this object (subId: a column of a relation, or
 * 0 for the object as a whole)?
 */
bool
audit_guard_protects(Oid classId, Oid objectId, int subId pg_attribute_unused())
{
	Oid			nspid = audit_store_namespace();
	Oid			extoid;

	/*
	 * The extension object itself is judged by statement (guard_utility.c):
	 * ALTER EXTENSION UPDATE alters it between its scripts, legitimately.
	 */
	if (!OidIsValid(nspid) || classId == ExtensionRelationId)
		return false;
	if (classId == NamespaceRelationId)
		return objectId == nspid;
	if (object_namespace(classId, objectId) == nspid)
		return true;
	extoid = get_extension_oid("audit_ext", true);
	return getExtensionOfObject(classId, objectId) == extoid;
}

/* "table audit.event", or a plain phrase if the object cannot be named yet. */
char *
audit_guard_describe(Oid classId, Oid objectId, int subId)
{
	ObjectAddress address = {classId, objectId, subId};
	char	   *description = getObjectDescription(&address, true);

	return description ? description : pstrdup("an object in schema audit");
}
