package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server"
)

// NewTrackingID returns a fresh random trackingId: "tk_" and 20 base32
// characters (100 bits), safe in URLs and HTML attributes.
func NewTrackingID() string {
	var b [13]byte
	rand.Read(b[:]) // never fails (crypto/rand panics on a broken source)
	return "tk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:20]
}

// CreateTracker stores a new tracker with the given name and allowed
// origins (normalised; none allows every origin) and returns it.
func (db *DB) CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("a tracker needs a name")
	}
	t := &server.Tracker{ID: NewTrackingID(), Name: name, Origins: []string{}, CreatedAt: db.now().Truncate(time.Millisecond)}
	for _, o := range origins {
		n, err := server.NormalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		t.Origins = append(t.Origins, n)
	}
	originsJSON, _ := json.Marshal(t.Origins) // a []string always marshals
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES (?, ?, ?, 0, ?)`,
		t.ID, t.Name, string(originsJSON), t.CreatedAt.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("create tracker: %w", err)
	}
	return t, nil
}

// Tracker returns the tracker with trackingId id, or server.ErrTrackerNotFound.
// A tracker found is cached for trackerTTL; a miss always reads the
// database, so a tracker another process creates counts at once, and one
// it disables within trackerTTL.
func (db *DB) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	now := db.now()
	cached, gen, ok := db.trackers.get(id, now)
	if ok {
		return cached, nil
	}
	row := db.read.QueryRowContext(ctx,
		`SELECT id, name, origins, disabled, created_at_ms FROM trackers WHERE id = ?`, id)
	t, err := scanTracker(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, server.ErrTrackerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up tracker: %w", err)
	}
	db.trackers.put(t, gen, now)
	return t, nil
}

// Trackers returns every tracker, oldest first.
func (db *DB) Trackers(ctx context.Context) ([]*server.Tracker, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, name, origins, disabled, created_at_ms FROM trackers ORDER BY created_at_ms, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list trackers: %w", err)
	}
	defer rows.Close()
	var out []*server.Tracker
	for rows.Next() {
		t, err := scanTracker(rows)
		if err != nil {
			return nil, fmt.Errorf("list trackers: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTrackerDisabled disables (or re-enables) a tracker: a disabled
// tracker's events are refused as if it did not exist.
func (db *DB) SetTrackerDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := db.write.ExecContext(ctx, `UPDATE trackers SET disabled = ? WHERE id = ?`, disabled, id)
	db.trackers.forget(id)
	if err != nil {
		return fmt.Errorf("disable tracker: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrTrackerNotFound
	}
	return nil
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func (db *DB) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	var ok bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM trackers WHERE disabled = 0 AND (origins = '[]'
			OR EXISTS (SELECT 1 FROM json_each(trackers.origins) WHERE lower(value) = lower(?))))`,
		origin).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check origin: %w", err)
	}
	return ok, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanTracker(s scanner) (*server.Tracker, error) {
	var (
		t         server.Tracker
		origins   string
		createdMs int64
	)
	if err := s.Scan(&t.ID, &t.Name, &origins, &t.Disabled, &createdMs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(origins), &t.Origins); err != nil {
		return nil, fmt.Errorf("tracker %s: origins %q: %w", t.ID, origins, err)
	}
	t.CreatedAt = time.UnixMilli(createdMs)
	return &t, nil
}

// Stats returns every tracker's totals.
func (db *DB) Stats(ctx context.Context) ([]*server.TrackerStats, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT t.id, t.name, t.origins, t.disabled, t.created_at_ms,
		(SELECT count(*) FROM events WHERE tracking_id = t.id),
		(SELECT count(*) FROM rejected WHERE tracking_id = t.id),
		(SELECT max(received_at_ms) FROM events WHERE tracking_id = t.id)
		FROM trackers t ORDER BY t.created_at_ms, t.rowid`)
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	defer rows.Close()
	var out []*server.TrackerStats
	for rows.Next() {
		var (
			st      server.TrackerStats
			origins string
			created int64
			last    sql.NullInt64
		)
		if err := rows.Scan(&st.ID, &st.Name, &origins, &st.Disabled, &created, &st.Events, &st.Rejected, &last); err != nil {
			return nil, fmt.Errorf("read stats: %w", err)
		}
		if err := json.Unmarshal([]byte(origins), &st.Origins); err != nil {
			return nil, fmt.Errorf("tracker %s: origins: %w", st.ID, err)
		}
		st.CreatedAt = time.UnixMilli(created)
		if last.Valid {
			st.LastReceivedAt = time.UnixMilli(last.Int64)
		}
		out = append(out, &st)
	}
	return out, rows.Err()
}
