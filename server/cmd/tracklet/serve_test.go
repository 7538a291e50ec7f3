package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// dial opens a raw TCP connection to the collector at url.
func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dribble writes data one byte every gap until it is all written or the
// connection fails, and reports when it stopped.
func dribble(conn net.Conn, data string, gap time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := range len(data) {
			if _, err := conn.Write([]byte{data[i]}); err != nil {
				done <- err
				return
			}
			time.Sleep(gap)
		}
		done <- nil
	}()
	return done
}

// TestSlowClientsAreCutOff checks the timeouts against slowloris clients on
// a real collector: one that dribbles its headers and one that dribbles its
// body each lose their connection after the timeout, long before they would
// have finished, and nothing of theirs is stored.
func TestSlowClientsAreCutOff(t *testing.T) {
	db := filepath.Join(t.TempDir(), "slow.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "slow"))
	c := startCollector(t, "--db", db, "--read-header-timeout", "300ms", "--read-timeout", "700ms", "--access-log=false")
	body := fmt.Sprintf(`{"trackingId":%q,"sessionId":"s","eventList":[{"eventType":"Slow","sentAt":1714979289}]}`, tid)
	const gap = 40 * time.Millisecond // a byte every 40 ms: the whole request would take seconds

	tests := []struct {
		name       string
		fast, slow string // sent at once, then a byte at a time
	}{
		{"headers", "POST /events HTTP/1.1\r\nHost: x\r\n",
			"Content-Type: application/json\r\nX-Padding: " + strings.Repeat("a", 200) + "\r\n\r\n" + body},
		{"body", fmt.Sprintf("POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)),
			body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dial(t, c.url)
			start := time.Now()
			if _, err := io.WriteString(conn, tt.fast); err != nil {
				t.Fatal(err)
			}
			writing := dribble(conn, tt.slow, gap)
			// The server either closes the connection or answers an error
			// and closes it; either way reading ends.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply, err := io.ReadAll(conn)
			took := time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after %s", took)
			}
			if strings.HasPrefix(string(reply), "HTTP/1.1 200") {
				t.Fatalf("a request cut off was answered 200:\n%s", reply)
			}
			// The client was cut off before it could finish: its next
			// writes fail on the closed connection. (How long the server
			// waited is the clock's business, not the test's: a busy
			// machine stretches both sides; took is for the message.)
			select {
			case err := <-writing:
				if err == nil {
					t.Fatalf("the client sent its whole request (%s at a byte every %s) before being cut off after %s",
						time.Duration(len(tt.slow))*gap, gap, took)
				}
			case <-time.After(5 * time.Second):
				t.Error("writing to the cut-off connection did not fail")
			}
		})
	}
	c.stop(t)
	if n := countEvents(t, db, tid); n != 0 {
		t.Errorf("%d events stored from cut-off requests", n)
	}
}

// TestShutdownFinishesInFlightRequests sends SIGTERM while a request is half
// sent: the collector stops accepting connections at once, still answers
// the request 200 once its body arrives, stores its events, and exits 0.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shutdown.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "shutdown"))
	c := startCollector(t, "--db", db, "--access-log=false")

	body := fmt.Sprintf(`{"trackingId":%q,"sessionId":"s","eventList":[`+
		`{"eventId":"in-flight-1","eventType":"Late","sentAt":1714979289},`+
		`{"eventId":"in-flight-2","eventType":"Late","sentAt":1714979290}]}`, tid)
	conn := dial(t, c.url)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	replies := bufio.NewReader(conn)
	// The server answers 100 Continue once the handler starts reading the
	// body: the signal that the request is in flight.
	fmt.Fprintf(conn, "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		len(body))
	if cont, err := http.ReadResponse(replies, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue as the handler reads the body, got %v, %v", cont, err)
	}
	half := len(body) / 2
	io.WriteString(conn, body[:half])

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", strings.TrimPrefix(c.url, "http://"), time.Second)
		if err != nil {
			// A dial racing the listener's close may be reset instead:
			// the kernel had queued it, and nobody will accept it.
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("new connection after SIGTERM: %v, want it refused or reset", err)
			}
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted 5 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The request in flight completes.
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatalf("finishing the request in flight: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(replies, nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Tracklet-Accepted") != "2" {
		t.Fatalf("request in flight: %d, accepted %q", resp.StatusCode, resp.Header.Get("X-Tracklet-Accepted"))
	}

	if !c.waitExit(t) {
		t.Fatal("collector did not exit after its last request")
	}
	if n := countEvents(t, db, tid); n != 2 {
		t.Errorf("%d events stored, want the in-flight request's 2", n)
	}
}

// countEvents opens the database file (the collector has exited) and counts
// trackingID's events.
func countEvents(t *testing.T, path, trackingID string) int {
	t.Helper()
	db := openStore(t, path)
	defer db.Close()
	n := 0
	for _, err := range db.Events(context.Background(), server.EventFilter{TrackingID: trackingID}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
