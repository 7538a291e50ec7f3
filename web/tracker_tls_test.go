package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// TestTrackerOverHTTPS: a page on an https site loads the tracker from a
// collector started with --tls-cert/--tls-key and sends events to it.
// Chromium trusts only the test certificate's key (not every certificate),
// talks HTTP/2 to the collector, from the page and from the tracker's
// Worker alike, and every event is stored once.
func TestTrackerOverHTTPS(t *testing.T) {
	ca := browsertest.NewCA(t)
	leaf := ca.Issue(t.TempDir(), "collector")
	ctx := browsertest.Browser(t, browsertest.TrustSPKI(leaf))
	collector := browsertest.StartCollector(t, "--tls-cert", leaf.CertFile, "--tls-key", leaf.KeyFile)
	site := browsertest.NewTLSSite(t, leaf)
	tid := collector.CreateTracker("https", site.URL)
	if !strings.HasPrefix(collector.URL, "https://") {
		t.Fatalf("collector at %s, want https://", collector.URL)
	}

	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, fastRetries, ""))))
	ids := browsertest.Eval[[]string](t, ctx, trackN("OverHTTPS", 50))
	waitStored(t, ctx, collector, tid, ids, 15*time.Second)
	if page := browsertest.Eval[string](t, ctx, `location.protocol`); page != "https:" {
		t.Errorf("the page is on %s, want https:", page)
	}
	noPageErrors(t, ctx)

	// How each request reached the collector, from its access log: the
	// Worker's fetches are invisible to the page's resource timing.
	protos := map[string]map[string]int{} // "METHOD /path" -> proto -> count
	for line := range strings.Lines(collector.Output()) {
		var l struct{ Msg, Method, Path, Proto string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" {
			continue
		}
		k := l.Method + " " + l.Path
		if protos[k] == nil {
			protos[k] = map[string]int{}
		}
		protos[k][l.Proto]++
	}
	t.Logf("requests by protocol: %v", protos)
	if protos["POST /events"]["HTTP/2.0"] == 0 || protos["GET /tracklet.js"]["HTTP/2.0"] == 0 {
		t.Errorf("no POST /events and GET /tracklet.js over HTTP/2 in the access log: %v", protos)
	}
	for k, ps := range protos {
		for p := range ps {
			if p != "HTTP/2.0" {
				t.Errorf("%s came over %s: %v", k, p, ps)
			}
		}
	}
}
