/*-------------------------------------------------------------------------
 *
 * seal_worker.h
 *	  The launcher and the per-database sealer background workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SEAL_WORKER_H
#define AUDIT_SEAL_WORKER_H

extern void audit_launcher_register_worker(void);
extern void audit_launcher_wake_at_commit(Oid dbid);

#endif							/* AUDIT_SEAL_WORKER_H */
