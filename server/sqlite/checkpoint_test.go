package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// The WAL bound at its edge: a checkpoint restarts the WAL only when it
// holds more than MaxWALFrames frames, the next commit then writes it from
// its start, and the writer it paused goes on.
func TestCheckpointRestartsTheWALPastItsBound(t *testing.T) {
	ctx := t.Context()
	// With an hour between checkpoints, they run only when the test calls.
	obs := &checkpoints{}
	db := openFile(t, filepath.Join(t.TempDir(), "t.db"), Options{CheckpointInterval: time.Hour, Observer: obs})
	put := func(i int) {
		t.Helper()
		if _, err := db.PutEvents(ctx, batch("tk", fmt.Sprint("r", i), "View", 10)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		put(i)
	}
	frames, _, err := walCheckpoint(ctx, db.ckpt, "PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if frames < 10 {
		t.Fatalf("20 commits left %d WAL frames; the test needs more", frames)
	}

	db.maxWALFrames = frames // at the bound
	if db.checkpoint(db.ckpt) {
		t.Fatalf("restarted a WAL of %d frames with a bound of %d", frames, db.maxWALFrames)
	}
	db.maxWALFrames = frames - 1 // one frame past it
	if !db.checkpoint(db.ckpt) {
		t.Fatalf("did not restart a WAL of %d frames with a bound of %d", frames, db.maxWALFrames)
	}

	// The observer heard of all three: two PASSIVE checkpoints of the
	// whole WAL, then the RESTART, each with the WAL's size.
	want := []string{
		fmt.Sprintf("PASSIVE %d/%d", frames, frames),
		fmt.Sprintf("PASSIVE %d/%d", frames, frames),
		fmt.Sprintf("RESTART %d/%d", frames, frames),
	}
	if got := obs.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("observed checkpoints %q, want %q", got, want)
	}

	put(20) // the writer was paused for the restart and must go on
	after, _, err := walCheckpoint(ctx, db.ckpt, "PASSIVE")
	if err != nil {
		t.Fatal(err)
	}
	if after >= frames {
		t.Fatalf("after the restart one commit left %d WAL frames, as many as 20 did (%d): the WAL was not rewound", after, frames)
	}
	n := 0
	for _, err := range db.Events(ctx, server.EventFilter{TrackingID: "tk"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 210 {
		t.Fatalf("stored %d events, want 210", n)
	}
}

// checkpoints records the checkpoints an observer hears of, as
// "MODE walFrames/backfilled".
type checkpoints struct {
	commits
	mu   sync.Mutex
	seen []string
}

func (c *checkpoints) Checkpointed(mode string, walFrames, backfilled int, d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.seen = append(c.seen, mode+" error: "+err.Error())
		return
	}
	c.seen = append(c.seen, fmt.Sprintf("%s %d/%d", mode, walFrames, backfilled))
}

func (c *checkpoints) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// TestRestartCheckpointDoesNotWaitForALongReader: a reader holding an old
// snapshot (as `tracklet backup` does for the whole copy) keeps a RESTART
// checkpoint from finishing. The checkpointer gives up after restartWait,
// so the writer it paused goes on, and does not pause it again until the
// hold has passed; once the reader is gone, the next try restarts the WAL.
func TestRestartCheckpointDoesNotWaitForALongReader(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: testEpoch}
	obs := &checkpoints{}
	path := filepath.Join(t.TempDir(), "t.db")
	db := openFile(t, path, Options{CheckpointInterval: time.Hour, Observer: obs, Now: c.now})
	for i := range 5 {
		if _, err := db.PutEvents(ctx, batch("tk", fmt.Sprint("a", i), "View", 10)); err != nil {
			t.Fatal(err)
		}
	}
	reader := openFile(t, path, Options{})
	tx, err := reader.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil { // the snapshot starts here
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.PutEvents(ctx, batch("tk", fmt.Sprint("b", i), "View", 10)); err != nil {
			t.Fatal(err)
		}
	}
	db.maxWALFrames = 1
	if db.checkpoint(db.ckpt) {
		t.Fatal("restarted the WAL under a reader of an older snapshot")
	}
	if _, err := db.PutEvents(ctx, batch("tk", "c", "View", 10)); err != nil { // the writer goes on
		t.Fatal(err)
	}
	restarts := func() int { return strings.Count(fmt.Sprint(obs.get()), "RESTART") }
	db.checkpoint(db.ckpt)
	if r := restarts(); r != 1 {
		t.Errorf("%d RESTART checkpoints within the hold, want the first only", r)
	}
	tx.Rollback()
	c.add(restartHoldMin)
	if !db.checkpoint(db.ckpt) {
		t.Errorf("no restart once the reader was gone and the hold had passed; checkpoints %v", obs.get())
	}
}
