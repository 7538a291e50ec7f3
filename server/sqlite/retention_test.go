package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// ingest puts requests of 10 events for tid, received at the clock's time,
// until stop closes, and returns the number of requests acknowledged.
func ingest(t *testing.T, db *DB, tid, prefix string, c *clock, stop <-chan struct{}) <-chan int {
	acked := make(chan int, 1)
	go func() {
		n := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				acked <- n
				return
			default:
			}
			b := batch(tid, fmt.Sprintf("%s-%d", prefix, i), "Young", 10)
			b.ReceivedAt = c.now()
			if _, err := db.PutEvents(context.Background(), b); err != nil {
				t.Errorf("ingest: %v", err)
				acked <- n
				return
			}
			n++
		}
	}()
	return acked
}

// TestRetentionDeletesInBatchesWhileIngesting stores 2,000 events two days
// old and a few young ones, then retires events older than a day while
// two goroutines keep ingesting: every old event goes, in batches no
// larger than retireBatchSize, between which other writes commit; every
// young and every newly acknowledged event stays.
func TestRetentionDeletesInBatchesWhileIngesting(t *testing.T) {
	c := &clock{t: testEpoch}
	db, tid, _ := setup(t, Options{Now: c.now})
	const old = 2000
	for i := range old / 10 {
		b := batch(tid, fmt.Sprint("old-", i), "Old", 10)
		b.ReceivedAt = c.now()
		if _, err := db.PutEvents(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	c.add(47 * time.Hour) // old is now 47 h old
	young := batch(tid, "young", "Young", 10)
	young.ReceivedAt = c.now()
	if _, err := db.PutEvents(t.Context(), young); err != nil {
		t.Fatal(err)
	}
	c.add(time.Hour)

	var mu sync.Mutex
	var batches []int
	db.retireHook = func(n int) {
		mu.Lock()
		batches = append(batches, n)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			// Between two batches the writer is free: a write commits
			// before the next batch is even asked for.
			b := batch(tid, "between", "Young", 10)
			b.ReceivedAt = c.now()
			if _, err := db.PutEvents(context.Background(), b); err != nil {
				t.Errorf("a write between two retention batches: %v", err)
			}
		}
	}
	stop := make(chan struct{})
	a1, a2 := ingest(t, db, tid, "g1", c, stop), ingest(t, db, tid, "g2", c, stop)
	deleted, err := db.Retire(t.Context(), 24*time.Hour)
	close(stop)
	acked := <-a1 + <-a2
	if err != nil {
		t.Fatal(err)
	}

	if deleted != old {
		t.Errorf("Retire deleted %d events, want the %d old ones", deleted, old)
	}
	mu.Lock()
	if len(batches) < old/retireBatchSize {
		t.Errorf("deleted in %d batches %v, want at least %d", len(batches), batches, old/retireBatchSize)
	}
	for _, n := range batches {
		if n > retireBatchSize {
			t.Errorf("a batch deleted %d events, more than %d", n, retireBatchSize)
		}
	}
	mu.Unlock()
	if n := countStored(t, db, server.EventFilter{TrackingID: tid}); n != 10+10+acked*10 {
		t.Errorf("%d events left, want the 10 young, the 10 between and %d acknowledged while retiring", n, acked*10)
	}
	for e, err := range db.Events(t.Context(), server.EventFilter{TrackingID: tid}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.EventType == "Old" {
			t.Fatalf("old event %s survived", *e.EventID)
		}
	}
	// A second sweep finds nothing to do.
	if n, err := db.Retire(t.Context(), 24*time.Hour); err != nil || n != 0 {
		t.Errorf("second Retire: %d, %v; want 0", n, err)
	}
}

// TestRetentionSweepsInTheBackground: with Options.Retention, Open starts
// a sweep at once.
func TestRetentionSweepsInTheBackground(t *testing.T) {
	c := &clock{t: testEpoch}
	db, tid, path := setup(t, Options{Now: c.now})
	b := batch(tid, "old", "Old", 10)
	b.ReceivedAt = c.now()
	if _, err := db.PutEvents(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c.add(48 * time.Hour)

	swept := make(chan int, 1)
	db = openFile(t, path, Options{Now: c.now, Retention: 24 * time.Hour, retireHook: func(n int) {
		select {
		case swept <- n:
		default:
		}
	}})
	select {
	case n := <-swept:
		if n != 10 {
			t.Errorf("the first sweep deleted %d events, want 10", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no sweep within 10 s of Open")
	}
	if n := countStored(t, db, server.EventFilter{}); n != 0 {
		t.Errorf("%d events left after the sweep", n)
	}
}
