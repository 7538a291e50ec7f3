package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server"
)

// NewTracker returns the tracker to store for id, name and origins: name
// trimmed, origins normalised (none allows every origin), created at now to
// the millisecond, as the table keeps it.
func NewTracker(id, name string, origins []string, now time.Time) (*server.Tracker, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("a tracker needs a name")
	}
	t := &server.Tracker{ID: id, Name: name, Origins: []string{}, CreatedAt: now.Truncate(time.Millisecond)}
	for _, o := range origins {
		n, err := server.NormalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		t.Origins = append(t.Origins, n)
	}
	return t, nil
}

// InsertTracker stores t, enabled.
func InsertTracker(ctx context.Context, q Querier, t *server.Tracker) error {
	originsJSON, _ := json.Marshal(t.Origins) // a []string always marshals
	_, err := q.ExecContext(ctx,
		`INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES (?, ?, ?, 0, ?)`,
		t.ID, t.Name, string(originsJSON), t.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("create tracker: %w", err)
	}
	return nil
}

const trackerColumns = `id, name, origins, disabled, created_at_ms, sigv4_access_key_id, sigv4_secret_access_key`

// Tracker reads the tracker with trackingId id, or returns
// server.ErrTrackerNotFound.
func Tracker(ctx context.Context, q Querier, id string) (*server.Tracker, error) {
	t, err := scanTracker(q.QueryRowContext(ctx, `SELECT `+trackerColumns+` FROM trackers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, server.ErrTrackerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up tracker: %w", err)
	}
	return t, nil
}

// Trackers reads every tracker, oldest first; trackers created in the same
// millisecond come in the order they were created (rowid).
func Trackers(ctx context.Context, q Querier) ([]*server.Tracker, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+trackerColumns+` FROM trackers ORDER BY created_at_ms, rowid`)
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

// scanTracker reads a row of trackerColumns. Booleans are read as integers:
// the D1 driver hands numbers over as float64, which database/sql converts
// to an int64 but not to a bool.
func scanTracker(s Scanner) (*server.Tracker, error) {
	var (
		t         server.Tracker
		origins   string
		disabled  int64
		createdMs int64
		keyID     sql.NullString
		secret    sql.NullString
	)
	if err := s.Scan(&t.ID, &t.Name, &origins, &disabled, &createdMs, &keyID, &secret); err != nil {
		return nil, err
	}
	if keyID.Valid && secret.Valid {
		t.SigV4 = &server.AccessKey{ID: keyID.String, Secret: secret.String}
	}
	if err := json.Unmarshal([]byte(origins), &t.Origins); err != nil {
		return nil, fmt.Errorf("tracker %s: origins %q: %w", t.ID, origins, err)
	}
	t.Disabled = disabled != 0
	t.CreatedAt = time.UnixMilli(createdMs)
	return &t, nil
}

// SetTrackerDisabled disables (or re-enables) the tracker id, or returns
// server.ErrTrackerNotFound.
func SetTrackerDisabled(ctx context.Context, q Querier, id string, disabled bool) error {
	flag := 0
	if disabled {
		flag = 1
	}
	res, err := q.ExecContext(ctx, `UPDATE trackers SET disabled = ? WHERE id = ?`, flag, id)
	if err != nil {
		return fmt.Errorf("disable tracker: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrTrackerNotFound
	}
	return nil
}

// SetTrackerSigV4 makes the tracker id require AWS SigV4 signatures made
// with key, or (key nil) no longer require them. It returns
// server.ErrTrackerNotFound for an unknown id.
func SetTrackerSigV4(ctx context.Context, q Querier, id string, key *server.AccessKey) error {
	var keyID, secret any
	if key != nil {
		keyID, secret = key.ID, key.Secret
	}
	res, err := q.ExecContext(ctx,
		`UPDATE trackers SET sigv4_access_key_id = ?, sigv4_secret_access_key = ? WHERE id = ?`, keyID, secret, id)
	if err != nil {
		return fmt.Errorf("set tracker access key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrTrackerNotFound
	}
	return nil
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func OriginAllowed(ctx context.Context, q Querier, origin string) (bool, error) {
	var ok int64
	err := q.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM trackers WHERE disabled = 0 AND (origins = '[]'
			OR EXISTS (SELECT 1 FROM json_each(trackers.origins) WHERE lower(value) = lower(?))))`,
		origin).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check origin: %w", err)
	}
	return ok != 0, nil
}

// Stats counts every tracker's events and kept rejections, in Trackers'
// order.
func Stats(ctx context.Context, q Querier) ([]*server.TrackerStats, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.id, t.name, t.origins, t.disabled, t.created_at_ms,
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
			st                server.TrackerStats
			origins           string
			disabled, created int64
			last              sql.NullInt64
		)
		if err := rows.Scan(&st.ID, &st.Name, &origins, &disabled, &created, &st.Events, &st.Rejected, &last); err != nil {
			return nil, fmt.Errorf("read stats: %w", err)
		}
		if err := json.Unmarshal([]byte(origins), &st.Origins); err != nil {
			return nil, fmt.Errorf("tracker %s: origins: %w", st.ID, err)
		}
		st.Disabled = disabled != 0
		st.CreatedAt = time.UnixMilli(created)
		if last.Valid {
			st.LastReceivedAt = time.UnixMilli(last.Int64)
		}
		out = append(out, &st)
	}
	return out, rows.Err()
}
