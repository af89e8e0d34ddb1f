/*-------------------------------------------------------------------------
 *
 * classify.h
 *	  Statement classes, as audit.log names them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CLASSIFY_H
#define AUDIT_CLASSIFY_H

#include "postgres.h"

#include "nodes/nodes.h"

typedef enum AuditClass
{
	AUDIT_CLASS_NONE = 0,		/* never recorded: BEGIN, COMMIT, PREPARE ... */
	AUDIT_CLASS_DDL = 1 << 0,
	AUDIT_CLASS_WRITE = 1 << 1,
	AUDIT_CLASS_READ = 1 << 2,
	AUDIT_CLASS_ROLE = 1 << 3,
	AUDIT_CLASS_FUNCTION = 1 << 4,
	AUDIT_CLASS_MISC = 1 << 5,
	AUDIT_CLASS_MISC_SET = 1 << 6
} AuditClass;

#define AUDIT_CLASS_ALL		0x7F

extern const char *audit_class_name(AuditClass cls);
extern AuditClass audit_class_from_name(const char *name);
extern AuditClass audit_utility_class(Node *parsetree);
extern bool audit_utility_sets_audit_settings(Node *parsetree);

#endif							/* AUDIT_CLASSIFY_H */
