-- Step 2: rejected requests, kept (bounded) so users can see what their
-- sites send wrong.
CREATE TABLE rejected (
	id             INTEGER PRIMARY KEY,
	received_at_ms INTEGER NOT NULL,
	tracking_id    TEXT,
	status         INTEGER NOT NULL,
	reason         TEXT NOT NULL,
	origin         TEXT,
	body           TEXT NOT NULL -- truncated
);
CREATE INDEX rejected_by_tracker ON rejected (tracking_id);
