package http_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/live"
	"github.com/tracklet/tracklet/server/relay"
	"github.com/tracklet/tracklet/server/sqlite"
)

const adminToken = "s3cret-admin-token"

var auth = map[string]string{"Authorization": "Bearer " + adminToken}

// dashEnv is a collector with everything the dashboard reads on, its live
// feed polling only hourly: whatever a stream shows within a test came
// through the ingest hook, not a poll.
func dashEnv(t *testing.T, token string) *env {
	t.Helper()
	var feed *live.Feed
	e := newEnv(t, func(cfg *trackhttp.Config) {
		db := cfg.Store.(*sqlite.DB)
		feed = live.NewFeed(db, live.NewHub(0, 0), time.Hour, nil)
		withDashboard(cfg, db, feed)
		cfg.AdminToken = token
	})
	// Registered after newEnv's cleanup, so it runs first: the feed's end
	// closes open streams, which the test server waits for.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { feed.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// withDashboard configures the stores of every admin route and the
// dashboard's page, as `tracklet serve` does.
func withDashboard(cfg *trackhttp.Config, db *sqlite.DB, feed *live.Feed) {
	cfg.Admin, cfg.Trackers, cfg.Dashboard, cfg.Feed = db, db, db, liveFeed{feed}
	cfg.Relay = relay.Admin{Store: db}
	cfg.DashboardPage = fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html><title>dashboard</title>")},
		"dashboard.js":  {Data: []byte("// js")},
		"dashboard.css": {Data: []byte("/* css */")},
	}
}

// liveFeed is package live's Feed as Config.Feed takes it (as in
// server/cmd/tracklet).
type liveFeed struct{ *live.Feed }

func (f liveFeed) Subscribe(ctx context.Context, filter server.StreamFilter) (trackhttp.Subscription, error) {
	s, err := f.Feed.Subscribe(ctx, filter)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func TestDashboardRequiresToken(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid := e.tracker()
	apis := []struct{ method, path string }{
		{"GET", "/v1/trackers"},
		{"POST", "/v1/trackers"},
		{"GET", "/v1/traffic?trackingId=" + tid},
		{"GET", "/v1/rejected?trackingId=" + tid},
		{"GET", "/v1/stream?trackingId=" + tid},
	}
	refused := []map[string]string{
		nil,
		{"Authorization": "Bearer wrong"},
		{"Authorization": "Bearer " + adminToken + "x"},
		{"Authorization": "Basic " + adminToken},
		{"Authorization": adminToken},
		{"Authorization": "Bearer "},
	}
	for _, api := range apis {
		for _, h := range refused {
			r := e.do(api.method, api.path, []byte(`{"name":"x"}`), h)
			if r.status != http.StatusUnauthorized || !strings.Contains(r.message, "admin token") {
				t.Errorf("%s %s with %v: %d %q, want 401 naming the admin token", api.method, api.path, h, r.status, r.message)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", api.method, api.path)
			}
		}
	}
	if trackers, _ := e.db.Trackers(context.Background()); len(trackers) != 1 {
		t.Errorf("refused POSTs created trackers: %d trackers", len(trackers))
	}
	if r := e.do("GET", "/v1/trackers", nil, auth); r.status != http.StatusOK {
		t.Errorf("with the token: %d %s", r.status, r.body)
	}
}

// Without a configured token, nothing is authorised, not even an empty one.
func TestDashboardWithoutConfiguredTokenRefusesAll(t *testing.T) {
	e := dashEnv(t, "")
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}} {
		r := e.do("GET", "/v1/trackers", nil, h)
		if r.status != http.StatusUnauthorized || !strings.Contains(r.message, "--admin-token") {
			t.Errorf("with %v: %d %q, want 401 explaining how to turn it on", h, r.status, r.message)
		}
	}
}

