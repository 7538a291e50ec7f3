package sqlite

import (
	"sync"
	"time"

	"github.com/tracklet/tracklet/server"
)

// trackerTTL is how long a tracker read from the database is trusted. Every
// PutEvents request needs its tracker; reading it from SQLite each time cost
// a tenth of the collector's CPU under load. A tracker disabled by another
// process (`tracklet tracker disable` writing the same file) is refused at
// most this long after; one disabled or created in this process counts at
// once, and an unknown trackingId is never cached, so a tracker created by
// another process can be used at once.
const trackerTTL = time.Second

// maxCachedTrackers bounds the cache. Only trackers that exist are cached,
// so it fills only with real trackers; past the bound it starts afresh.
const maxCachedTrackers = 10000

type trackerCache struct {
	mu sync.Mutex
	m  map[string]cachedTracker
	// gen counts forgets: a read that began before one must not put back
	// what it read, which may be older than the change.
	gen uint64
}

type cachedTracker struct {
	t       server.Tracker
	expires time.Time
}

// get returns a copy of the cached tracker id, if it is there and fresh;
// otherwise the generation to pass to put after reading the database.
func (c *trackerCache) get(id string, now time.Time) (*server.Tracker, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct, ok := c.m[id]
	if !ok || !now.Before(ct.expires) {
		return nil, c.gen, false
	}
	t := ct.t
	return &t, c.gen, true
}

// put caches t, read from the database after get returned gen.
func (c *trackerCache) put(t *server.Tracker, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedTrackers {
		c.m = make(map[string]cachedTracker)
	}
	c.m[t.ID] = cachedTracker{t: *t, expires: now.Add(trackerTTL)}
}

// forget drops id, after this process changed it.
func (c *trackerCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	c.gen++
}
