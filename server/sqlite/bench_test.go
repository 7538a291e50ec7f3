package sqlite

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// BenchmarkPutEvents measures the store alone: 64 goroutines putting
// batches of ten events into a file database, each waiting for its durable
// group commit, as the collector's handlers do under load. ns/op is per
// batch; events/s is what the store sustains on this machine.
//
//	go test ./server/sqlite -run '^$' -bench PutEvents -cpuprofile cpu.out
func BenchmarkPutEvents(b *testing.B) {
	db := openFile(b, filepath.Join(b.TempDir(), "bench.db"), Options{})
	tr, err := db.CreateTracker(b.Context(), "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(32) // 64 on two cores
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			req := &event.Request{TrackingID: tr.ID, SessionID: fmt.Sprint("s", i%64), UserID: event.String("u1")}
			for k := range event.MaxEvents {
				req.EventList = append(req.EventList, event.Event{
					EventID: event.String(fmt.Sprintf("c%d-%d-%d", i%64, i, k)), EventType: "MovieRating",
					ItemID: event.String(fmt.Sprint("movie", k)), EventValue: event.Float(4.5),
					Properties: event.String(`{"numberOfRatings":"12"}`), SentAt: 1714979289.123,
				})
			}
			res, err := db.PutEvents(b.Context(), &server.Batch{Request: req, ReceivedAt: time.Now()})
			if err != nil || res.Accepted != event.MaxEvents {
				b.Errorf("put: %+v, %v", res, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*event.MaxEvents)/time.Since(start).Seconds(), "events/s")
}
