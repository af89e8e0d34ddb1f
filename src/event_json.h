/*-------------------------------------------------------------------------
 *
 * event_json.h
 *	  One audit event as a JSON document for log platforms (Elastic Common
 *	  Schema / OpenTelemetry names), shared by audit.export() and
 *	  audit.log_to_server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_JSON_H
#define AUDIT_EVENT_JSON_H

#include "postgres.h"

#include "lib/stringinfo.h"

extern void audit_event_json(StringInfo out, const Datum *values,
							 const bool *isnull, int natts,
							 int64 block_id);

#endif							/* AUDIT_EVENT_JSON_H */
