/*-------------------------------------------------------------------------
 *
 * filter.h
 *	  Which statements are recorded: audit.log, audit.log_catalog and the
 *	  per-role and per-relation exclusions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_FILTER_H
#define AUDIT_FILTER_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/guc.h"

#include "classify.h"

extern bool audit_log_parameters;
extern int	audit_log_parameter_max_bytes;

extern void audit_filter_define_settings(void);
extern void audit_filter_note_change(GucSource source);
extern bool audit_filter_check_int(int *newval, void **extra, GucSource source);
extern bool audit_class_enabled(AuditClass cls);
extern bool audit_filter_uses_relations(void);
extern bool audit_statement_wanted(AuditClass cls, List *relids, bool forced);
extern bool audit_session_excluded(void);

#endif							/* AUDIT_FILTER_H */
