package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/internal/conformance"
	"github.com/tracklet/tracklet/server/sqlite"
)

// TestConformance runs the refusals table the Cloudflare Worker's suite
// also runs (server/internal/conformance) against this package's handler
// on a real SQLite file, so that the two collectors answer alike. Beyond
// the table it checks what is native: every answer has an
// x-amzn-RequestId, nothing is stored, and every refused PutEvents is in
// the rejected-requests log with the message it was answered.
func TestConformance(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conformance.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tr conformance.Trackers
	for _, c := range []struct {
		id      *string
		origins []string
	}{{&tr.Open, nil}, {&tr.Shop, []string{conformance.ShopOrigin}}, {&tr.Off, nil}} {
		created, err := db.CreateTracker(ctx, "conformance", c.origins)
		if err != nil {
			t.Fatal(err)
		}
		*c.id = created.ID
	}
	if err := db.SetTrackerDisabled(ctx, tr.Off, true); err != nil {
		t.Fatal(err)
	}
	h := trackhttp.NewHandler(trackhttp.Config{Store: db, Rejected: db,
		Limits: trackhttp.Limits{MaxBodyBytes: conformance.MaxBodyBytes, MaxDecodedBytes: conformance.MaxBodyBytes}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if w.Header().Get("x-amzn-RequestId") == "" {
			t.Errorf("%s %s: answered without x-amzn-RequestId", r.Method, r.URL)
		}
	}))
	defer srv.Close()

	conformance.Run(t, srv.URL, tr, conformance.Refusals)

	for e, err := range db.Events(ctx, server.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("a refused request stored event %+v", e)
	}

	// Every refused PutEvents is logged, with the message it was answered;
	// the log is written asynchronously, so wait for it.
	expand := strings.NewReplacer("{open}", tr.Open, "{shop}", tr.Shop, "{off}", tr.Off)
	var want []string
	for _, c := range conformance.Refusals {
		if (c.Method == "" || c.Method == http.MethodPost) && c.Type != "UnknownOperationException" {
			want = append(want, expand.Replace(c.Message))
		}
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		rej, err := db.Rejected(ctx, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, r := range rej {
			got = append(got, r.Reason)
		}
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rejected log holds %d reasons, want %d:\n got  %q\n want %q", len(got), len(want), got, want)
	}
}