// The page is a shell without data: served without a token, locked down
// with a Content-Security-Policy.
func TestDashboardPage(t *testing.T) {
	e := dashEnv(t, adminToken)
	for _, p := range []string{"/dashboard", "/dashboard/", "/dashboard/dashboard.js", "/dashboard/dashboard.css"} {
		r := e.do("GET", p, nil, nil)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d", p, r.status)
			continue
		}
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", p, csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", p)
		}
	}
	if r := e.do("GET", "/dashboard", nil, nil); !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("page Content-Type %q", r.header.Get("Content-Type"))
	}
	if r := e.do("GET", "/dashboard/dashboard.js", nil, nil); !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("script Content-Type %q", r.header.Get("Content-Type"))
	}
	for _, p := range []string{"/dashboard/nope.js", "/dashboard/a/b", "/v1/dashboard/stats", "/v1/nope"} {
		if r := e.do("GET", p, nil, auth); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/dashboard", "GET, HEAD"},
		{"DELETE", "/v1/trackers", "GET, HEAD, POST"},
		{"POST", "/v1/stream", "GET, HEAD"},
	} {
		r := e.do(c.method, c.path, nil, auth)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, r.status, r.header.Get("Allow"), c.allow)
		}
	}
}

func TestDashboardTrackers(t *testing.T) {
	e := dashEnv(t, adminToken)
	r := e.do("POST", "/v1/trackers", []byte(`{"name":" Shop ","origins":["https://Shop.example/","http://127.0.0.1:8080"]}`), auth)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		TrackingID string
		Name       string
		Origins    []string
		CreatedAt  int64
	}
	json.Unmarshal([]byte(r.body), &created)
	if !strings.HasPrefix(created.TrackingID, "tk_") || created.Name != "Shop" ||
		fmt.Sprint(created.Origins) != "[https://shop.example http://127.0.0.1:8080]" || created.CreatedAt == 0 {
		t.Errorf("created %+v", created)
	}
	stored, err := e.db.Tracker(context.Background(), created.TrackingID)
	if err != nil || stored.Name != "Shop" || len(stored.Origins) != 2 {
		t.Fatalf("stored tracker %+v, %v", stored, err)
	}
	// Any origin: an empty list.
	if r := e.do("POST", "/v1/trackers", []byte(`{"name":"server-side"}`), auth); r.status != http.StatusCreated || !strings.Contains(r.body, `"origins":[]`) {
		t.Errorf("create without origins: %d %s", r.status, r.body)
	}

	list := e.do("GET", "/v1/trackers", nil, auth)
	var got struct {
		Trackers []struct{ TrackingID, Name string }
	}
	json.Unmarshal([]byte(list.body), &got)
	if len(got.Trackers) != 2 || got.Trackers[0].TrackingID != created.TrackingID || got.Trackers[1].Name != "server-side" {
		t.Errorf("list: %s", list.body)
	}

	origins := func(n int) string {
		o := make([]string, n)
		for i := range o {
			o[i] = fmt.Sprintf(`"https://s%d.example"`, i)
		}
		return "[" + strings.Join(o, ",") + "]"
	}
	tests := []struct {
		body      string
		wantField string // "" means accepted
	}{
		{`{"name":""}`, "name:"},
		{`{"name":"   "}`, "name:"},
		{`{}`, "name:"},
		{`{"name":"` + strings.Repeat("é", 256) + `"}`, ""},
		{`{"name":"` + strings.Repeat("é", 257) + `"}`, "name:"},
		{`{"name":"x","origins":["shop.example"]}`, "origins[0]:"},
		{`{"name":"x","origins":["https://ok.example","https://a.example/path"]}`, "origins[1]:"},
		{`{"name":"x","origins":["javascript:alert(1)"]}`, "origins[0]:"},
		{`{"name":"x","origins":` + origins(100) + `}`, ""},
		{`{"name":"x","origins":` + origins(101) + `}`, "origins:"},
		{`{"name":`, "body:"},
		{`["x"]`, "body:"},
		{`{"name":"x","pad":"` + strings.Repeat("a", 64<<10) + `"}`, "body:"},
	}
	for _, tt := range tests {
		before, _ := e.db.Trackers(context.Background())
		r := e.do("POST", "/v1/trackers", []byte(tt.body), auth)
		after, _ := e.db.Trackers(context.Background())
		short := tt.body[:min(len(tt.body), 60)]
		if tt.wantField == "" {
			if r.status != http.StatusCreated {
				t.Errorf("%s: %d %s, want 201", short, r.status, r.message)
			}
			continue
		}
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.message, tt.wantField) {
			t.Errorf("%s: %d %q, want 400 starting %q", short, r.status, r.message, tt.wantField)
		}
		if len(after) != len(before) {
			t.Errorf("%s: a refused request created a tracker", short)
		}
	}
}

