/*-------------------------------------------------------------------------
 *
 * capture_function.h
 *	  Capture of function calls (the "function" class).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CAPTURE_FUNCTION_H
#define AUDIT_CAPTURE_FUNCTION_H

extern void audit_capture_function_init(void);

#endif							/* AUDIT_CAPTURE_FUNCTION_H */
