/*-------------------------------------------------------------------------
 *
 * scope.h
 *	  Where in the statement tree the session is: nesting level, the id
 *	  shared by all events of one top-level statement, audit_ext's own
 *	  internal queries, and a change of audit settings to be recorded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SCOPE_H
#define AUDIT_SCOPE_H

#include "postgres.h"

extern int	audit_scope_level(void);
extern void audit_scope_enter(void);
extern void audit_scope_leave(int saved_level);
extern void audit_scope_top_start(void);
extern int64 audit_scope_statement_id(int64 event_id);

extern bool audit_scope_set_explain_only(bool value);
extern bool audit_scope_explain_only(void);

extern void audit_internal_begin(void);
extern void audit_internal_end(void);
extern bool audit_in_internal(void);

extern void audit_scope_note_setting_change(void);
extern bool audit_scope_take_setting_change(void);

extern void audit_scope_note_rows(void);
extern bool audit_scope_take_rows(void);

extern void audit_scope_init(void);

#endif							/* AUDIT_SCOPE_H */
