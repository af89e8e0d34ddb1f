-- A promoted standby's sealer records a server / PROMOTE event (0.6).
COMMENT ON COLUMN audit.events.kind IS
	'Event kind: statement, row, config, login, login_failed, logout, error or server (STARTUP: one per server start; PROMOTE: one per promotion from standby)';