type stats struct {
	TrackingID  string
	From, Now   int64
	PerMinute   []int64
	Events      int64
	ByEventType []struct {
		EventType string
		Count     int64
	}
	Duplicates     int64
	Rejected       int64
	ActiveSessions int64
	MedianDelayMs  *int64
	ClockSkewMs    *int64
}

func (e *env) stats(tid string) stats {
	e.t.Helper()
	r := e.do("GET", "/v1/traffic?trackingId="+tid, nil, auth)
	if r.status != http.StatusOK {
		e.t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var s stats
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestDashboardStats(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid := e.tracker()
	// (Stats are cached for a few times what they cost to read, so this
	// reads another tracker's rather than tid's before the posts below.)
	empty := e.stats(e.tracker())
	if len(empty.PerMinute) != 60 || empty.Events != 0 || empty.MedianDelayMs != nil || empty.ClockSkewMs != nil {
		t.Errorf("no events yet: %+v", empty)
	}

	now := time.Now()
	sent := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(now.Add(-d).UnixMilli())/1000) }
	b := body(tid,
		`{"eventId":"a","eventType":"View","sentAt":`+sent(2*time.Second)+`}`,
		`{"eventId":"b","eventType":"View","sentAt":`+sent(2*time.Second)+`}`,
		`{"eventId":"c","eventType":"MovieRating","sentAt":`+sent(2*time.Second)+`}`)
	if r := e.post(b, nil); r.status != http.StatusOK {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	e.post(b, nil) // a retry: three duplicates
	e.post(body(tid, `{"eventType":""}`), nil)
	e.rejections(1)

	s := e.stats(tid)
	if s.Events != 3 || s.PerMinute[59] != 3 {
		t.Errorf("events %d, this minute %d; want 3", s.Events, s.PerMinute[59])
	}
	if fmt.Sprint(s.ByEventType) != "[{View 2} {MovieRating 1}]" {
		t.Errorf("byEventType %v", s.ByEventType)
	}
	if s.Duplicates != 3 || s.Rejected != 1 || s.ActiveSessions != 1 {
		t.Errorf("duplicates %d, rejected %d, sessions %d; want 3, 1, 1", s.Duplicates, s.Rejected, s.ActiveSessions)
	}
	if s.MedianDelayMs == nil || *s.MedianDelayMs < 1900 || *s.MedianDelayMs > 10000 {
		t.Errorf("median delay %v ms, want about 2000", s.MedianDelayMs)
	}
	if other := e.stats(e.tracker()); other.Events != 0 || other.Duplicates != 0 || other.Rejected != 0 {
		t.Errorf("another tracker sees this one's traffic: %+v", other)
	}
	for _, q := range []string{"", "?trackingId=", "?trackingId=" + strings.Repeat("x", 257)} {
		if r := e.do("GET", "/v1/traffic"+q, nil, auth); r.status != http.StatusBadRequest || !strings.HasPrefix(r.message, "trackingId:") {
			t.Errorf("stats%s: %d %q", q, r.status, r.message)
		}
	}
	// The id rule counts characters: 256 of two bytes each is a trackingId.
	if r := e.do("GET", "/v1/traffic?trackingId="+url.QueryEscape(strings.Repeat("é", event.MaxIDLength)), nil, auth); r.status != http.StatusOK {
		t.Errorf("stats of a 256-character trackingId: %d %q", r.status, r.message)
	}

	rej := e.do("GET", "/v1/rejected?trackingId="+tid+"&limit=10", nil, auth)
	var rl struct {
		Rejected []struct {
			Status       int
			Reason, Body string
		}
	}
	json.Unmarshal([]byte(rej.body), &rl)
	if len(rl.Rejected) != 1 || rl.Rejected[0].Status != 400 || !strings.Contains(rl.Rejected[0].Reason, "eventType") ||
		!strings.Contains(rl.Rejected[0].Body, `"eventType":""`) {
		t.Errorf("rejected: %s", rej.body)
	}
	for _, l := range []string{"-1", "1001", "x"} {
		if r := e.do("GET", "/v1/rejected?trackingId="+tid+"&limit="+l, nil, auth); r.status != http.StatusBadRequest ||
			!strings.HasPrefix(r.message, "limit:") {
			t.Errorf("limit=%s: %d %q", l, r.status, r.message)
		}
	}
	if r := e.do("GET", "/v1/rejected?trackingId="+tid+"&limit=1000", nil, auth); r.status != http.StatusOK {
		t.Errorf("limit=1000: %d", r.status)
	}
}

// sse is a client of the live stream.
type sse struct {
	resp *http.Response
	msgs chan sseMsg
}

type sseMsg struct{ id, event, data string }

func (e *env) stream(query string, headers map[string]string) *sse {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		resp.Body.Close()
		e.t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{resp: resp, msgs: make(chan sseMsg, 100)}
	e.t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.msgs)
		sc := bufio.NewScanner(resp.Body)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.data != "" {
					s.msgs <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			}
		}
	}()
	return s
}

