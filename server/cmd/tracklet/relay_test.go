package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlite"
)

// gate stands between collector A's relay and collector B: it can make B
// unreachable (connections dropped), hold one request while the test kills
// A, and tells the test about every request B answered.
type gate struct {
	mu       sync.Mutex
	down     bool
	downHits chan struct{} // a request arrived while down
	holdAt   int           // hold the holdAt-th forwarded request (from 1)
	held     chan struct{} // closed when it arrives
	release  chan struct{} // closed by the test to let it through
	fwd      int
	answered chan struct{} // B answered a request
	bodies   []string      // every body forwarded
	b        string        // B's URL
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if g.down {
		g.mu.Unlock()
		select {
		case g.downHits <- struct{}{}:
		default:
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	g.fwd++
	hold := g.fwd == g.holdAt
	g.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if hold {
		close(g.held)
		<-g.release
	}
	g.mu.Lock()
	g.bodies = append(g.bodies, string(body))
	g.mu.Unlock()
	// What reached the gate has left A: it goes on to B even if A died
	// meanwhile, as it would over a network (a ReverseProxy would cancel
	// it with A's connection).
	out, _ := http.NewRequest(r.Method, g.b+r.URL.RequestURI(), strings.NewReader(string(body)))
	out.Header, out.Host = r.Header.Clone(), r.Host // the Host A signed
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
	resp.Body.Close()
	select {
	case g.answered <- struct{}{}:
	default:
	}
}

// sentWith counts forwarded bodies that contain s.
func (g *gate) sentWith(s string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, b := range g.bodies {
		if strings.Contains(b, s) {
			n++
		}
	}
	return n
}

// adminStats reads a collector's /v1/stats: events stored and dropped as
// duplicates for trackingID.
func adminStats(t *testing.T, base, token, trackingID string) (events, duplicates int64) {
	t.Helper()
	code, body := get(t, "GET", base+"/v1/stats", token)
	if code != 200 {
		t.Fatalf("stats: %d %s", code, body)
	}
	var st struct {
		EventsDuplicate int64 `json:"eventsDuplicate"`
		Trackers        []struct {
			TrackingID string `json:"trackingId"`
			Events     int64  `json:"events"`
		} `json:"trackers"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, tr := range st.Trackers {
		if tr.TrackingID == trackingID {
			events = tr.Events
		}
	}
	return events, st.EventsDuplicate
}

// TestRelayToSigV4Collector relays collector A's events to collector B,
// whose tracker requires SigV4, as A would to Personalize: B is
// unreachable at first, A is killed with SIGKILL in the middle of a window
// and restarted, and one event is too large for B. Every other event A
// stored arrives in B, once; the large one is recorded as refused and not
// sent again.
func TestRelayToSigV4Collector(t *testing.T) {
	dir := t.TempDir()
	aDB, bDB := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	const token = "relay-test-token"

	bID := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", bDB, "--name", "personalize"))
	keys := strings.Fields(mustTracklet(t, "tracker", "sigv4", bID, "--db", bDB))
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "AWS_ACCESS_KEY_ID=") || !strings.HasPrefix(keys[1], "AWS_SECRET_ACCESS_KEY=") {
		t.Fatalf("tracker sigv4 printed %q", keys)
	}
	// B takes bodies up to 3000 bytes: the large event alone is more.
	b := startCollector(t, "--db", bDB, "--admin-token", token, "--max-body", "3000", "--relay=false",
		"--rate-limit-ip", "0", "--rate-limit-tracker", "0", "--access-log=false")
	g := &gate{down: true, downHits: make(chan struct{}, 1), holdAt: 3, held: make(chan struct{}),
		release: make(chan struct{}), answered: make(chan struct{}, 1), b: b.url}
	front := httptest.NewServer(g)
	defer front.Close()

	aID := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", aDB, "--name", "site",
		"--personalize-tracking-id", bID, "--region", "eu-west-1", "--endpoint", front.URL))
	// The SDK's credential chain finds the keys in the environment, and
	// nothing of this machine's own AWS setup.
	env := append(keys, "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_SESSION_TOKEN=")
	// At debug level A logs "relay: caught up" each time its relay has
	// sent all there is (relayIdle waits for that line).
	aArgs := []string{"--db", aDB, "--admin-token", token, "--relay-poll", "20ms", "--relay-backoff", "5ms",
		"--relay-backoff-max", "50ms", "--rate-limit-ip", "0", "--rate-limit-tracker", "0", "--access-log=false",
		"--log-level", "debug"}
	a := startCollectorEnv(t, env, aArgs...)

	// 200 events in 40 requests over 20 sessions, half with a userId, and
	// one event too large for B.
	var want []string
	for i := range 40 {
		user := ""
		if i%2 == 0 {
			user = fmt.Sprintf(`"userId":"u%d",`, i%20)
		}
		var evs []string
		for k := range 5 {
			id := fmt.Sprintf("ev-%d-%d", i, k)
			want = append(want, id)
			evs = append(evs, fmt.Sprintf(`{"eventId":%q,"eventType":"View","itemId":"i%d","sentAt":1714979289.123}`, id, k))
		}
		body := fmt.Sprintf(`{"trackingId":%q,"sessionId":"s%d",%s"eventList":[%s]}`, aID, i%20, user, strings.Join(evs, ","))
		if r := post(t, a.url, body); r.StatusCode != 200 {
			t.Fatalf("post %d: %d", i, r.StatusCode)
		}
	}
	impression := make([]string, 25)
	for i := range impression {
		impression[i] = fmt.Sprintf("%q", strings.Repeat("x", 150)+fmt.Sprint(i))
	}
	fat := fmt.Sprintf(`{"trackingId":%q,"sessionId":"fat","eventList":[{"eventId":"ev-fat","eventType":"View","impression":[%s],"sentAt":1714979289.123}]}`,
		aID, strings.Join(impression, ","))
	if r := post(t, a.url, fat); r.StatusCode != 200 {
		t.Fatalf("post fat: %d", r.StatusCode)
	}

	// B is unreachable: A retries.
	for range 3 {
		select {
		case <-g.downHits:
		case <-time.After(20 * time.Second):
			t.Fatal("A's relay did not try to reach B")
		}
	}
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
	// The third request to get through is held until A is dead: B stores
	// it, A never hears so, and its cursor stays before that window: the
	// restarted A sends the window again, and B drops what it has.
	select {
	case <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("A's relay did not reach B")
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.cmd.Wait()
	close(g.release)
	a = startCollectorEnv(t, env, aArgs...)

	// Wait until B holds every event but the large one. The gate signals
	// after each answer of B's, and keeps one signal while nobody waits:
	// an answer given before a look at B's stats shows in them, one given
	// after leaves a signal.
	deadline := time.After(60 * time.Second)
wait:
	for {
		if n, _ := adminStats(t, b.url, token, bID); n >= int64(len(want)) {
			break
		}
		select {
		case <-g.answered:
		case <-deadline:
			break wait
		}
	}
	events, duplicates := adminStats(t, b.url, token, bID)
	if events != int64(len(want)) {
		t.Fatalf("B stored %d events, want %d", events, len(want))
	}
	if duplicates == 0 {
		t.Error("B saw no duplicates: the window A was killed in was not sent again")
	}
	store, err := sqlite.Open(context.Background(), bDB, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for e, err := range store.Events(context.Background(), server.EventFilter{TrackingID: bID}) {
		if err != nil {
			t.Fatal(err)
		}
		got[*e.EventID]++
	}
	store.Close()
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("event %s is in B %d times, want once", id, got[id])
		}
	}
	if got["ev-fat"] != 0 {
		t.Error("B stored the event it should have refused")
	}

	// A recorded the refusal, and moves on without sending it again.
	relayIdle(t, a, aID, 1) // the restarted A's first backlog: all of it
	status := mustTracklet(t, "relay", "status", "--db", aDB)
	for _, s := range []string{"413", "PayloadTooLargeException", "ev-fat", "idle"} {
		if !strings.Contains(status, s) {
			t.Errorf("relay status does not show %q:\n%s", s, status)
		}
	}
	fatSends := g.sentWith("ev-fat")
	if r := post(t, a.url, fmt.Sprintf(`{"trackingId":%q,"sessionId":"late","eventList":[{"eventId":"ev-late","eventType":"View","sentAt":1714979289.123}]}`, aID)); r.StatusCode != 200 {
		t.Fatalf("post late: %d", r.StatusCode)
	}
	relayIdle(t, a, aID, 2) // its second: ev-late
	if n := g.sentWith("ev-fat"); n != fatSends {
		t.Errorf("the refused event was sent again: %d times, then %d", fatSends, n)
	}
	if n := g.sentWith("ev-late"); n != 1 {
		t.Errorf("the late event was sent %d times, want 1", n)
	}
	code, metrics := get(t, "GET", a.url+"/metrics", "")
	for _, s := range []string{
		fmt.Sprintf(`tracklet_relay_lag_events{tracking_id=%q} 0`, aID),
		fmt.Sprintf(`tracklet_relay_events_total{result="relayed",tracking_id=%q}`, aID),
	} {
		if code != 200 || !strings.Contains(metrics, s) {
			t.Errorf("/metrics (%d) lacks %s", code, s)
		}
	}
}

// relayIdle waits until collector c has logged the n-th time that the
// relay of trackingID caught up: sent, or recorded as refused, every event
// stored when it last looked.
func relayIdle(t *testing.T, c *collector, trackingID string, n int) {
	t.Helper()
	c.waitLogN(t, 30*time.Second, n, `"msg":"relay: caught up"`, trackingID)
}
