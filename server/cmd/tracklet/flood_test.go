package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tracklet/tracklet/server"
)

// fileSizes is what a SQLite database takes on disk, WAL included.
func fileSizes(t *testing.T, path string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return n
}

// A flood of bad requests, each carrying a 1 MB trackingId and a 60 KB
// Origin, grows the database by a bounded amount, not by what the
// requests carry; good requests sent in between keep being stored.
func TestBloatedRejectedFloodIsBounded(t *testing.T) {
	const (
		bad      = 300
		workers  = 4
		keepByte = 256 << 10
	)
	path := filepath.Join(t.TempDir(), "flood.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", path, "--name", "shop"))
	c := startCollector(t, "--db", path, "--rate-limit-ip", "0", "--access-log=false",
		"--max-rejected-bytes", fmt.Sprint(keepByte))
	good := func(i int) error {
		resp, err := http.Post(c.url+"/events", "application/json", strings.NewReader(fmt.Sprintf(
			`{"trackingId":%q,"sessionId":"s","eventList":[{"eventId":"good-%d","eventType":"View","sentAt":1714979289}]}`, tid, i)))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("good request %d: %d", i, resp.StatusCode)
		}
		return nil
	}
	if err := good(-1); err != nil { // the schema and first pages exist
		t.Fatal(err)
	}
	before := fileSizes(t, path)

	// Just under the 1 MiB body limit, so that the body is read and
	// decoded and the trackingId is refused by validation.
	bloatedID := strings.Repeat("t", 1<<20-200)
	badBody := `{"trackingId":"` + bloatedID + `","sessionId":"s","eventList":[{"eventType":"View","sentAt":1}]}`
	origin := "https://" + strings.Repeat("o", 60<<10) + ".example"
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		goods  int
		ctx    = t.Context()
		jobs   = make(chan int)
		client = &http.Client{}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, _ := http.NewRequestWithContext(ctx, "POST", c.url+"/events", strings.NewReader(badBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", origin)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 400 {
						err = fmt.Errorf("bloated request %d: %d, want 400", i, resp.StatusCode)
					}
				}
				if err == nil && i%10 == 0 {
					err = good(i)
					mu.Lock()
					goods++
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range bad {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs[:min(len(errs), 5)] {
		t.Error(err)
	}
	// The rejections are written behind the requests; a good request
	// queued after them commits after them.
	if err := good(bad); err != nil {
		t.Fatal(err)
	}
	c.stop(t)

	grown := fileSizes(t, path) - before
	// What the log may hold: its byte bound, plus what accumulates between
	// two trims, plus SQLite's page and index overhead and the WAL; a
	// fraction of the ~320 MB the requests carried.
	limit := int64(8 << 20)
	t.Logf("%d bloated requests (%d MB sent) grew the database and WAL by %d KB (bound %d KB of rejections)",
		bad, bad*(len(badBody)+len(origin))>>20, grown>>10, keepByte>>10)
	if grown > limit {
		t.Errorf("the database grew by %d bytes under %d bloated requests, want at most %d", grown, bad, limit)
	}
	if n := countEvents(t, path, tid); n != goods+2 {
		t.Errorf("stored %d good events, want %d", n, goods+2)
	}
	out := mustTracklet(t, "rejected", "--db", path, "--limit", "1000")
	if rows := strings.Count(out, "\n") - 1; rows <= 0 || rows > keepByte/server.MaxRejectedRowBytes+100 {
		t.Errorf("tracklet rejected lists %d rows, want between 1 and %d", rows, keepByte/server.MaxRejectedRowBytes+100)
	}
}
