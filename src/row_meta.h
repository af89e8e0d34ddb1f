/*-------------------------------------------------------------------------
 *
 * row_meta.h
 *	  What row capture needs to know about a tracked table, cached per
 *	  relation and per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_ROW_META_H
#define AUDIT_ROW_META_H

#include "postgres.h"

#include "utils/relcache.h"

#include "hash.h"
#include "row_value.h"

/* One column that row images show (excluded columns have none). */
typedef struct RowAttr
{
	AttrNumber	attnum;
	char	   *name;
	bool		masked;
	bool		in_key;			/* part of row_key */
	bool		byval;
	int16		typlen;
	RowValueConv conv;
} RowAttr;

typedef struct RowMeta
{
	Oid			relid;			/* hash key: the relation the trigger fires on */
	bool		valid;
	bool		tracked;		/* false: a trigger on a table nobody tracks */
	char	   *table_name;		/* the tracked table, schema-qualified */
	char	   *partition_name; /* the relation itself, if a partition of it */
	bool		has_key;
	bool		needs_pinning;	/* a column converts through to_jsonb() */
	uint8		mask_salt[AUDIT_HASH_LEN];
	int			nattrs;
	RowAttr    *attrs;			/* in attribute number order */
	MemoryContext cxt;			/* everything above is allocated here */
	int			in_use;			/* row captures using it now (re-entry) */
	uint32		name_hash;		/* RELOID hash of the tracked table */
} RowMeta;

extern RowMeta *audit_row_meta_get(Relation rel);
extern List *audit_row_key_attnums(Relation rel);
extern void audit_row_meta_invalidate_tree(Oid relid);

#endif							/* AUDIT_ROW_META_H */
