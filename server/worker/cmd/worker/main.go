//go:build js && wasm

// Command worker is Tracklet's collector as a Cloudflare Worker: the
// PutEvents API of package http on a D1 database, with accepted batches
// passed through a Cloudflare Queue to a consumer in this same worker, and
// an hourly cron trigger that archives closed hours to R2 and keeps D1 a
// rolling window (package archive).
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
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/cron"
	cfd1 "github.com/syumai/workers/cloudflare/d1"
	"github.com/syumai/workers/cloudflare/queues"
	"github.com/syumai/workers/cloudflare/r2"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/d1"
	"github.com/tracklet/tracklet/server/export"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/worker"
	"github.com/tracklet/tracklet/server/worker/archive"
	"github.com/tracklet/tracklet/server/worker/isolate"
)

// Binding names, as in wrangler.jsonc.
const (
	archiveBinding  = "ARCHIVE"
	dbBinding       = "DB"
	queueBinding    = "EVENTS"
	deadLetterQueue = "tracklet-events-dead"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)) // workerd shows stdout as console.log
	sqldb := sql.OpenDB(envConnector{dbBinding})
	// No idle connections: each query opens one on the env of the
	// invocation it runs in.
	sqldb.SetMaxIdleConns(0)
	db := d1.New(sqldb)

	isolate.Consume(func(_ *isolate.Invocation, batch *queues.MessageBatch) error {
		return consume(log, db, batch, batch.Queue == deadLetterQueue)
	})

	spawn := func(f func()) {
		if !isolate.Current().WaitUntil(f) {
			log.Warn("background task dropped: its invocation has ended")
		}
	}
	// The admin API (/v1/events, /v1/stats, /v1/rejected, and the
	// archive's /v1/archive) is on when the ADMIN_TOKEN secret is set
	// (wrangler secret put). Vars and secrets belong to a deployment, and
	// so does the isolate: reading it once, in the first invocation, reads
	// every invocation's. The Worker has no dashboard feed and no relay:
	// their routes answer 501, and it links none of their code.
	bucket := envBucket{archiveBinding}
	h := trackhttp.NewHandler(trackhttp.Config{
		Store: &worker.Store{DB: db, Queue: envQueue{queueBinding},
			Trackers: &worker.TrackerCache{Lookup: db}},
		Rejected:   &worker.RejectionLog{DB: db, Spawn: spawn, Log: log},
		AdminToken: cloudflare.Getenv("ADMIN_TOKEN"),
		Admin:      db,
		Routes:     (&worker.ArchiveAPI{DB: sqldb, Bucket: bucket}).Routes(),
		Logger:     log,
	})
	isolate.Serve(worker.RejoinHeaders(h))

	archiver := &archive.Archiver{DB: sqldb, Bucket: bucket, Log: log,
		Window: hoursVar(log, "ARCHIVE_WINDOW_HOURS"), Lookback: hoursVar(log, "ARCHIVE_LOOKBACK_HOURS")}
	// The Personalize CSV's metadata columns, as `tracklet export
	// -format personalize -columns` takes them. A bad list stops the
	// archive (events stay in D1) rather than archive hours without the
	// columns asked for, which no later run would add.
	cols, colsErr := export.ParseColumns(cloudflare.Getenv("ARCHIVE_PERSONALIZE_COLUMNS"))
	archiver.PersonalizeColumns = cols
	isolate.Schedule(func(ctx context.Context) {
		if colsErr != nil {
			log.Error("archive: not run: fix the var", "var", "ARCHIVE_PERSONALIZE_COLUMNS", "err", colsErr)
			return
		}
		now := time.Now()
		if ev, err := cron.NewEvent(ctx); err == nil {
			now = ev.ScheduledTime // what a test's /__scheduled?time= sets
		}
		rep, err := archiver.Run(ctx, now)
		if err != nil {
			log.Error("archive", "err", err, "parts", rep.Parts)
			return
		}
		log.Info("archive run", "parts", rep.Parts, "events", rep.Events, "deleted", rep.Deleted,
			"more", rep.More, "unarchived", rep.Unarchived, "at", now)
	})
	isolate.Run()
}

// hoursVar reads a whole number of hours from a var of wrangler.jsonc; 0
// (the archive's default) if it is absent or not a positive number.
func hoursVar(log *slog.Logger, name string) time.Duration {
	v := cloudflare.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		log.Error("ignoring a var: want a whole number of hours", "var", name, "value", v)
		return 0
	}
	return time.Duration(n) * time.Hour
}

// envBucket is the R2 bucket of the current invocation's env.
type envBucket struct{ binding string }

func (b envBucket) Put(_ context.Context, key string, body []byte, contentType string) error {
	bucket, err := r2.NewBucket(b.binding)
	if err != nil {
		return err
	}
	_, err = bucket.Put(key, io.NopCloser(bytes.NewReader(body)),
		&r2.PutOptions{HTTPMetadata: r2.HTTPMetadata{ContentType: contentType}})
	return err
}

func (b envBucket) Get(_ context.Context, key string) (io.ReadCloser, error) {
	bucket, err := r2.NewBucket(b.binding)
	if err != nil {
		return nil, err
	}
	obj, err := bucket.Get(key)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, archive.ErrNotFound
	}
	return io.NopCloser(obj.Body), nil
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

// consume writes a batch of queue messages (accepted requests) to D1, in
// one statement (see d1.DB.Insert). If D1 fails, every message is retried
// (after retry_delay, see wrangler.jsonc); the unique index makes the events
// already stored duplicates. After max_retries the messages go to the
// dead-letter queue, whose consumer is this same function with dead set:
// it retries the same way, for hours (the replay after a D1 outage).
//
// A message that cannot be decoded is retried on its own so that it does
// not hold up the others; in the dead-letter queue, where it can only have
// failed again, it is logged in the rejected table (/v1/rejected) and
// dropped.
func consume(log *slog.Logger, db *d1.DB, batch *queues.MessageBatch, dead bool) error {
	ctx := context.Background()
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
			log.Error("undecodable queue message", "queue", batch.Queue, "id", m.ID, "attempts", m.Attempts, "err", err)
			if !dead {
				m.Retry()
				continue
			}
			r := &server.Rejection{ReceivedAt: time.Now(), Status: 500, Reason: "undecodable dead-letter message: " + err.Error(), Body: body}
			if err := db.InsertRejected(ctx, r); err != nil {
				m.Retry()
				continue
			}
			m.Ack()
			continue
		}
		batches = append(batches, b)
		good = append(good, m)
	}
	if len(good) == 0 {
		return nil // every message retried or logged: nothing to store
	}
	res, err := db.Insert(ctx, batches)
	if err != nil {
		log.Error("store queued events", "queue", batch.Queue, "messages", len(good), "err", err)
		return err
	}
	for _, m := range good {
		m.Ack()
	}
	log.Info("stored queued events", "messages", len(good), "accepted", res.Accepted, "duplicates", res.Duplicates,
		"statements", res.Statements, "queue", batch.Queue)
	return nil
}
