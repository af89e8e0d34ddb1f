-- event_occurred_at_idx becomes a BRIN index.  Events are appended in the
-- order they happen (those that travel the event queue a little later),
-- so a block range's smallest and largest occurred_at bound it well, and
-- time ranges (audit.activity(), point-in-time reads) find their events
-- through a few block ranges.  A btree entry per event cost every event
-- one more index insert and WAL record: about a tenth of a bulk load into
-- a tracked table, and a quarter of the index work of a statement event.
-- autosummarize: each block range is summarized (by autovacuum) once the
-- next one begins, so a query never reads more than the newest ranges
-- unsummarized.
DROP INDEX audit.event_occurred_at_idx;
CREATE INDEX event_occurred_at_idx ON audit.event USING brin (occurred_at)
	WITH (autosummarize = on);