// next returns the next message's event type and eventId (or data).
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			t.Fatal("stream ended")
		}
		if m.event != "event" {
			return m.event, m.data
		}
		var ev struct {
			Seq   int64
			Event struct{ EventID, EventType, Properties string }
		}
		if err := json.Unmarshal([]byte(m.data), &ev); err != nil {
			t.Fatalf("data %q: %v", m.data, err)
		}
		if m.id != fmt.Sprint(ev.Seq) {
			t.Errorf("id %q but seq %d", m.id, ev.Seq)
		}
		return ev.Event.EventType, ev.Event.EventID
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
	}
	return "", ""
}

// quiet checks that s has nothing more to say before marker, the eventId
// of an event the test stored just now: events arrive in the order they
// were stored, so anything unexpected would come first.
func (s *sse) quiet(t *testing.T, marker string) {
	t.Helper()
	if _, id := s.next(t); id != marker {
		t.Errorf("unexpected message %s before the marker %s", id, marker)
	}
}

func TestDashboardStream(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid, other := e.tracker(), e.tracker()
	ev := func(id, typ string) string {
		return `{"eventId":"` + id + `","eventType":"` + typ + `","sentAt":` + fmt.Sprint(time.Now().Unix()) + `}`
	}
	e.post(body(tid, ev("old1", "View"), ev("old2", "Rate"), ev("old3", "View")), nil)

	all := e.stream("trackingId="+tid+"&backlog=2", nil)
	views := e.stream("trackingId="+tid+"&eventType=View", nil)
	for _, want := range []string{"old2", "old3"} { // the newest 2, oldest first
		if _, id := all.next(t); id != want {
			t.Errorf("backlog: %s, want %s", id, want)
		}
	}
	for _, want := range []string{"old1", "old3"} {
		if _, id := views.next(t); id != want {
			t.Errorf("View backlog: %s, want %s", id, want)
		}
	}

	e.post(body(tid, ev("new1", "Rate"), ev("new2", "View")), nil)
	e.post(body(other, ev("elsewhere", "View")), nil)
	e.post(body(tid, ev("new1", "Rate")), nil) // a duplicate: never shown
	for _, want := range []string{"new1", "new2"} {
		if _, id := all.next(t); id != want {
			t.Errorf("live: %s, want %s", id, want)
		}
	}
	if _, id := views.next(t); id != "new2" {
		t.Errorf("View live: %s, want new2", id)
	}
	e.post(body(tid, ev("mark1", "View")), nil)
	all.quiet(t, "mark1")
	views.quiet(t, "mark1")

	// Resuming after the second event (seqs start at 1 on a fresh
	// database): the third and the two new ones.
	resumed := e.stream("trackingId="+tid, map[string]string{"Last-Event-ID": "2"})
	for _, want := range []string{"old3", "new1", "new2", "mark1"} {
		if _, id := resumed.next(t); id != want {
			t.Errorf("resumed: %s, want %s", id, want)
		}
	}
	e.post(body(tid, ev("mark2", "View")), nil)
	for _, s := range []*sse{resumed, all, views} {
		s.quiet(t, "mark2")
	}

	// Values are data, whatever they contain.
	nasty := `{"eventId":"x1","eventType":"View","sentAt":` + fmt.Sprint(time.Now().Unix()) +
		`,"properties":"{\"note\":\"<img src=x onerror=alert(1)></script>\"}"}`
	if r := e.post(body(tid, nasty), nil); r.status != http.StatusOK {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	if _, id := all.next(t); id != "x1" {
		t.Errorf("got %s, want x1", id)
	}
}

func TestDashboardStreamBadRequests(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid := e.tracker()
	for _, c := range []struct {
		query, lastID, want string
	}{
		{"", "", "trackingId:"},
		{"tracker=" + tid, "", "trackingId:"}, // the old name
		{"trackingId=" + tid + "&backlog=501", "", "backlog:"},
		{"trackingId=" + tid + "&backlog=-1", "", "backlog:"},
		{"trackingId=" + tid, "abc", "Last-Event-ID:"},
		{"trackingId=" + tid, "-5", "Last-Event-ID:"},
	} {
		h := map[string]string{"Authorization": "Bearer " + adminToken}
		if c.lastID != "" {
			h["Last-Event-ID"] = c.lastID
		}
		r := e.do("GET", "/v1/stream?"+c.query, nil, h)
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.message, c.want) {
			t.Errorf("%s (Last-Event-ID %q): %d %q, want 400 %s", c.query, c.lastID, r.status, r.message, c.want)
		}
	}
}

