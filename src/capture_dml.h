/*-------------------------------------------------------------------------
 *
 * capture_dml.h
 *	  Capture of INSERT, UPDATE, DELETE and MERGE (executor hooks).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CAPTURE_DML_H
#define AUDIT_CAPTURE_DML_H

extern void audit_capture_dml_init(void);

#endif							/* AUDIT_CAPTURE_DML_H */
