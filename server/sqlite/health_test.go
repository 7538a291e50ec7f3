package sqlite

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// testEpoch is the fake clocks' start.
var testEpoch = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// lockedBuffer is a log destination for tests that read it while the
// writer goroutine logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPingCommitsThroughTheWriter: the readiness check is a real commit of
// the readiness row, not a no-op transaction.
func TestPingCommitsThroughTheWriter(t *testing.T) {
	c := &clock{t: testEpoch}
	for _, path := range []string{filepath.Join(t.TempDir(), "ping.db"), Memory} {
		db := openFile(t, path, Options{Now: c.now})
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("%s: Ping: %v", path, err)
		}
		var ms int64
		if err := db.read.QueryRow("SELECT checked_at_ms FROM readiness").Scan(&ms); err != nil {
			t.Fatal(err)
		}
		if ms != testEpoch.UnixMilli() {
			t.Errorf("%s: readiness row holds %d after Ping, want the clock's %d", path, ms, testEpoch.UnixMilli())
		}
	}
}

// TestFileDeletedOrReplaced: once the database file is deleted or another
// file takes its name, the next commit is not acknowledged, every later
// write and Ping fail with server.ErrUnavailable, and the log says so once,
// loudly.
func TestFileDeletedOrReplaced(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other.db")
			if err := os.WriteFile(other, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"wal deleted", func(t *testing.T, path string) {
			if err := os.Remove(path + "-wal"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &lockedBuffer{}
			db, tid, path := setup(t, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			if _, err := db.PutEvents(t.Context(), batch(tid, "before", "View", 3)); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, path)
			for i, prefix := range []string{"after1", "after2"} {
				_, err := db.PutEvents(t.Context(), batch(tid, prefix, "View", 3))
				if !errors.Is(err, server.ErrUnavailable) || !errors.Is(err, errFileGone) {
					t.Errorf("put %d after the file went: %v, want ErrUnavailable (file gone)", i, err)
				}
			}
			if err := db.Ping(t.Context()); !errors.Is(err, server.ErrUnavailable) {
				t.Errorf("Ping: %v, want ErrUnavailable", err)
			}
			if n := strings.Count(logs.String(), "DATABASE FILE DELETED OR REPLACED"); n != 1 {
				t.Errorf("the loud error was logged %d times, want once:\n%s", n, logs)
			}
		})
	}
}

// TestExclusiveRefusesASecondCollector: a second Exclusive Open of one file
// fails with ErrInUse naming the holder; a plain Open (the other commands)
// works beside it; Close frees the lock.
func TestExclusiveRefusesASecondCollector(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.db")
	first, err := Open(t.Context(), path, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), path, Options{Exclusive: true})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second exclusive Open: %v, want ErrInUse naming process %d", err, os.Getpid())
	}
	tool := openFile(t, path, Options{})
	if _, err := tool.CreateTracker(t.Context(), "beside", nil); err != nil {
		t.Errorf("a tool beside the collector: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), path, Options{Exclusive: true})
	if err != nil {
		t.Fatalf("exclusive Open after Close: %v", err)
	}
	again.Close()
}
