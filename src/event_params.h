/*-------------------------------------------------------------------------
 *
 * event_params.h
 *	  Bind parameters of a statement, as recorded with audit.log_parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_EVENT_PARAMS_H
#define AUDIT_EVENT_PARAMS_H

#include "postgres.h"

#include "nodes/params.h"

extern char *audit_params_json(ParamListInfo params, int max_bytes);

#endif							/* AUDIT_EVENT_PARAMS_H */
