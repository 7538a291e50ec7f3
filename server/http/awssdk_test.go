package http_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sigv4"
	"github.com/tracklet/tracklet/server/token"
)

// This file proves issue 3's first promise with the real thing: the official
// AWS SDK for JavaScript v3 PutEvents client (pinned in
// testdata/awssdk/package.json), with nothing changed but its endpoint,
// against a real collector on a real SQLite file.

// awsSDKDir holds package.json, its lockfile and putevents.mjs.
const awsSDKDir = "testdata/awssdk"

var (
	awsSDKOnce sync.Once
	awsSDKErr  error
)

// needAWSSDK installs the SDK from the lockfile when node_modules lacks it,
// once per test process. Without node or npm the test fails: a missing
// toolchain must not pass silently (.ci/run installs Node).
func needAWSSDK(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatal(tool + " is not installed: the AWS SDK conformance test runs the official JavaScript SDK under Node 20+")
		}
	}
	awsSDKOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(awsSDKDir, "node_modules", "@aws-sdk", "client-personalize-events")); err == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = awsSDKDir
		if out, err := cmd.CombinedOutput(); err != nil {
			awsSDKErr = fmt.Errorf("npm ci in %s: %v\n%s", awsSDKDir, err, out)
		}
	})
	if awsSDKErr != nil {
		t.Fatal(awsSDKErr)
	}
}

// sdkOutcome is one line of putevents.mjs: how one SDK call ended.
type sdkOutcome struct {
	Call    string `json:"call"`
	OK      bool   `json:"ok"`
	Name    string `json:"name"`    // of the SDK's error
	Message string `json:"message"` // of the SDK's error
	Status  int    `json:"status"`  // $metadata.httpStatusCode
}

// runSDKScript runs a script of testdata/awssdk and returns its outcomes
// by call, and the calls in the order it made them.
func runSDKScript(t *testing.T, script string, args ...string) (map[string]sdkOutcome, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = awsSDKDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, out, stderr.Bytes())
	}
	t.Logf("%s:\n%s", script, out)
	got := map[string]sdkOutcome{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var o sdkOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %q of %s: %v", sc.Bytes(), script, err)
		}
		got[o.Call] = o
		order = append(order, o.Call)
	}
	return got, order
}

