/*-------------------------------------------------------------------------
 *
 * capture_executor.h
 *	  Capture of SELECT, INSERT, UPDATE, DELETE and MERGE (executor hooks).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CAPTURE_EXECUTOR_H
#define AUDIT_CAPTURE_EXECUTOR_H

extern void audit_capture_executor_init(void);

#endif							/* AUDIT_CAPTURE_EXECUTOR_H */
