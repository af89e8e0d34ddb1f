/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  audit_ext's shared memory: one commit-position slot per process, and
 *	  the launcher's wake-up flag.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SHMEM_H
#define AUDIT_SHMEM_H

#include "postgres.h"

#include "storage/latch.h"

/* A slot's pending value while the backend is taking a position. */
#define AUDIT_POSITION_TAKING	PG_UINT64_MAX

extern void audit_shmem_init(void);
extern void audit_slot_begin_taking(void);
extern void audit_slot_publish(uint64 position);
extern void audit_slot_clear(void);
extern bool audit_slot_horizon(Oid dbid, uint64 handed_out, uint64 *horizon);

extern void audit_sealer_register(void);
extern void audit_sealer_release_database(Oid dbid);
extern bool audit_sealer_allowed(Oid dbid);

extern void audit_launcher_register(int pid, Latch *latch);
extern void audit_launcher_wake(void);
extern bool audit_launcher_take_rescan(void);

#endif							/* AUDIT_SHMEM_H */
