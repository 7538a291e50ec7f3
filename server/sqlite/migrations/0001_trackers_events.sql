-- Step 1: trackers and events. The events table is read directly by tests
-- and users' tools, so its columns are a public interface.
--
-- These files are the one schema of both stores: package sqlite embeds them
-- and applies them in name order, recording the step in PRAGMA
-- user_version; wrangler applies them to D1 (migrations_dir in
-- server/worker/wrangler.jsonc). Append only: never edit a shipped step,
-- and write plain CREATE statements (D1 refuses most PRAGMAs).
CREATE TABLE trackers (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	origins       TEXT NOT NULL, -- JSON array of origins; [] allows any
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at_ms INTEGER NOT NULL
);
CREATE TABLE events (
	seq                INTEGER PRIMARY KEY,
	tracking_id        TEXT NOT NULL,
	event_id           TEXT NOT NULL,
	session_id         TEXT NOT NULL,
	user_id            TEXT,
	event_type         TEXT NOT NULL,
	sent_at_ms         INTEGER NOT NULL,
	received_at_ms     INTEGER NOT NULL,
	occurred_at_ms     INTEGER NOT NULL, -- sent_at_ms corrected for client clock skew
	item_id            TEXT,
	event_value        REAL,
	impression         TEXT, -- JSON array of item ids
	recommendation_id  TEXT,
	metric_attribution TEXT, -- JSON object {"eventAttributionSource": ...}
	properties         TEXT, -- the JSON-encoded properties string as sent
	UNIQUE (tracking_id, event_id)
);
-- Export and the admin API read one tracker's events in seq order; an
-- index on tracking_id alone is ordered by (tracking_id, seq).
CREATE INDEX events_by_tracker ON events (tracking_id);
