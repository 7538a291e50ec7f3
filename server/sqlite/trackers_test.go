package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openFile(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Two DBs on one file stand for `tracklet serve` and `tracklet tracker ...`
// run as separate processes.
func TestTrackerCacheAcrossProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "t.db")
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	serve := openFile(t, path, Options{Now: clk.now})
	admin := openFile(t, path, Options{})

	// A lookup of an unknown id is not cached: a tracker created by
	// another process right after is usable at once.
	if _, err := serve.Tracker(ctx, "tk_later"); !errors.Is(err, server.ErrTrackerNotFound) {
		t.Fatalf("unknown tracker: %v", err)
	}
	tr, err := admin.CreateTracker(ctx, "site", []string{"https://a.example"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := serve.Tracker(ctx, tr.ID)
	if err != nil || got.Disabled || got.Name != "site" {
		t.Fatalf("tracker just created by another process: %+v, %v", got, err)
	}

	// Disabled by another process: trusted from the cache until trackerTTL
	// has passed, then refused.
	if err := admin.SetTrackerDisabled(ctx, tr.ID, true); err != nil {
		t.Fatal(err)
	}
	clk.add(trackerTTL - time.Millisecond)
	if got, _ := serve.Tracker(ctx, tr.ID); got.Disabled {
		t.Fatal("cache not used within its TTL")
	}
	clk.add(time.Millisecond)
	if got, _ := serve.Tracker(ctx, tr.ID); !got.Disabled {
		t.Fatal("tracker disabled by another process still enabled after the TTL")
	}

	// Changed in this process: counts at once, whatever the TTL.
	if err := serve.SetTrackerDisabled(ctx, tr.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := serve.Tracker(ctx, tr.ID); got.Disabled {
		t.Fatal("re-enabled in-process but still disabled")
	}
	if err := serve.SetTrackerDisabled(ctx, tr.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := serve.Tracker(ctx, tr.ID); !got.Disabled {
		t.Fatal("disabled in-process but still enabled")
	}
}

// The cache hands out copies: a caller changing its tracker changes
// nobody else's.
func TestTrackerCacheReturnsCopies(t *testing.T) {
	ctx := t.Context()
	db := openFile(t, filepath.Join(t.TempDir(), "t.db"), Options{})
	tr, err := db.CreateTracker(ctx, "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := db.Tracker(ctx, tr.ID)
	a.Disabled, a.Name = true, "changed"
	b, _ := db.Tracker(ctx, tr.ID)
	if b.Disabled || b.Name != "site" {
		t.Fatalf("a caller's change leaked into the cache: %+v", b)
	}
}
