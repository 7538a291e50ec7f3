-- Step 5: one row that /readyz rewrites, so that the readiness check
-- commits real pages and fails when writes do (a full disk, I/O errors):
-- reserve is rewritten with as many bytes as a large request takes (see
-- package sqlite's Ping), so that a disk with room for a tiny commit but
-- not for events is not ready. The D1 store has the table and leaves it
-- alone.
CREATE TABLE readiness (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at_ms INTEGER NOT NULL,
	reserve       BLOB
);
INSERT INTO readiness (id, checked_at_ms) VALUES (1, 0);
