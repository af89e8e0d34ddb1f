/*-------------------------------------------------------------------------
 *
 * audit_ext.c
 *	  Module load: refuse to run unless preloaded, define the settings,
 *	  then install the hooks, shared memory and the sealer launcher.
 *
 * The capture hooks must be in place in every backend from the moment it
 * starts, or statements would go unrecorded; only shared_preload_libraries
 * guarantees that.  Loading the library any other way (LOAD, or CREATE
 * EXTENSION in a server that does not preload it) is refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "archive.h"
#include "capture_executor.h"
#include "capture_function.h"
#include "capture_utility.h"
#include "event.h"
#include "event_context.h"
#include "filter.h"
#include "guard.h"
#include "log_json.h"
#include "scope.h"
#include "seal.h"
#include "seal_worker.h"
#include "session_events.h"
#include "shmem.h"
#include "sign.h"
#include "txn_digest.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static void
define_settings(void)
{
	DefineCustomIntVariable("audit.seal_interval",
							"How often the sealer seals committed transactions into a block.",
							"The sealer wakes this often; sealing lag is about this long at most.",
							&audit_seal_interval,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("audit.block_max_transactions",
							"Most transactions sealed into one block.",
							"A larger backlog is sealed as several blocks in a row.",
							&audit_block_max_transactions,
							10000, 1, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("audit.signing_key",
							   "File holding the Ed25519 private key that signs checkpoints.",
							   "PEM, readable by the server only; empty means blocks are not signed.",
							   &audit_signing_key,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("audit.archive_directory",
							   "Directory the server writes archive bundles to (audit.archive()).",
							   "An existing directory the server may write to; empty means archiving is disabled.",
							   &audit_archive_directory,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("audit.statement_max_bytes",
							"Longest statement text recorded in full.",
							"Longer texts are cut at a character boundary and end with a marker "
							"giving their full length; 0 records every text in full.",
							&audit_statement_max_bytes,
							1024 * 1024, 0, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE,
							audit_filter_check_int, NULL, NULL);
	audit_context_define_settings();
	audit_filter_define_settings();
	audit_session_define_settings();
	audit_guard_define_settings();
	audit_log_json_define_settings();
	MarkGUCPrefixReserved("audit");
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("audit_ext must be loaded via shared_preload_libraries"),
				 errhint("Add audit_ext to shared_preload_libraries in postgresql.conf and restart the server.")));

	/* pg_upgrade restores schemas only; there is nothing to audit. */
	if (IsBinaryUpgrade)
		return;

	define_settings();
	audit_shmem_init();
	audit_launcher_register_worker();
	audit_txn_digest_init();
	audit_scope_init();
	audit_capture_utility_init();
	audit_capture_executor_init();
	audit_capture_function_init();
	audit_session_events_init();
	audit_guard_init();
}
