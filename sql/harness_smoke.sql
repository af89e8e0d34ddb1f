-- harness_smoke: proves test/run drives pg_regress against a cluster
-- that preloads the extension.  Not a test of audit_ext itself.
SELECT 1 AS one;
SHOW shared_preload_libraries;
