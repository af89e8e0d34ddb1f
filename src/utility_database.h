/*-------------------------------------------------------------------------
 *
 * utility_database.h
 *	  Sealer hand-offs around utility statements about whole databases.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_UTILITY_DATABASE_H
#define AUDIT_UTILITY_DATABASE_H

#include "postgres.h"

#include "nodes/nodes.h"
#include "tcop/utility.h"

extern void audit_utility_release_database(Node *parsetree,
										   ProcessUtilityContext context);
extern void audit_utility_wake_launcher(Node *parsetree);

#endif							/* AUDIT_UTILITY_DATABASE_H */
