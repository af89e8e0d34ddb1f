/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  The append-only guard: what lives in schema audit cannot be changed
 *	  through SQL, by any role, except by the extension's own code paths.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_GUARD_H
#define AUDIT_GUARD_H

#include "postgres.h"

extern bool audit_guard;

extern void audit_guard_define_settings(void);
extern void audit_guard_init(void);

/* guard.c: refuse (and record) an attempt; never returns. */
extern void audit_guard_refuse(const char *action, const char *target,
							   const char *hint) pg_attribute_noreturn();

/* guard_span.c: is the extension itself at work right now? */
extern bool audit_guard_sanctioned(void);
extern void audit_guard_span_init(void);

/* guard_object.c: does the guard protect this object? */
extern bool audit_guard_protects(Oid classId, Oid objectId, int subId);
extern bool audit_guard_protects_relation(Oid relid);
extern char *audit_guard_describe(Oid classId, Oid objectId, int subId);

/* guard_utility.c: statements refused before they run. */
extern void audit_guard_check_utility(Node *parsetree);
extern bool audit_guard_rewrites_all(Node *parsetree);

#endif							/* AUDIT_GUARD_H */
