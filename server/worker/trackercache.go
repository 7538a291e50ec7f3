package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tracklet/tracklet/server"
)

// TrackerCacheTTL is how long a TrackerCache trusts an answer: a request
// then costs no D1 read for its tracker, and a tracker disabled or changed
// in D1 is honoured within a second.
const TrackerCacheTTL = time.Second

// MaxCachedTrackers bounds a TrackerCache: past it, the cache starts
// afresh, so requests for random trackingIds cannot grow it.
const MaxCachedTrackers = 4096

// TrackerCache remembers a server.TrackerReader's answers — "not found" too — for
// TTL. A Go instance of the worker serves many invocations (see package
// isolate), so the cache lives as long as the instance. It is safe for
// concurrent use.
type TrackerCache struct {
	Lookup server.TrackerReader
	TTL    time.Duration    // 0 means TrackerCacheTTL
	Now    func() time.Time // nil means time.Now

	mu       sync.Mutex
	trackers map[string]cachedTracker
	origins  map[string]cachedOrigin
}

type cachedTracker struct {
	t       *server.Tracker
	missing bool
	expires time.Time
}

type cachedOrigin struct {
	allowed bool
	expires time.Time
}

func (c *TrackerCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *TrackerCache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return TrackerCacheTTL
}

// Tracker returns the tracker with trackingId id, from the cache if it
// has been read within TTL. Errors other than server.ErrTrackerNotFound
// are not cached.
func (c *TrackerCache) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.trackers[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.missing {
			return nil, server.ErrTrackerNotFound
		}
		return e.t, nil
	}
	t, err := c.Lookup.Tracker(ctx, id)
	missing := errors.Is(err, server.ErrTrackerNotFound)
	if err != nil && !missing {
		return nil, err
	}
	c.mu.Lock()
	if c.trackers == nil || len(c.trackers) >= MaxCachedTrackers {
		c.trackers = map[string]cachedTracker{}
	}
	c.trackers[id] = cachedTracker{t: t, missing: missing, expires: now.Add(c.ttl())}
	c.mu.Unlock()
	return t, err
}

// OriginAllowed reports whether some enabled tracker accepts origin, from
// the cache if asked within TTL.
func (c *TrackerCache) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.origins[origin]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.allowed, nil
	}
	allowed, err := c.Lookup.OriginAllowed(ctx, origin)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if c.origins == nil || len(c.origins) >= MaxCachedTrackers {
		c.origins = map[string]cachedOrigin{}
	}
	c.origins[origin] = cachedOrigin{allowed: allowed, expires: now.Add(c.ttl())}
	c.mu.Unlock()
	return allowed, nil
}
