/*-------------------------------------------------------------------------
 *
 * capture_utility.h
 *	  Capture of DDL and utility writes (ProcessUtility hook).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CAPTURE_UTILITY_H
#define AUDIT_CAPTURE_UTILITY_H

extern void audit_capture_utility_init(void);

#endif							/* AUDIT_CAPTURE_UTILITY_H */
