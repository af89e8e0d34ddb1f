/*-------------------------------------------------------------------------
 *
 * seal_worker.h
 *	  The launcher and the per-database sealer background workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SEAL_WORKER_H
#define AUDIT_SEAL_WORKER_H

#include "postgres.h"

extern void audit_launcher_register_worker(void);
extern void audit_launcher_wake_at_commit(Oid dbid);

/* For queue_drain.c. */
extern Oid *audit_launcher_read_databases(int *ndbids, NameData **names);
extern void audit_sealer_require_durable_commit(void);

#endif							/* AUDIT_SEAL_WORKER_H */
