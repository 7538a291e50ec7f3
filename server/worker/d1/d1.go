// Package d1 stores the collector's trackers and events in Cloudflare D1,
// with the same tables as package sqlite (D1 is SQLite), so that tools and
// queries work on either.
//
// It speaks plain database/sql: in the worker the *sql.DB comes from
// syumai/workers' D1 driver, in native tests from modernc.org/sqlite with
// the same migrations applied. The D1 driver has no transactions and D1
// allows at most 100 bound variables per statement, so nothing here needs
// a transaction and every insert is chunked to fit; instead of atomicity,
// writes are idempotent (see Insert).
package d1

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// MaxVariables is D1's limit on bound parameters in one statement.
const MaxVariables = 100

// eventColumns are the events table's columns but seq, in the order
// Insert binds them: the same as package sqlite's.
const eventColumns = `tracking_id, event_id, session_id, user_id, event_type, sent_at_ms, received_at_ms,
	occurred_at_ms, item_id, event_value, impression, recommendation_id, metric_attribution, properties`

const columnsPerEvent = 14

// rowsPerInsert is how many events one INSERT carries: 7 × 14 = 98
// variables, the most that fit under MaxVariables.
const rowsPerInsert = MaxVariables / columnsPerEvent

// DB is a Tracklet database on D1. It implements server.Store's reads
// (Tracker, OriginAllowed), server.EventReader, and Insert for the queue
// consumer. Its methods are safe for concurrent use.
type DB struct {
	// MaxRejected bounds the rejected table; 0 means DefaultMaxRejected.
	MaxRejected int

	db  *sql.DB
	now func() time.Time
}

// New returns a DB on db, whose schema the migrations in
// server/worker/migrations have created.
func New(db *sql.DB) *DB {
	return &DB{db: db, now: time.Now}
}

