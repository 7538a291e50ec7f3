-- Step 6: the Cloudflare Worker's archive. D1 keeps a rolling window of
-- events; a cron trigger exports each closed hour of each tracker to R2 and
-- records the file here, then deletes events older than the window that
-- are archived (server/worker/archive). The native store has the table
-- too, unused, so that both keep one schema.
--
-- A row is a claim before it is a record: the export of a part writes the
-- row first (done = 0) with the seq range it covers, fixed at that moment,
-- then the file, then done = 1. A run that finds a claim not done redoes
-- exactly that range to the same key, so each event is in exactly one file
-- however often a run fails or repeats.
CREATE TABLE archived_hours (
	tracking_id    TEXT NOT NULL,
	hour_ms        INTEGER NOT NULL, -- start of the hour of received_at_ms, Unix ms
	part           INTEGER NOT NULL, -- 1, then 2... for events that came late or past a part's size
	first_seq      INTEGER NOT NULL,
	last_seq       INTEGER NOT NULL, -- the part holds the hour's events with seq in [first_seq, last_seq]
	done           INTEGER NOT NULL DEFAULT 0,
	events         INTEGER NOT NULL DEFAULT 0,
	bytes          INTEGER NOT NULL DEFAULT 0, -- of the NDJSON file
	archived_at_ms INTEGER NOT NULL,
	PRIMARY KEY (tracking_id, hour_ms, part)
);
-- The archive and the window's deletion select events by receipt time.
CREATE INDEX events_by_received ON events (received_at_ms);
