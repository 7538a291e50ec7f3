//go:build !js

package d1_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/d1"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// BenchmarkInsert stores a full queue batch (100 requests of 10 events)
// per iteration on SQLite with D1's variable limit, the two ways: the
// statement per 7 events the consumer used to send, and Insert's one
// json_each statement. On D1 each statement is also a round trip and one
// of the invocation's 50 (free) or 1,000 queries, which this leaves out.
func BenchmarkInsert(b *testing.B) {
	now := time.UnixMilli(1714979289123)
	for _, way := range []string{"values-7-rows", "json_each"} {
		b.Run(way, func(b *testing.B) {
			sqldb := openD1(b)
			db := d1.New(sqldb)
			ctx := context.Background()
			statements := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var batches []*server.Batch
				for r := range 100 {
					batches = append(batches, batch(b, "tk_a", fmt.Sprintf("i%d-r%d", i, r), 10, now))
				}
				b.StartTimer()
				if way == "json_each" {
					res, err := db.Insert(ctx, batches)
					if err != nil || res.Accepted != 1000 {
						b.Fatal(res, err)
					}
					statements += res.Statements
					continue
				}
				var args []any
				rows := 0
				for _, bt := range batches {
					for j := range bt.Request.EventList {
						args, _ = sqlstore.AppendEventArgs(args, bt, &bt.Request.EventList[j])
						if rows++; rows == 7 {
							if _, err := sqldb.ExecContext(ctx, sqlstore.InsertEventsSQL(rows), args...); err != nil {
								b.Fatal(err)
							}
							statements++
							args, rows = args[:0], 0
						}
					}
				}
				if rows > 0 {
					if _, err := sqldb.ExecContext(ctx, sqlstore.InsertEventsSQL(rows), args...); err != nil {
						b.Fatal(err)
					}
					statements++
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(statements)/float64(b.N), "statements/batch")
		})
	}
}
