-- Step 3: Amazon Personalize. A tracker may require AWS SigV4 on /events
-- with one access key (both columns NULL: it does not), and may be linked
-- to a Personalize event tracker that the collector relays its events to.
-- The secret is kept as given: verifying a signature needs it.
ALTER TABLE trackers ADD COLUMN sigv4_access_key_id TEXT;
ALTER TABLE trackers ADD COLUMN sigv4_secret_access_key TEXT;
-- One row per linked tracker. cursor_seq is the relay's outbox cursor: the
-- events of the tracker up to and including that seq were accepted (or
-- refused, and recorded in relay_refusals) by Personalize.
CREATE TABLE relays (
	tracking_id             TEXT PRIMARY KEY REFERENCES trackers (id),
	personalize_tracking_id TEXT NOT NULL,
	region                  TEXT NOT NULL,
	endpoint                TEXT NOT NULL DEFAULT '', -- '' is Personalize's own for the region
	cursor_seq              INTEGER NOT NULL DEFAULT 0,
	relayed                 INTEGER NOT NULL DEFAULT 0, -- events accepted, ever
	refused                 INTEGER NOT NULL DEFAULT 0, -- events refused, ever
	last_relayed_at_ms      INTEGER,
	last_error              TEXT, -- the last retried failure (throttling, 5xx, network, credentials)
	last_error_at_ms        INTEGER,
	updated_at_ms           INTEGER NOT NULL
);
-- What Personalize refused and why, bounded: the relay moved past these
-- events and will not send them again.
CREATE TABLE relay_refusals (
	id          INTEGER PRIMARY KEY,
	tracking_id TEXT NOT NULL,
	at_ms       INTEGER NOT NULL,
	first_seq   INTEGER NOT NULL,
	last_seq    INTEGER NOT NULL,
	event_ids   TEXT NOT NULL, -- JSON array
	status      INTEGER NOT NULL,
	error_type  TEXT NOT NULL,
	message     TEXT NOT NULL
);
CREATE INDEX relay_refusals_by_tracker ON relay_refusals (tracking_id);
