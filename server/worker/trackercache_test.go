package worker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/worker"
)

// lookupCounter is a server.TrackerReader over a map that counts its reads.
type lookupCounter struct {
	trackers map[string]*server.Tracker
	reads    int
	fail     error
}

func (l *lookupCounter) Tracker(_ context.Context, id string) (*server.Tracker, error) {
	l.reads++
	if l.fail != nil {
		return nil, l.fail
	}
	if t, ok := l.trackers[id]; ok {
		return t, nil
	}
	return nil, server.ErrTrackerNotFound
}

func (l *lookupCounter) OriginAllowed(_ context.Context, origin string) (bool, error) {
	l.reads++
	return origin == "https://shop.example", l.fail
}

func TestTrackerCache(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1714979289123)
	l := &lookupCounter{trackers: map[string]*server.Tracker{"tk_a": {ID: "tk_a", Name: "a"}}}
	c := &worker.TrackerCache{Lookup: l, Now: func() time.Time { return now }}

	for i := range 3 {
		tr, err := c.Tracker(ctx, "tk_a")
		if err != nil || tr.Name != "a" {
			t.Fatalf("Tracker = %v, %v", tr, err)
		}
		if _, err := c.Tracker(ctx, "tk_missing"); err != server.ErrTrackerNotFound {
			t.Fatalf("missing tracker: %v", err)
		}
		if ok, err := c.OriginAllowed(ctx, "https://shop.example"); !ok || err != nil {
			t.Fatalf("OriginAllowed = %v, %v", ok, err)
		}
		if l.reads != 3 {
			t.Errorf("after %d rounds within the TTL, %d reads; want 3", i+1, l.reads)
		}
		now = now.Add(worker.TrackerCacheTTL / 4)
	}

	// At the TTL the answers are read again: a change in D1 shows.
	now = now.Add(worker.TrackerCacheTTL / 4)
	l.trackers["tk_a"] = &server.Tracker{ID: "tk_a", Name: "a", Disabled: true}
	if tr, _ := c.Tracker(ctx, "tk_a"); !tr.Disabled || l.reads != 4 {
		t.Errorf("after the TTL: %+v after %d reads, want the disabled tracker read anew", tr, l.reads)
	}

	// Failures are not remembered.
	now = now.Add(worker.TrackerCacheTTL)
	l.fail = errors.New("D1 is down")
	if _, err := c.Tracker(ctx, "tk_a"); err == nil {
		t.Error("a failed read succeeded")
	}
	l.fail = nil
	if tr, err := c.Tracker(ctx, "tk_a"); err != nil || tr == nil {
		t.Errorf("after D1 recovers: %v, %v", tr, err)
	}
}

func TestTrackerCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	l := &lookupCounter{}
	now := time.Unix(0, 0)
	c := &worker.TrackerCache{Lookup: l, Now: func() time.Time { return now }}
	// Random trackingIds, as a hostile client sends: each is a read, and
	// the cache never holds more than MaxCachedTrackers.
	for i := range worker.MaxCachedTrackers + 1 {
		c.Tracker(ctx, fmt.Sprint("tk_", i))
	}
	l.reads = 0
	c.Tracker(ctx, fmt.Sprint("tk_", worker.MaxCachedTrackers)) // the newest survived the reset
	c.Tracker(ctx, "tk_0")                                      // the oldest did not
	if l.reads != 1 {
		t.Errorf("%d reads, want 1 (only tk_0 was dropped)", l.reads)
	}
}
