package conformance_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/internal/conformance"
	"github.com/tracklet/tracklet/server/sqlite"
)

// TestNativeCollector runs the table against the native collector: the
// handler of server/http on a SQLite file. server/worker runs the same
// table against the Cloudflare Worker.
func TestNativeCollector(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tracklet.db"), sqlite.Options{})
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
	srv := httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Store: db, Rejected: db}))
	defer srv.Close()

	conformance.Run(t, srv.URL, tr, conformance.Refusals)

	for e, err := range db.Events(ctx, server.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("a refused request stored event %+v", e)
	}
}
