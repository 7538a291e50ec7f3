package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestKill9KeepsEveryAcknowledgedEvent kills a real collector process with
// SIGKILL while 16 clients post to it, then checks that every event it
// answered 200 for is in the database, and that no request is half stored.
func TestKill9KeepsEveryAcknowledgedEvent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crash.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "crash"))
	c := startCollector(t, "--db", db, "--rate-limit-ip", "0", "--rate-limit-tracker", "0", "--access-log=false")

	var (
		mu      sync.Mutex
		acked   = make(map[string]bool) // request ids answered 200
		sent    int
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		client  = &http.Client{Timeout: 5 * time.Second}
		killed  = make(chan struct{})
		minLoad = 200                 // requests acknowledged before the kill
		loaded  = make(chan struct{}) // closed at the minLoad-th
	)
	sendUntil(&wg, stop, 16, func(g, i int) bool {
		reqID := fmt.Sprintf("g%d-r%d", g, i)
		events := make([]string, 10)
		for k := range events {
			events[k] = fmt.Sprintf(`{"eventId":"%s-e%d","eventType":"Load","sentAt":1714979289.123}`, reqID, k)
		}
		body := fmt.Sprintf(`{"trackingId":%q,"sessionId":%q,"eventList":[%s]}`, tid, reqID, strings.Join(events, ","))
		resp, err := client.Post(c.url+"/events", "application/json", strings.NewReader(body))
		mu.Lock()
		sent++
		mu.Unlock()
		if err != nil {
			select {
			case <-killed:
				return false // the collector is gone
			default:
				time.Sleep(time.Millisecond)
				return true
			}
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			mu.Lock()
			acked[reqID] = true
			if len(acked) == minLoad {
				close(loaded)
			}
			mu.Unlock()
		}
		return true
	})
	// Kill mid-load, once a good number of requests went through: the 16
	// senders keep as many requests in flight.
	select {
	case <-loaded:
	case <-time.After(20 * time.Second):
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	c.cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < minLoad {
		t.Fatalf("only %d requests acknowledged before the kill; the load did not run", len(acked))
	}

	// Reopening recovers the WAL, as a restarted collector would.
	perRequest := storedSessions(t, db, tid)
	lost, partial := 0, 0
	for id := range acked {
		if perRequest[id] != 10 {
			lost++
		}
	}
	for id, n := range perRequest {
		if n != 10 {
			partial++
			t.Errorf("request %s stored %d of its 10 events", id, n)
		}
	}
	t.Logf("sent %d requests, %d acknowledged, %d stored (the rest were in flight at the kill)", sent, len(acked), len(perRequest))
	if lost > 0 {
		t.Errorf("%d acknowledged requests lost after kill -9", lost)
	}
}