// Tracker returns the tracker with trackingId id, or server.ErrTrackerNotFound.
func (db *DB) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	row := db.db.QueryRowContext(ctx,
		`SELECT id, name, origins, disabled, created_at_ms FROM trackers WHERE id = ?`, id)
	var (
		t         server.Tracker
		origins   string
		disabled  int64
		createdMs int64
	)
	err := row.Scan(&t.ID, &t.Name, &origins, &disabled, &createdMs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, server.ErrTrackerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up tracker: %w", err)
	}
	if err := json.Unmarshal([]byte(origins), &t.Origins); err != nil {
		return nil, fmt.Errorf("tracker %s: origins %q: %w", t.ID, origins, err)
	}
	t.Disabled = disabled != 0
	t.CreatedAt = time.UnixMilli(createdMs)
	return &t, nil
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func (db *DB) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	var ok int64
	err := db.db.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM trackers WHERE disabled = 0 AND (origins = '[]'
			OR EXISTS (SELECT 1 FROM json_each(trackers.origins) WHERE lower(value) = lower(?))))`,
		origin).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check origin: %w", err)
	}
	return ok != 0, nil
}

// CreateTracker stores a new tracker with the given id, name and allowed
// origins (normalised; none allows every origin).
func (db *DB) CreateTracker(ctx context.Context, id, name string, origins []string) (*server.Tracker, error) {
	name = strings.TrimSpace(name)
	if id == "" || name == "" {
		return nil, errors.New("a tracker needs an id and a name")
	}
	t := &server.Tracker{ID: id, Name: name, Origins: []string{}, CreatedAt: db.now().Truncate(time.Millisecond)}
	for _, o := range origins {
		n, err := server.NormalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		t.Origins = append(t.Origins, n)
	}
	originsJSON, _ := json.Marshal(t.Origins) // a []string always marshals
	_, err := db.db.ExecContext(ctx,
		`INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES (?, ?, ?, 0, ?)`,
		t.ID, t.Name, string(originsJSON), t.CreatedAt.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("create tracker: %w", err)
	}
	return t, nil
}

// Insert stores the events of batches, in order, and counts what it did.
// Every event must have an eventId already (the queue producer assigns
// them, so that a redelivered batch carries the same ids).
//
// The events go in multi-row INSERTs of at most rowsPerInsert rows, each
// ... ON CONFLICT (tracking_id, event_id) DO NOTHING. Without transactions
// an error can leave some statements applied; the caller then retries all
// of batches, and the unique index turns the rows already stored into
// duplicates. So a retry never stores an event twice: at-least-once
// delivery becomes exactly-once storage. (Duplicates counts them, so on a
// retry it over-counts what the client sent twice.)
func (db *DB) Insert(ctx context.Context, batches []*server.Batch) (server.PutResult, error) {
	var res server.PutResult
	args := make([]any, 0, rowsPerInsert*columnsPerEvent)
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		r, err := db.db.ExecContext(ctx, insertSQL(rows), args...)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Accepted += int(n)
		res.Duplicates += rows - int(n)
		args, rows = args[:0], 0
		return nil
	}
	for _, b := range batches {
		for i := range b.Request.EventList {
			a, err := eventArgs(b, &b.Request.EventList[i])
			if err != nil {
				return res, err
			}
			args = append(args, a...)
			if rows++; rows == rowsPerInsert {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
	}
	return res, flush()
}

func insertSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", columnsPerEvent), ",") + ")"
	rows := strings.TrimSuffix(strings.Repeat(row+",", n), ",")
	return "INSERT INTO events (" + eventColumns + ") VALUES " + rows +
		" ON CONFLICT (tracking_id, event_id) DO NOTHING"
}

// eventArgs are the values of one events row, in eventColumns' order and
// encoded as package sqlite encodes them.
func eventArgs(b *server.Batch, e *event.Event) ([]any, error) {
	r := b.Request
	if e.EventID == nil {
		return nil, errors.New("insert events: an event has no eventId")
	}
	var impression, attribution any
	if e.Impression != nil {
		j, _ := json.Marshal(e.Impression) // []string always marshals
		impression = string(j)
	}
	if e.MetricAttribution != nil {
		j, _ := json.Marshal(e.MetricAttribution)
		attribution = string(j)
	}
	sent := e.SentAt.Time()
	return []any{
		r.TrackingID, *e.EventID, r.SessionID, nullString(r.UserID), e.EventType,
		sent.UnixMilli(), b.ReceivedAt.UnixMilli(), b.OccurredAt(sent).UnixMilli(),
		nullString(e.ItemID), nullFloat(e.EventValue), impression,
		nullString(e.RecommendationID), attribution, nullString(e.Properties),
	}, nil
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// pageSize is how many events Events reads per query. The D1 driver
// materialises a whole result in memory, so pages keep that bounded.
const pageSize = 500

// Events yields the events f selects in arrival (Seq) order, a page at a
// time.
func (db *DB) Events(ctx context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error] {
	return func(yield func(*server.StoredEvent, error) bool) {
		after, left := f.AfterSeq, f.Limit
		for {
			n := pageSize
			if f.Limit > 0 && left < n {
				n = left
			}
			if n == 0 {
				return
			}
			page, err := db.eventsPage(ctx, f, after, n)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
				after = e.Seq
			}
			left -= len(page)
			if len(page) < n {
				return
			}
		}
	}
}

func (db *DB) eventsPage(ctx context.Context, f server.EventFilter, after int64, limit int) ([]*server.StoredEvent, error) {
	var (
		where = []string{"seq > ?"}
		args  = []any{after}
	)
	if f.TrackingID != "" {
		where = append(where, "tracking_id = ?")
		args = append(args, f.TrackingID)
	}
	if !f.Since.IsZero() {
		where = append(where, "sent_at_ms >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where = append(where, "sent_at_ms < ?")
		args = append(args, f.Until.UnixMilli())
	}
	args = append(args, limit)
	rows, err := db.db.QueryContext(ctx, `SELECT seq, `+eventColumns+` FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := make([]*server.StoredEvent, 0, limit)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

func scanEvent(rows *sql.Rows) (*server.StoredEvent, error) {
	var (
		e                              server.StoredEvent
		eventID                        string
		userID, itemID, recID, props   sql.NullString
		impression, attribution        sql.NullString
		value                          sql.NullFloat64
		sentMs, receivedMs, occurredMs int64
	)
	if err := rows.Scan(&e.Seq, &e.TrackingID, &eventID, &e.SessionID, &userID, &e.EventType,
		&sentMs, &receivedMs, &occurredMs, &itemID, &value, &impression, &recID, &attribution, &props); err != nil {
		return nil, err
	}
	e.EventID = &eventID
	e.UserID = ptr(userID)
	e.ItemID = ptr(itemID)
	e.RecommendationID = ptr(recID)
	e.Properties = ptr(props)
	if value.Valid {
		e.EventValue = &value.Float64
	}
	if impression.Valid {
		if err := json.Unmarshal([]byte(impression.String), &e.Impression); err != nil {
			return nil, fmt.Errorf("event %d: impression: %w", e.Seq, err)
		}
	}
	if attribution.Valid {
		e.MetricAttribution = new(event.MetricAttribution)
		if err := json.Unmarshal([]byte(attribution.String), e.MetricAttribution); err != nil {
			return nil, fmt.Errorf("event %d: metricAttribution: %w", e.Seq, err)
		}
	}
	e.SentAt = event.Timestamp(float64(sentMs) / 1000)
	e.ReceivedAt = time.UnixMilli(receivedMs)
	e.OccurredAt = time.UnixMilli(occurredMs)
	return &e, nil
}

func ptr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
