package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/sqlite/sqlitetest"
)

// answer is what a test needs of a PutEvents or /readyz answer.
type answer struct {
	status     int
	errorType  string
	retryAfter string
	message    string
}

func readyz(t *testing.T, base string) answer {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, errorType: resp.Header.Get("x-amzn-ErrorType"), retryAfter: resp.Header.Get("Retry-After")}
	var m struct{ Message string }
	json.Unmarshal(b, &m)
	a.message = m.Message
	return a
}

// postBatch posts ten events with eventIds reqID-e0..9, each carrying pad
// bytes of properties, and returns the answer.
func postBatch(t *testing.T, url, tid, reqID string, pad int) answer {
	t.Helper()
	props, _ := json.Marshal(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", pad)))
	events := make([]string, 10)
	for k := range events {
		events[k] = fmt.Sprintf(`{"eventId":"%s-e%d","eventType":"Fill","sentAt":1714979289.123,"properties":%s}`, reqID, k, props)
	}
	body := fmt.Sprintf(`{"trackingId":%q,"sessionId":%q,"eventList":[%s]}`, tid, reqID, strings.Join(events, ","))
	resp, err := http.Post(url+"/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err) // not Fatal: ingesting goroutines call it too
		return answer{}
	}
	return readAnswer(t, resp)
}

// storedSessions opens the database as a restarted collector would and
// counts the events of each request (sessionId).
func storedSessions(t *testing.T, db, tid string) map[string]int {
	t.Helper()
	store, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n := make(map[string]int)
	for e, err := range store.Events(context.Background(), server.EventFilter{TrackingID: tid}) {
		if err != nil {
			t.Fatal(err)
		}
		n[e.SessionID]++
	}
	return n
}

// checkAllStored fails t unless every request of acked has its ten events.
func checkAllStored(t *testing.T, stored map[string]int, acked []string) {
	t.Helper()
	lost := 0
	for _, id := range acked {
		if stored[id] != 10 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged requests are not stored whole", lost, len(acked))
	}
}

func wantUnavailable(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
		t.Errorf("%s: %d %q (Retry-After %q); want 503 with Retry-After", what, a.status, a.message, a.retryAfter)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when t ends. CI runs as root; a machine where mounting fails cannot
// run this test, and says so instead of skipping it.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount -t tmpfs (this test needs root, or CAP_SYS_ADMIN, to make a small full disk): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the file system is full.
func fill(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestFullDiskAnswers503AndRecovers runs a collector on a 4 MiB tmpfs,
// fills the disk, and posts until the collector cannot store any more: it
// answers 503 ServiceUnavailableException with Retry-After, /readyz fails,
// and the log says why, once. Freeing the space brings it back without a
// restart. Every acknowledged event is in the database afterwards.
func TestFullDiskAnswers503AndRecovers(t *testing.T) {
	disk := mountTmpfs(t, 4<<20)
	db := filepath.Join(disk, "full.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "full"))
	c := startCollector(t, "--db", db, "--rate-limit-ip", "0", "--rate-limit-tracker", "0", "--access-log=false")

	var acked []string
	post := func(i int) answer {
		id := fmt.Sprint("r", i)
		a := postBatch(t, c.url, tid, id, 200)
		if a.status == 200 {
			acked = append(acked, id)
		}
		return a
	}
	for i := range 20 {
		if a := post(i); a.status != 200 {
			t.Fatalf("request %d before the disk filled: %d %s", i, a.status, a.message)
		}
	}
	filler := filepath.Join(disk, "filler")
	fill(t, filler)
	var full answer
	i := 20
	for ; i < 5000; i++ {
		if full = post(i); full.status != 200 {
			break
		}
	}
	t.Logf("the disk took %d more requests after the filler", i-20)
	wantUnavailable(t, "PutEvents on a full disk", full)
	if full.errorType != "ServiceUnavailableException" {
		t.Errorf("x-amzn-ErrorType %q, want ServiceUnavailableException", full.errorType)
	}
	wantUnavailable(t, "a second PutEvents on a full disk", post(i+1))
	wantUnavailable(t, "/readyz on a full disk", readyz(t, c.url))
	c.waitLog(t, 10*time.Second, `"level":"ERROR"`, "database writes fail")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if a := readyz(t, c.url); a.status != 200 {
		t.Errorf("/readyz once space is back: %d %q", a.status, a.message)
	}
	for j := range 20 {
		if a := post(i + 2 + j); a.status != 200 {
			t.Fatalf("request %d after space came back: %d %s", j, a.status, a.message)
		}
	}
	c.waitLog(t, 10*time.Second, "database writes work again")
	c.stop(t)
	if n := strings.Count(c.log.String(), "database writes fail"); n != 1 {
		t.Errorf("the failure was logged %d times, want once", n)
	}
	checkAllStored(t, storedSessions(t, db, tid), acked)
}

// TestDatabaseDeletedOrReplacedWhileRunning deletes (or replaces) the
// database file of a running collector: the next request is refused with
// 503, and so is every later one, /readyz fails, and an ERROR line says
// what happened. Nothing is acknowledged into a file nobody will open.
func TestDatabaseDeletedOrReplacedWhileRunning(t *testing.T) {
	for _, replace := range []bool{false, true} {
		name := map[bool]string{false: "deleted", true: "replaced"}[replace]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "gone.db")
			tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "gone"))
			c := startCollector(t, "--db", db, "--access-log=false")
			if a := postBatch(t, c.url, tid, "before", 10); a.status != 200 {
				t.Fatalf("before: %d %s", a.status, a.message)
			}
			if replace {
				// A restore done wrong: another database renamed over it.
				other := filepath.Join(dir, "other.db")
				mustTracklet(t, "tracker", "create", "--db", other, "--name", "other")
				if err := os.Rename(other, db); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Remove(db); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				wantUnavailable(t, fmt.Sprint("PutEvents after the file went, #", i), postBatch(t, c.url, tid, fmt.Sprint("after", i), 10))
			}
			wantUnavailable(t, "/readyz", readyz(t, c.url))
			c.waitLog(t, 10*time.Second, `"level":"ERROR"`, "DATABASE FILE DELETED OR REPLACED", db)
		})
	}
}

