/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  audit_ext's shared memory: one commit-position slot per process, the
 *	  sealer registry, and what the launcher needs to know: its wake-up
 *	  flag, databases known to have no audit_ext, databases paused.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_SHMEM_H
#define AUDIT_SHMEM_H

#include "postgres.h"

#include "storage/latch.h"
#include "utils/timestamp.h"

/* A slot's pending value while the backend is taking a position. */
#define AUDIT_POSITION_TAKING	PG_UINT64_MAX

/* Whether the launcher should start a sealer for a database now. */
typedef enum AuditSealerNeed
{
	AUDIT_SEALER_START,			/* yes */
	AUDIT_SEALER_RUNNING,		/* a live sealer serves it */
	AUDIT_SEALER_ABSENT,		/* it has no audit_ext */
	AUDIT_SEALER_PAUSED			/* DROP / CREATE ... TEMPLATE etc. needs it free */
} AuditSealerNeed;

extern void audit_shmem_init(void);
extern void audit_slot_begin_taking(void);
extern void audit_slot_publish(uint64 position);
extern void audit_slot_clear(void);
extern bool audit_slot_horizon(Oid dbid, uint64 handed_out, uint64 *horizon);

extern bool audit_sealer_register(void);
extern bool audit_startup_pending(Oid dbid);
extern void audit_startup_mark(Oid dbid);
extern void audit_sealer_release_database(Oid dbid);
extern AuditSealerNeed audit_sealer_need(Oid dbid, TimestampTz now);
extern Latch *audit_sealer_latch(Oid dbid);

extern uint64 audit_absent_generation(void);
extern bool audit_absent_mark(Oid dbid, uint64 generation);
extern void audit_absent_retain(const Oid *dbids, int ndbids);

extern void audit_launcher_register(int pid, Latch *latch);
extern void audit_launcher_wake(Oid dbid);
extern void audit_launcher_poke(void);
extern bool audit_launcher_take_rescan(void);
extern bool audit_launcher_take_sealer_exit(void);

#endif							/* AUDIT_SHMEM_H */
