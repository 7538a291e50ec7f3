-- Step 5: one row that /readyz updates, so that the readiness check
-- commits a real page and fails exactly when writes do (a full disk, I/O
-- errors). The D1 store has it too and leaves it alone.
CREATE TABLE readiness (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	checked_at_ms INTEGER NOT NULL
);
INSERT INTO readiness (id, checked_at_ms) VALUES (1, 0);
