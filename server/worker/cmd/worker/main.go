//go:build js && wasm

// Command worker is Tracklet's collector as a Cloudflare Worker: the
// PutEvents API of package http on a D1 database, with accepted batches
// passed through a Cloudflare Queue to a consumer in this same worker.
//
// The loader (server/worker/loader/worker.mjs) starts this program once per
// pooled instance and hands it invocation after invocation (see package
// isolate), so main wires everything up once. Nothing here keeps a binding
// of one invocation for the next: D1 and the Queue are looked up in the
// current invocation's env each time they are used.
//
// Build it with server/worker/build.sh (make worker).
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"os"

	"github.com/syumai/workers/cloudflare"
	cfd1 "github.com/syumai/workers/cloudflare/d1"
	"github.com/syumai/workers/cloudflare/queues"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/worker"
	"github.com/tracklet/tracklet/server/worker/d1"
	"github.com/tracklet/tracklet/server/worker/isolate"
)

// Binding names, as in wrangler.jsonc.
const (
	dbBinding    = "DB"
	queueBinding = "EVENTS"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)) // workerd shows stdout as console.log
	sqldb := sql.OpenDB(envConnector{dbBinding})
	// No idle connections: each query opens one on the env of the
	// invocation it runs in.
	sqldb.SetMaxIdleConns(0)
	db := d1.New(sqldb)

	isolate.Consume(func(_ *isolate.Invocation, batch *queues.MessageBatch) error {
		return consume(log, db, batch)
	})

	spawn := func(f func()) {
		if !isolate.Current().WaitUntil(f) {
			log.Warn("background task dropped: its invocation has ended")
		}
	}
	isolate.Serve(worker.RejoinHeaders(trackhttp.NewHandler(trackhttp.Config{
		Store:    &worker.Store{DB: db, Queue: envQueue{queueBinding}},
		Rejected: &worker.RejectionLog{DB: db, Spawn: spawn, Log: log},
		// The read/admin API (/v1/events, /v1/stats, /v1/rejected) is on
		// when the ADMIN_TOKEN secret is set (wrangler secret put). Vars and
		// secrets belong to a deployment, and so does the isolate: reading
		// it once, in the first invocation, reads every invocation's.
		AdminToken: cloudflare.Getenv("ADMIN_TOKEN"),
		Admin:      db,
		Logger:     log,
	})))
	isolate.Run()
}

// envConnector opens D1 connections on the binding of the current
// invocation's env.
type envConnector struct{ binding string }

func (c envConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cfd1.OpenConnector(c.binding)
	if err != nil {
		return nil, err
	}
	return conn.Connect(ctx)
}

func (envConnector) Driver() driver.Driver { return &cfd1.Driver{} }

// envQueue sends messages as text (the queue carries JSON we encode
// ourselves) to the producer binding of the current invocation's env.
type envQueue struct{ binding string }

func (q envQueue) Send(_ context.Context, body string) error {
	p, err := queues.NewProducer(q.binding)
	if err != nil {
		return err
	}
	return p.SendText(body)
}

// consume writes a batch of queue messages (accepted requests) to D1.
// A message that cannot be decoded is retried on its own, so that after
// max_retries it lands in the dead-letter queue for inspection instead of
// holding up the others. If D1 fails, every message is retried; the unique
// index makes the events already stored duplicates.
func consume(log *slog.Logger, db *d1.DB, batch *queues.MessageBatch) error {
	var (
		batches []*server.Batch
		good    []*queues.Message
	)
	for _, m := range batch.Messages {
		body, err := m.StringBody()
		var b *server.Batch
		if err == nil {
			b, err = worker.DecodeBatch(body)
		}
		if err != nil {
			log.Error("undecodable queue message", "id", m.ID, "attempts", m.Attempts, "err", err)
			m.Retry()
			continue
		}
		batches = append(batches, b)
		good = append(good, m)
	}
	res, err := db.Insert(context.Background(), batches)
	if err != nil {
		log.Error("store queued events", "messages", len(good), "err", err)
		return err
	}
	for _, m := range good {
		m.Ack()
	}
	log.Info("stored queued events", "messages", len(good), "accepted", res.Accepted, "duplicates", res.Duplicates)
	return nil
}
