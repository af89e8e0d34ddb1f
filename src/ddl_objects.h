/*-------------------------------------------------------------------------
 *
 * ddl_objects.h
 *	  The objects a DDL statement created, altered or dropped, as the event
 *	  triggers see them, handed to the ProcessUtility hook per statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_DDL_OBJECTS_H
#define AUDIT_DDL_OBJECTS_H

#include "postgres.h"

/* Most objects named for one statement; the rest are only counted. */
#define AUDIT_DDL_OBJECTS_MAX		1000

extern int	audit_ddl_objects_push(void);
extern char *audit_ddl_objects_pop(int token);

#endif							/* AUDIT_DDL_OBJECTS_H */
