/*-------------------------------------------------------------------------
 *
 * log_json.h
 *	  audit.log_to_server: each committed event also written to the server
 *	  log as one JSON line.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_LOG_JSON_H
#define AUDIT_LOG_JSON_H

#include "postgres.h"

/* The prefix of each line, for shippers to filter on. */
#define AUDIT_LOG_JSON_PREFIX "AUDIT_EXT_JSON "

extern bool audit_log_to_server;

extern void audit_log_json_define_settings(void);
extern void audit_log_json_note(const Datum *values, const bool *isnull,
								int natts);

#endif							/* AUDIT_LOG_JSON_H */