func TestAWSSDKPutEvents(t *testing.T) {
	needAWSSDK(t)
	e := newEnv(t)
	tid := e.tracker()

	// Put a recorder in front of the collector to see the paths the SDK
	// really posts to: an endpoint ending in a slash under a base path makes
	// it post to "/base//events", which must be served, not redirected.
	var mu sync.Mutex
	var paths []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		e.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()

	got, order := runSDKScript(t, "putevents.mjs", front.URL, tid)

	// The script makes its calls one after another with one attempt each,
	// so the n-th request the collector saw is the n-th call.
	wantPaths := map[string]string{"trailing-slash": "/events", "base-trailing-slash": "/base//events"}
	mu.Lock()
	if len(paths) != len(order) {
		t.Errorf("the collector saw %d requests for %d calls: %q", len(paths), len(order), paths)
	} else {
		for i, call := range order {
			want := "POST " + cmp.Or(wantPaths[call], "/events")
			if paths[i] != want {
				t.Errorf("%s: the SDK sent %q, want %q", call, paths[i], want)
			}
		}
	}
	mu.Unlock()

	for _, call := range []string{"valid", "retry", "trailing-slash", "base-trailing-slash"} {
		if o := got[call]; !o.OK || o.Status != 200 {
			t.Errorf("%s: got %+v, want success with 200", call, o)
		}
	}
	errorTests := []struct {
		call     string
		name     string
		status   int
		contains []string // in the collector's message, as the SDK hands it on
	}{
		{"empty-eventType", "InvalidInputException", 400, []string{"eventList[0].eventType", "missing or empty"}},
		{"11-events", "InvalidInputException", 400, []string{"eventList", "more than 10"}},
		{"long-properties", "InvalidInputException", 400, []string{"eventList[0].properties", "1024"}},
		{"unknown-trackingId", "ResourceNotFoundException", 404, []string{`trackingId "no-such-tracker"`, "no such tracker"}},
	}
	for _, tt := range errorTests {
		o, ok := got[tt.call]
		if !ok {
			t.Errorf("%s: no outcome from putevents.mjs", tt.call)
			continue
		}
		if o.OK || o.Name != tt.name || o.Status != tt.status {
			t.Errorf("%s: got %+v, want the SDK's %s with status %d", tt.call, o, tt.name, tt.status)
		}
		for _, s := range tt.contains {
			if !strings.Contains(o.Message, s) {
				t.Errorf("%s: message %q does not name %q", tt.call, o.Message, s)
			}
		}
	}
	if len(got) != 4+len(errorTests) {
		t.Errorf("putevents.mjs reported %d calls, want %d: %q", len(got), 4+len(errorTests), order)
	}

	// The retry is stored once; the refused calls store nothing.
	rows := e.rows()
	if len(rows) != 3 {
		t.Fatalf("stored %d rows, want 3 (valid once despite its retry, and the two trailing-slash calls): %+v",
			len(rows), rows)
	}
	for i, want := range []struct {
		eventID string
		sentAt  int64
	}{{"sdk-ev-1", 1714979289123}, {"sdk-ev-slash", 1714979290000}, {"sdk-ev-base", 1714979291500}} {
		r := rows[i]
		checks := []struct {
			name      string
			got, want any
		}{
			{"tracking_id", r.TrackingID, tid},
			{"event_id", r.EventID, want.eventID},
			{"session_id", r.SessionID, "sdk-sess"},
			{"user_id", r.UserID.String, "sdk-user"},
			{"event_type", r.EventType, "MovieRating"},
			{"event_value", r.EventValue.Float64, 4.5},
			{"item_id", r.ItemID.String, "movie2"},
			{"impression", r.Impression.String, `["movie1","movie2","movie3"]`},
			{"recommendation_id", r.RecommendationID.String, "rec-9"},
			{"metric_attribution", r.MetricAttribution.String, `{"eventAttributionSource":"home-carousel"}`},
			{"properties", r.Properties.String, `{"itemId":"movie2","numberOfRatings":"12"}`},
			// The SDK sends a Date as epoch seconds with the milliseconds as
			// the fraction; the collector must keep every millisecond.
			{"sent_at_ms", r.SentAtMs, want.sentAt},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("row %d %s = %v, want %v", i, c.name, c.got, c.want)
			}
		}
	}
}

// TestAWSSDKSigV4 signs PutEvents with the official JavaScript SDK against
// a tracker that requires SigV4: its signature verifies, and each way of
// getting it wrong is refused 403 with the error AWS would name.
func TestAWSSDKSigV4(t *testing.T) {
	needAWSSDK(t)
	e := newEnv(t, func(c *trackhttp.Config) { c.SigV4 = sigv4.Verifier{} })
	tid := e.tracker()
	key := token.NewAccessKey()
	if err := e.db.SetTrackerSigV4(context.Background(), tid, key); err != nil {
		t.Fatal(err)
	}
	got, order := runSDKScript(t, "sigv4.mjs", e.url, tid, key.ID, key.Secret)
	if o := got["signed"]; !o.OK || o.Status != 200 {
		t.Errorf("signed: got %+v, want success with 200", o)
	}
	for _, tt := range []struct{ call, name, contains string }{
		{"wrong-secret", "InvalidSignatureException", "does not match the signature you provided"},
		{"unknown-key", "UnrecognizedClientException", "security token included in the request is invalid"},
		{"stale-date", "InvalidSignatureException", "Signature expired"},
		{"missing-auth", "MissingAuthenticationTokenException", "Missing Authentication Token"},
	} {
		o := got[tt.call]
		if o.OK || o.Status != 403 || o.Name != tt.name || !strings.Contains(o.Message, tt.contains) {
			t.Errorf("%s: got %+v, want the SDK's %s with 403 and a message naming %q", tt.call, o, tt.name, tt.contains)
		}
	}
	if len(order) != 5 {
		t.Errorf("sigv4.mjs reported %d calls, want 5: %q", len(order), order)
	}
	rows := e.rows()
	if len(rows) != 1 || rows[0].EventID != "sigv4-ok" {
		t.Errorf("stored %+v, want only the signed call's event sigv4-ok", rows)
	}
}
