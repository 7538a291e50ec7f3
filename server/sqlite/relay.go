package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/relay"
)

// DB is the relay's outbox.
var _ relay.Store = (*DB)(nil)

// SetRelay links l.TrackingID to a Personalize event tracker, or changes
// its link. A new link starts at the tracker's first event; a changed one
// keeps its cursor.
func (db *DB) SetRelay(ctx context.Context, l *relay.Link) error {
	if _, err := db.Tracker(ctx, l.TrackingID); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO relays (tracking_id, personalize_tracking_id, region, endpoint, updated_at_ms)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tracking_id) DO UPDATE SET personalize_tracking_id = excluded.personalize_tracking_id,
		region = excluded.region, endpoint = excluded.endpoint, updated_at_ms = excluded.updated_at_ms`,
		l.TrackingID, l.PersonalizeTrackingID, l.Region, l.Endpoint, db.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("link relay: %w", err)
	}
	return nil
}

// DeleteRelay unlinks trackingID; its refusals stay until trimmed.
func (db *DB) DeleteRelay(ctx context.Context, trackingID string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM relays WHERE tracking_id = ?`, trackingID)
	if err != nil {
		return fmt.Errorf("unlink relay: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrTrackerNotFound
	}
	return nil
}

// Links implements relay.Store.
func (db *DB) Links(ctx context.Context) ([]*relay.Link, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT tracking_id, personalize_tracking_id, region, endpoint, cursor_seq
		FROM relays ORDER BY tracking_id`)
	if err != nil {
		return nil, fmt.Errorf("read relays: %w", err)
	}
	defer rows.Close()
	var out []*relay.Link
	for rows.Next() {
		var l relay.Link
		if err := rows.Scan(&l.TrackingID, &l.PersonalizeTrackingID, &l.Region, &l.Endpoint, &l.Cursor); err != nil {
			return nil, fmt.Errorf("read relays: %w", err)
		}
		out = append(out, &l)
	}
	return out, rows.Err()
}

// Advance implements relay.Store.
func (db *DB) Advance(ctx context.Context, trackingID string, through int64, relayed int, refusals []*relay.Refusal, at time.Time) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("advance relay: %w", err)
	}
	defer tx.Rollback()
	refused := 0
	for _, r := range refusals {
		refused += len(r.EventIDs)
		ids, _ := json.Marshal(r.EventIDs) // a []string always marshals
		if _, err := tx.ExecContext(ctx, `INSERT INTO relay_refusals (tracking_id, at_ms, first_seq, last_seq, event_ids,
			status, error_type, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			trackingID, r.At.UnixMilli(), r.FirstSeq, r.LastSeq, string(ids), r.Status, r.ErrorType, r.Message); err != nil {
			return fmt.Errorf("record refusal: %w", err)
		}
	}
	if len(refusals) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM relay_refusals WHERE tracking_id = ? AND id <=
			(SELECT id FROM relay_refusals WHERE tracking_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			trackingID, trackingID, relay.MaxRefusals); err != nil {
			return fmt.Errorf("trim refusals: %w", err)
		}
	}
	lastRelayed := sql.NullInt64{Int64: at.UnixMilli(), Valid: relayed > 0}
	if _, err := tx.ExecContext(ctx, `UPDATE relays SET cursor_seq = max(cursor_seq, ?), relayed = relayed + ?,
		refused = refused + ?, last_relayed_at_ms = coalesce(?, last_relayed_at_ms), updated_at_ms = ? WHERE tracking_id = ?`,
		through, relayed, refused, lastRelayed, at.UnixMilli(), trackingID); err != nil {
		return fmt.Errorf("advance relay: %w", err)
	}
	return tx.Commit()
}

// RecordError implements relay.Store.
func (db *DB) RecordError(ctx context.Context, trackingID, message string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE relays SET last_error = ?, last_error_at_ms = ? WHERE tracking_id = ?`,
		message, at.UnixMilli(), trackingID)
	return err
}

// Pending implements relay.Store.
func (db *DB) Pending(ctx context.Context, trackingID string, after int64) (int64, time.Time, error) {
	var n int64
	var oldest sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT count(*), min(received_at_ms) FROM events WHERE tracking_id = ? AND seq > ?`,
		trackingID, after).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count pending: %w", err)
	}
	var t time.Time
	if oldest.Valid {
		t = time.UnixMilli(oldest.Int64)
	}
	return n, t, nil
}

// RelayStatus returns every link's state, pending events counted.
func (db *DB) RelayStatus(ctx context.Context) ([]*relay.Status, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT tracking_id, personalize_tracking_id, region, endpoint, cursor_seq,
		relayed, refused, last_relayed_at_ms, coalesce(last_error, ''), last_error_at_ms FROM relays ORDER BY tracking_id`)
	if err != nil {
		return nil, fmt.Errorf("read relays: %w", err)
	}
	var out []*relay.Status
	for rows.Next() {
		var s relay.Status
		var lastRelayed, lastErr sql.NullInt64
		if err := rows.Scan(&s.TrackingID, &s.PersonalizeTrackingID, &s.Region, &s.Endpoint, &s.Cursor,
			&s.Relayed, &s.Refused, &lastRelayed, &s.LastError, &lastErr); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read relays: %w", err)
		}
		if lastRelayed.Valid {
			s.LastRelayedAt = time.UnixMilli(lastRelayed.Int64)
		}
		if lastErr.Valid {
			s.LastErrorAt = time.UnixMilli(lastErr.Int64)
		}
		out = append(out, &s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, s := range out {
		if s.Pending, s.OldestPending, err = db.Pending(ctx, s.TrackingID, s.Cursor); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Refusals returns what Personalize refused, newest first, optionally for
// one tracker only.
func (db *DB) Refusals(ctx context.Context, trackingID string, limit int) ([]*relay.Refusal, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, tracking_id, at_ms, first_seq, last_seq, event_ids, status, error_type, message
		FROM relay_refusals WHERE ? = '' OR tracking_id = ? ORDER BY id DESC LIMIT ?`, trackingID, trackingID, limit)
	if err != nil {
		return nil, fmt.Errorf("read refusals: %w", err)
	}
	defer rows.Close()
	var out []*relay.Refusal
	for rows.Next() {
		var r relay.Refusal
		var at int64
		var ids string
		if err := rows.Scan(&r.ID, &r.TrackingID, &at, &r.FirstSeq, &r.LastSeq, &ids, &r.Status, &r.ErrorType, &r.Message); err != nil {
			return nil, fmt.Errorf("read refusals: %w", err)
		}
		r.At = time.UnixMilli(at)
		if err := json.Unmarshal([]byte(ids), &r.EventIDs); err != nil {
			return nil, errors.Join(fmt.Errorf("refusal %d: event ids", r.ID), err)
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}
