/*-------------------------------------------------------------------------
 *
 * audit_ext.c
 *	  Module load: refuse to run unless preloaded, then install the hooks.
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

#include "capture_dml.h"
#include "capture_utility.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

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

	MarkGUCPrefixReserved("audit");

	audit_capture_utility_init();
	audit_capture_dml_init();
}
