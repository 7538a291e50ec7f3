package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// commits records what each group commit held.
type commits struct {
	mu       sync.Mutex
	requests []int
}

func (c *commits) Committed(requests, events int, d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, requests)
}

func (c *commits) get() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.requests...)
}

// batch is a request of n events for tracker tid, with eventIds prefix-0...
func batch(tid, prefix, eventType string, n int) *server.Batch {
	r := &event.Request{TrackingID: tid, SessionID: "s-" + prefix}
	for k := range n {
		r.EventList = append(r.EventList, event.Event{
			EventID: event.String(fmt.Sprintf("%s-%d", prefix, k)), EventType: eventType, SentAt: 1714979289.123})
	}
	return &server.Batch{Request: r, ReceivedAt: time.Now()}
}

// holdWriteLock takes SQLite's write lock on path from another connection,
// as another process could, so that the writer's next transaction waits
// and the writes queued meanwhile form one group. It returns the release.
func holdWriteLock(t *testing.T, path string) func() {
	t.Helper()
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			tx.Rollback()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// waitQueued waits until n writes wait in db's queue.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for db.QueueDepth() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", db.QueueDepth(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// watchGroups makes the writer of the next database opened report each group
// it is about to commit, in order, so that a test knows the writer holds a
// group (and waits for the write lock) before it queues the next writes.
func watchGroups(t *testing.T) <-chan int {
	t.Helper()
	groups := make(chan int, 1000) // more groups than any test commits: the writer never waits on it
	testHookGroup = func(n int) { groups <- n }
	t.Cleanup(func() { testHookGroup = nil }) // after the database's Close, which setup registers later
	return groups
}

// nextGroup waits for the writer to start committing a group of want writes.
func nextGroup(t *testing.T, groups <-chan int, want int) {
	t.Helper()
	select {
	case n := <-groups:
		if n != want {
			t.Fatalf("the writer took %d writes into its group, want %d", n, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the writer took no group of %d writes in 10s", want)
	}
}

// waitClosing waits until db's Close has begun: it takes no more writes.
func waitClosing(t *testing.T, db *DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		db.mu.RLock()
		closed := db.closed
		db.mu.RUnlock()
		if closed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not begin in 10s")
		}
	}
}

func countStored(t *testing.T, db *DB, f server.EventFilter) int {
	t.Helper()
	n := 0
	for _, err := range db.Events(t.Context(), f) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// setup opens a file database with one tracker and returns both.
func setup(t *testing.T, opts Options) (*DB, string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db := openFile(t, path, opts)
	tr, err := db.CreateTracker(t.Context(), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, tr.ID, path
}

// TestGroupCommit puts 50 requests at once while the writer waits for the
// database: they are committed together, every one of them, each told how
// many of its events were new.
func TestGroupCommit(t *testing.T) {
	obs := &commits{}
	groups := watchGroups(t)
	db, tid, path := setup(t, Options{Observer: obs})
	release := holdWriteLock(t, path)

	const n = 50
	results := make([]server.PutResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	put := func(i int) {
		wg.Go(func() {
			// Request 0 and 1 share their events: one of them gets
			// duplicates, whichever the writer takes second.
			prefix := fmt.Sprint("r", i)
			if i == 1 {
				prefix = "r0"
			}
			results[i], errs[i] = db.PutEvents(t.Context(), batch(tid, prefix, "View", 10))
		})
	}
	// The first request goes alone, so that the writer takes just it and
	// waits for the lock; the rest, sent later, all wait in the queue.
	put(0)
	nextGroup(t, groups, 1)
	for i := 1; i < n; i++ {
		put(i)
	}
	waitQueued(t, db, n-1)
	release()
	wg.Wait()

	accepted, dups := 0, 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		accepted += results[i].Accepted
		dups += results[i].Duplicates
	}
	if accepted != (n-1)*10 || dups != 10 {
		t.Errorf("accepted %d and %d duplicates, want %d and 10", accepted, dups, (n-1)*10)
	}
	if got := countStored(t, db, server.EventFilter{TrackingID: tid}); got != (n-1)*10 {
		t.Errorf("%d events stored, want %d", got, (n-1)*10)
	}
	if c := obs.get(); len(c) != 2 || c[0] != 1 || c[1] != n-1 {
		t.Errorf("commits held %v requests, want [1 %d]", c, n-1)
	}
}

// TestFailedRequestInGroupLosesNoOther makes one request of a group fail in
// the database (a trigger refuses its second event): that request stores
// nothing and gets the error, and the rest of its group is committed.
func TestFailedRequestInGroupLosesNoOther(t *testing.T) {
	obs := &commits{}
	groups := watchGroups(t)
	db, tid, path := setup(t, Options{Observer: obs})
	if _, err := db.write.Exec(`CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event_type = 'Poison'
		BEGIN SELECT RAISE(ABORT, 'poisoned event'); END`); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, path)

	var wg sync.WaitGroup
	errs := make([]error, 5)
	// The writer takes the first request, and waits for the lock.
	wg.Go(func() { _, errs[0] = db.PutEvents(t.Context(), batch(tid, "first", "View", 3)) })
	nextGroup(t, groups, 1)
	for i := 1; i < 5; i++ {
		wg.Go(func() {
			b := batch(tid, fmt.Sprint("r", i), "View", 3)
			if i == 2 {
				b.Request.EventList[1].EventType = "Poison"
			}
			_, errs[i] = db.PutEvents(t.Context(), b)
		})
	}
	waitQueued(t, db, 4)
	release()
	wg.Wait()

	for i, err := range errs {
		if i == 2 {
			if err == nil || !strings.Contains(err.Error(), "poisoned event") {
				t.Errorf("poisoned request: %v, want the trigger's error", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if got := countStored(t, db, server.EventFilter{TrackingID: tid}); got != 4*3 {
		t.Errorf("%d events stored, want the 12 of the four good requests", got)
	}
	for e, err := range db.Events(t.Context(), server.EventFilter{TrackingID: tid}) {
		if err == nil && strings.HasPrefix(*e.EventID, "r2-") {
			t.Errorf("event %s of the failed request was stored", *e.EventID)
		}
	}
	if c := obs.get(); len(c) != 2 || c[1] != 3 {
		t.Errorf("commits held %v requests, want [1 3]: the four others in one group", c)
	}
}

// TestCloseCommitsQueuedWork closes the database while writes wait in its
// queue: Close returns once they are committed, each caller gets its
// result, and a write after Close is refused with server.ErrClosed.
func TestCloseCommitsQueuedWork(t *testing.T) {
	groups := watchGroups(t)
	db, tid, path := setup(t, Options{})
	release := holdWriteLock(t, path)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	put := func(i int) {
		wg.Go(func() { _, errs[i] = db.PutEvents(context.Background(), batch(tid, fmt.Sprint("q", i), "View", 10)) })
	}
	// The first write goes alone, so that the writer takes just it and
	// waits for the lock; the rest, sent later, must all wait in the queue.
	put(0)
	nextGroup(t, groups, 1)
	for i := 1; i < n; i++ {
		put(i)
	}
	db.RecordRejected(&server.Rejection{ReceivedAt: time.Now(), Status: 400, Reason: "queued rejection", Body: "x"})
	waitQueued(t, db, n) // n-1 events and the rejection; one is with the writer
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	waitClosing(t, db)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before its queued writes could commit", err)
	default:
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued request %d: %v", i, err)
		}
	}
	if _, err := db.PutEvents(t.Context(), batch(tid, "late", "View", 1)); !errors.Is(err, server.ErrClosed) {
		t.Errorf("PutEvents after Close: %v, want ErrClosed", err)
	}

	reopened := openFile(t, path, Options{})
	if got := countStored(t, reopened, server.EventFilter{TrackingID: tid}); got != n*10 {
		t.Errorf("%d events after reopening, want %d", got, n*10)
	}
	if rej, err := reopened.Rejected(t.Context(), "", 10); err != nil || len(rej) != 1 || rej[0].Reason != "queued rejection" {
		t.Errorf("rejections after reopening: %v, %v", rej, err)
	}
}

// TestRejectedTableBound checks the bound of the rejected table at its
// edges: it is trimmed to the newest MaxRejected at the first insert and
// every trimEvery-th, so it never holds more than MaxRejected+trimEvery-1;
// bodies are kept up to server.MaxRejectedBody bytes.
func TestRejectedTableBound(t *testing.T) {
	const keep = 5
	db, tid, path := setup(t, Options{MaxRejected: keep})
	inserted := 0
	// record adds n rejections and waits until they are committed: a
	// PutEvents queued after them commits in the same group or a later one.
	record := func(n int) {
		t.Helper()
		for range n {
			inserted++
			body := strings.Repeat("b", server.MaxRejectedBody-1) + "é" // 2 bytes: straddles the limit
			db.RecordRejected(&server.Rejection{ReceivedAt: time.Now(), TrackingID: tid, Status: 400,
				Reason: fmt.Sprint("bad ", inserted), Body: body})
		}
		if _, err := db.PutEvents(t.Context(), batch(tid, fmt.Sprint("sync", inserted), "View", 1)); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		rej, err := db.Rejected(t.Context(), tid, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(rej)
	}
	for _, step := range []struct{ add, want int }{
		{1, 1},                                // the first insert trims: nothing to drop yet
		{trimEvery - 2, trimEvery - 1},        // between trims the table grows
		{1, keep},                             // the 100th insert trims to the newest keep
		{trimEvery - 1, keep + trimEvery - 1}, // the most it ever holds
		{1, keep},
		{trimEvery - 1, keep + trimEvery - 1},
	} {
		record(step.add)
		if got := count(); got != step.want {
			t.Fatalf("after %d rejections: %d rows, want %d", inserted, got, step.want)
		}
	}
	// A new process trims at its first insert: the table never keeps what
	// an earlier one left beyond the bound.
	db.Close()
	db = openFile(t, path, Options{MaxRejected: keep})
	record(1)
	if got := count(); got != keep {
		t.Fatalf("after reopening and one more rejection: %d rows, want %d", got, keep)
	}
	rej, _ := db.Rejected(t.Context(), tid, keep)
	for i, r := range rej {
		if want := fmt.Sprint("bad ", inserted-i); r.Reason != want {
			t.Errorf("row %d: %q, want the newest first (%q)", i, r.Reason, want)
		}
		if r.Body != strings.Repeat("b", server.MaxRejectedBody-1) {
			t.Errorf("a body of %d bytes whose last rune straddles the limit was kept as %d bytes (%q...)",
				server.MaxRejectedBody+1, len(r.Body), r.Body[max(0, len(r.Body)-8):])
		}
	}
}
