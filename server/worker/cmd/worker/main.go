//go:build js && wasm

// Command worker is Tracklet's collector as a Cloudflare Worker: the
// PutEvents API of package http on a D1 database, with accepted batches
// passed through a Cloudflare Queue to a consumer in this same worker.
//
// syumai/workers starts this program afresh for every request and every
// queue batch, with that invocation's environment (bindings and vars, see
// wrangler.jsonc), so main wires everything up each time; nothing is kept
// between invocations.
//
// Build it with server/worker/build.sh (make worker).
package main

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	cfd1 "github.com/syumai/workers/cloudflare/d1"
	"github.com/syumai/workers/cloudflare/queues"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/worker"
	"github.com/tracklet/tracklet/server/worker/d1"
)

// Binding names, as in wrangler.jsonc.
const (
	dbBinding    = "DB"
	queueBinding = "EVENTS"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)) // workerd shows stdout as console.log
	connector, err := cfd1.OpenConnector(dbBinding)
	if err != nil {
		log.Error("D1 binding missing", "binding", dbBinding, "err", err)
		panic(err)
	}
	db := d1.New(sql.OpenDB(connector))

	queues.ConsumeNonBlock(func(batch *queues.MessageBatch) error {
		return consume(log, db, batch)
	})

	producer, err := queues.NewProducer(queueBinding)
	if err != nil {
		log.Error("Queue binding missing", "binding", queueBinding, "err", err)
		panic(err)
	}
	// Work the handler starts in the background (logging a rejection)
	// runs under waitUntil, and main waits for it: when main returns, the
	// Go program ends, goroutines and all.
	var background sync.WaitGroup
	spawn := func(f func()) {
		background.Add(1)
		cloudflare.WaitUntil(func() {
			defer background.Done()
			f()
		})
	}
	workers.ServeNonBlock(worker.RejoinHeaders(trackhttp.NewHandler(trackhttp.Config{
		Store:    &worker.Store{DB: db, Queue: textQueue{producer}},
		Rejected: &worker.RejectionLog{DB: db, Spawn: spawn, Log: log},
		// The read/admin API (/v1/events, /v1/stats, /v1/rejected) is on
		// when the ADMIN_TOKEN secret is set (wrangler secret put).
		AdminToken: cloudflare.Getenv("ADMIN_TOKEN"),
		Admin:      db,
		Logger:     log,
	})))
	workers.Ready()
	<-workers.Done()
	background.Wait()
}

// textQueue sends messages as text: the queue carries JSON we encode
// ourselves.
type textQueue struct{ p *queues.Producer }

func (q textQueue) Send(_ context.Context, body string) error { return q.p.SendText(body) }

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
