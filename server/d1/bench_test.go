//go:build !js

package d1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/d1"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// BenchmarkInsert stores a full queue batch (100 requests of 10 events)
// per iteration on SQLite with D1's variable limit, the two ways: the
// statement per 7 events of bound values the consumer used to send, and
// Insert's one json_each statement. The old way's values are prepared
// outside the timer, so its figure is, if anything, flattering. On D1 each
// statement is also a round trip and one of the invocation's 50 (free) or
// 1,000 queries, which this leaves out.
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
				b.StopTimer()
				rows := valuesRows(b, batches)
				b.StartTimer()
				for len(rows) > 0 {
					n := min(len(rows), 7)
					var args []any
					for _, r := range rows[:n] {
						args = append(args, r...)
					}
					if _, err := sqldb.ExecContext(ctx, insertValuesSQL(n), args...); err != nil {
						b.Fatal(err)
					}
					statements++
					rows = rows[n:]
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(statements)/float64(b.N), "statements/batch")
		})
	}
}

// insertValuesSQL is the INSERT of n rows of bound values the consumer used
// to send: 14 variables a row, so at most 7 rows under D1's 100.
func insertValuesSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", sqlstore.ColumnsPerEvent), ",") + ")"
	return "INSERT INTO events (" + sqlstore.EventColumns + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", n), ",") + " ON CONFLICT (tracking_id, event_id) DO NOTHING"
}

// valuesRows returns the batches' events as rows of bound values, built
// as Insert builds them.
func valuesRows(b *testing.B, batches []*server.Batch) [][]any {
	var out [][]any
	for _, bt := range batches {
		for i := range bt.Request.EventList {
			row, err := sqlstore.AppendEventArgs(sqlstore.AppendRequestArgs(nil, bt), bt, &bt.Request.EventList[i])
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, row)
		}
	}
	return out
}
