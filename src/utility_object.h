/*-------------------------------------------------------------------------
 *
 * utility_object.h
 *	  Naming the object a utility statement acts on.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_UTILITY_OBJECT_H
#define AUDIT_UTILITY_OBJECT_H

#include "postgres.h"

#include "nodes/parsenodes.h"

/*
 * What to name, captured before the statement runs: either the name is
 * already known, or a relation still to be resolved once it exists.
 */
typedef struct UtilityObject
{
	char	   *name;			/* known name, or NULL */
	RangeVar   *created;		/* relation created by the statement */
} UtilityObject;

extern UtilityObject audit_utility_object_before(Node *parsetree);
extern char *audit_utility_object_after(const UtilityObject *obj);

#endif							/* AUDIT_UTILITY_OBJECT_H */
