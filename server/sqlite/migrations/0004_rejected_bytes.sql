-- Step 4: the rejected table is bounded in bytes as well as in rows. Each
-- row records the size of its text (server.Rejection.Size) and the running
-- total of the sizes of every row up to and including it, so that trimming
-- to the newest N bytes is one indexed range, and an insert reads only the
-- newest row. Rows an older collector kept uncut (a trackingId or Origin
-- as long as the request) count whole, and so are the first the next trim
-- drops.
ALTER TABLE rejected ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rejected ADD COLUMN bytes_through INTEGER NOT NULL DEFAULT 0;
UPDATE rejected SET bytes = coalesce(length(CAST(tracking_id AS BLOB)), 0) + length(CAST(reason AS BLOB))
	+ coalesce(length(CAST(origin AS BLOB)), 0) + length(CAST(body AS BLOB));
UPDATE rejected SET bytes_through = w.total
	FROM (SELECT id, sum(bytes) OVER (ORDER BY id) AS total FROM rejected) AS w
	WHERE rejected.id = w.id;
CREATE INDEX rejected_by_bytes ON rejected (bytes_through);
