/*-------------------------------------------------------------------------
 *
 * redact.h
 *	  Keeping passwords out of the trail.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_REDACT_H
#define AUDIT_REDACT_H

#include "postgres.h"

#define AUDIT_REDACTED	"'[redacted]'"

extern const char *audit_redact(const char *text);
extern const char *audit_redact_failed(const char *text);

#endif							/* AUDIT_REDACT_H */