// TestSecondCollectorOnOneFileIsRefused starts two collectors on one
// database: the second exits at once with an error naming the first's pid,
// and the first goes on working; tools such as tracker create still run
// beside it.
func TestSecondCollectorOnOneFileIsRefused(t *testing.T) {
	db := filepath.Join(t.TempDir(), "one.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "one"))
	first := startCollector(t, "--db", db, "--access-log=false")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0", "--db", db)
	out, err := second.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second collector: %v, want exit status 1\n%s", err, out)
	}
	want := fmt.Sprintf("database in use by another collector (process %d holds %s.lock)", first.cmd.Process.Pid, db)
	if !strings.Contains(string(out), want) {
		t.Errorf("second collector said:\n%s\nwant it to say %q", out, want)
	}
	mustTracklet(t, "tracker", "create", "--db", db, "--name", "beside")
	if a := postBatch(t, first.url, tid, "still", 10); a.status != 200 {
		t.Errorf("the first collector after the second was refused: %d %s", a.status, a.message)
	}
}

// TestRetentionAndBackupWhileIngesting starts a collector with --retention
// on a database holding 1,500 events two days old, and runs `tracklet
// backup` while four clients post: the sweep deletes exactly the old
// events, the copy opens, passes integrity_check and holds every request
// acknowledged before the backup began, and the collector lost nothing.
func TestRetentionAndBackupWhileIngesting(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kept.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "kept"))
	store, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		b := testBatch(tid, fmt.Sprint("old", i))
		b.ReceivedAt = time.Now().Add(-48 * time.Hour)
		if _, err := store.PutEvents(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	c := startCollector(t, "--db", db, "--retention", "24h", "--rate-limit-ip", "0", "--rate-limit-tracker", "0", "--access-log=false")
	var mu sync.Mutex
	var acked []string
	ack := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sendUntil(&wg, stop, 4, func(g, i int) bool {
		id := fmt.Sprintf("g%d-%d", g, i)
		if a := postBatch(t, c.url, tid, id, 50); a.status == 200 {
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
			select {
			case ack <- struct{}{}:
			default:
			}
		}
		return true
	})
	c.waitLog(t, 20*time.Second, `"msg":"retention sweep"`, `"deleted":1500`)
	timeout := time.After(20 * time.Second)
	for range 20 { // acknowledgements, before the backup starts
		select {
		case <-ack:
		case <-timeout:
			t.Fatal("fewer than 20 requests acknowledged within 20 s")
		}
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	copyFile := filepath.Join(dir, "backups", "copy.db") // the folder is created
	out := mustTracklet(t, "backup", "--db", db, "-o", copyFile)
	// The backup's own connections came and went beside the collector's:
	// it still takes writes, into the same file.
	if a := postBatch(t, c.url, tid, "after-backup", 50); a.status != 200 {
		t.Errorf("PutEvents after the backup: %d %s", a.status, a.message)
	} else {
		mu.Lock()
		acked = append(acked, "after-backup")
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if !strings.Contains(out, "Backed up ") {
		t.Errorf("backup printed %q", out)
	}
	if len(before) == 0 {
		t.Fatal("nothing was acknowledged before the backup; the test proves nothing")
	}

	cp := sqlitetest.OpenChecked(t, copyFile)
	inCopy := make(map[string]int)
	rows, err := cp.Query("SELECT session_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		inCopy[s]++
	}
	rows.Close()
	for s := range inCopy {
		if strings.HasPrefix(s, "old") {
			t.Fatalf("the copy holds old event of %s: the sweep missed it", s)
		}
	}
	checkAllStored(t, inCopy, before)
	t.Logf("%d requests acknowledged before the backup, %d in the copy, %d in all", len(before), len(inCopy), len(acked))

	c.stop(t)
	stored := storedSessions(t, db, tid)
	checkAllStored(t, stored, acked)
	if len(stored) != len(acked) {
		t.Errorf("%d requests stored, %d acknowledged; the old ones should be gone", len(stored), len(acked))
	}
}

// testBatch is a request of ten events with eventIds id-e0..9.
func testBatch(tid, id string) *server.Batch {
	r := &event.Request{TrackingID: tid, SessionID: id}
	for k := range 10 {
		r.EventList = append(r.EventList, event.Event{EventID: event.String(fmt.Sprintf("%s-e%d", id, k)), EventType: "Old", SentAt: 1714979289})
	}
	return &server.Batch{Request: r}
}
