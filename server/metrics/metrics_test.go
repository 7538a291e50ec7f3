package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/metrics"
	"github.com/tracklet/tracklet/server/sqlite"
)

// A file database's commits and WAL checkpoints show up on /metrics: the
// commit counter, the checkpoints by mode and the WAL's size.
func TestStoreMetrics(t *testing.T) {
	ctx := t.Context()
	m := metrics.New(nil)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"),
		sqlite.Options{Observer: m, CheckpointInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m.WatchQueue(db.QueueDepth)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	for i := range 3 {
		r := &event.Request{TrackingID: "tk", SessionID: "s", EventList: []event.Event{
			{EventID: event.String("e" + strconv.Itoa(i)), EventType: "View", SentAt: 1714979289}}}
		if _, err := db.PutEvents(ctx, &server.Batch{Request: r, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	value := func(body, series string) (float64, bool) {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
		match := re.FindStringSubmatch(body)
		if match == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(match[1], 64)
		return v, err == nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		commits, _ := value(body, `tracklet_commits_total{result="ok"}`)
		ckpts, _ := value(body, `tracklet_checkpoints_total{mode="PASSIVE",result="ok"}`)
		frames, framesOK := value(body, `tracklet_wal_frames`)
		_, depthOK := value(body, `tracklet_write_queue_depth`)
		if commits >= 3 && ckpts >= 1 && framesOK && frames > 0 && depthOK &&
			regexp.MustCompile(`tracklet_checkpoint_duration_seconds_count\{mode="PASSIVE"\} [1-9]`).MatchString(body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after 3 commits and checkpoints every 1 ms: commits=%v checkpoints=%v walFrames=%v (%v) queue gauge %v\n%s",
				commits, ckpts, frames, framesOK, depthOK, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
