package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeMemoryWithAdminAPI is the CI mode: an in-memory collector whose
// admin API shows what a site tracked.
func TestServeMemoryWithAdminAPI(t *testing.T) {
	c := startCollector(t, "--memory", "--admin-token", "s3cret", "--demo")
	m := strings.SplitN(c.out.String(), "Demo trackingId: ", 2)
	for deadline := time.Now().Add(5 * time.Second); len(m) < 2 || !strings.Contains(m[1], "\n"); {
		if time.Now().After(deadline) { // the banner line follows the listening line at once
			t.Fatalf("no demo trackingId in the banner:\n%s", c.out)
		}
		time.Sleep(10 * time.Millisecond)
		m = strings.SplitN(c.out.String(), "Demo trackingId: ", 2)
	}
	tid := strings.Fields(m[1])[0]
	if resp := post(t, c.url, `{"trackingId":"`+tid+`","sessionId":"s","eventList":[{"eventType":"View","sentAt":1714979289.5}]}`); resp.StatusCode != 200 {
		t.Fatalf("post: %d", resp.StatusCode)
	}
	post(t, c.url, `{"trackingId":"`+tid+`","sessionId":"","eventList":[]}`) // rejected

	for _, p := range []string{"/v1/events", "/v1/stats", "/v1/rejected"} {
		if code, _ := get(t, "GET", c.url+p, ""); code != 401 {
			t.Errorf("GET %s without a token: %d, want 401", p, code)
		}
		if code, _ := get(t, "GET", c.url+p, "wrong"); code != 401 {
			t.Errorf("GET %s with a wrong token: %d, want 401", p, code)
		}
	}
	code, body := get(t, "GET", c.url+"/v1/events?trackingId="+tid, "s3cret")
	var page struct {
		Events []struct {
			Seq       int64   `json:"seq"`
			EventType string  `json:"eventType"`
			SentAt    float64 `json:"sentAt"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Events) != 1 ||
		page.Events[0].EventType != "View" || page.Events[0].SentAt != 1714979289.5 {
		t.Errorf("GET /v1/events: %d %s", code, body)
	}
	if code, body := get(t, "GET", c.url+"/v1/events?format=csv&trackingId="+tid, "s3cret"); code != 200 ||
		body != "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\ns,,1714979289,View,\n" {
		t.Errorf("csv: %d %q", code, body)
	}
	if code, body := get(t, "GET", c.url+"/v1/rejected", "s3cret"); code != 200 || !strings.Contains(body, "sessionId: missing or empty") {
		t.Errorf("GET /v1/rejected: %d %s", code, body)
	}
	if code, body := get(t, "GET", c.url+"/v1/stats", "s3cret"); code != 200 || !strings.Contains(body, `"eventsAccepted":1`) {
		t.Errorf("GET /v1/stats: %d %s", code, body)
	}
	if code, body := get(t, "DELETE", c.url+"/v1/events", "s3cret"); code != 200 || body != "{\"deleted\":1}\n" {
		t.Errorf("DELETE /v1/events: %d %q", code, body)
	}
	if _, body := get(t, "GET", c.url+"/v1/events", "s3cret"); !strings.Contains(body, `"events":[]`) {
		t.Errorf("after DELETE: %s", body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, "GET", c.url+p, ""); code != 200 || !strings.Contains(body, "ok") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	code, body = get(t, "GET", c.url+"/metrics", "")
	for _, want := range []string{`tracklet_events_total{result="accepted"} 1`, `tracklet_http_requests_total{code="400",route="events"} 1`,
		"tracklet_commit_duration_seconds_bucket", "tracklet_write_queue_depth"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	c.stop(t)
}

func TestRejectedCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "r"))
	c := startCollector(t, "--db", db)
	post(t, c.url, `{"trackingId":"`+tid+`","sessionId":"s","eventList":[{"eventType":"","sentAt":1}]}`)
	c.stop(t) // commits the queued rejection
	out := mustTracklet(t, "rejected", "--db", db, "--body")
	if !strings.Contains(out, "400") || !strings.Contains(out, tid) || !strings.Contains(out, "eventList[0].eventType: missing or empty") ||
		!strings.Contains(out, `body: "{\"trackingId\"`) {
		t.Errorf("tracklet rejected:\n%s", out)
	}
}

// --loader-max-age sets how long browsers keep tracklet.js; 0 has them
// revalidate it on every visit. (Needs web/dist built: make test does.)
func TestLoaderMaxAgeFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "public, max-age=300, stale-while-revalidate=86400"},
		{[]string{"--loader-max-age", "1h"}, "public, max-age=3600, stale-while-revalidate=86400"},
		{[]string{"--loader-max-age", "0"}, "no-cache"},
	} {
		c := startCollector(t, append([]string{"--memory"}, tt.args...)...)
		resp, err := http.Get(c.url + "/tracklet.js")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != tt.want {
			t.Errorf("serve %v: GET /tracklet.js %d, Cache-Control %q, want %q", tt.args, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.want)
		}
	}
}