// Open streams end when the collector shuts down, rather than hold
// http.Server.Shutdown until its deadline.
func TestDashboardStreamEndsOnShutdown(t *testing.T) {
	var feed *live.Feed
	e := newEnv(t, func(cfg *trackhttp.Config) {
		feed = live.NewFeed(cfg.Store.(*sqlite.DB), live.NewHub(0, 0), time.Hour, nil)
		withDashboard(cfg, cfg.Store.(*sqlite.DB), feed)
		cfg.AdminToken = adminToken
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { feed.Run(ctx); close(done) }()
	s := e.stream("trackingId="+e.tracker(), nil)
	cancel()
	<-done
	select {
	case _, ok := <-s.msgs:
		if ok {
			t.Error("a message instead of the end of the stream")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open 5 s after the feed stopped")
	}
	if r := e.do("GET", "/v1/stream?trackingId=x", nil, auth); r.status != http.StatusServiceUnavailable {
		t.Errorf("a stream opened after shutdown: %d", r.status)
	}
}

// A stream outlives the server's read and write timeouts, which are meant
// for ordinary requests.
func TestDashboardStreamOutlivesServerTimeouts(t *testing.T) {
	var cfg trackhttp.Config
	e := newEnv(t, func(c *trackhttp.Config) { cfg = *c })
	db := cfg.Store.(*sqlite.DB)
	feed := live.NewFeed(db, live.NewHub(0, 0), time.Hour, nil)
	withDashboard(&cfg, db, feed)
	cfg.AdminToken = adminToken
	srv := httptest.NewUnstartedServer(trackhttp.NewHandler(cfg))
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { feed.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	e.url, e.client = srv.URL, srv.Client()

	tid := e.tracker()
	s := e.stream("trackingId="+tid, nil)
	// A connection opened after the stream, sending half a request, is cut
	// once its read deadline passes; the stream's deadlines, of the same
	// length and set earlier, have passed by then.
	canary, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	io.WriteString(canary, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	canary.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, canary); err != nil {
		t.Fatalf("the server did not cut a half-sent request: %v", err)
	}
	// The event goes in through a server of its own, without the tight
	// timeouts, which a loaded machine may take to read a POST: they are
	// the stream's test, not the post's. It shares the store and the feed.
	plain := httptest.NewServer(trackhttp.NewHandler(cfg))
	defer plain.Close()
	e.url, e.client = plain.URL, plain.Client()
	e.post(body(tid, `{"eventId":"late","eventType":"View","sentAt":`+fmt.Sprint(time.Now().Unix())+`}`), nil)
	if _, id := s.next(t); id != "late" {
		t.Errorf("got %s, want late", id)
	}
}
