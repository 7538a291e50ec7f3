package sqlstore

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

// The columns of an events row but seq, in the order the row's values are
// built: first those every event of one request shares (RequestColumns,
// AppendRequestArgs), then each event's own (EventOwnColumns,
// AppendEventArgs). The table is read directly by users' tools, so its
// columns and their encoding are a public interface; this order is only
// that of statements, not of the table.
const (
	RequestColumns  = `tracking_id, session_id, user_id, received_at_ms`
	EventOwnColumns = `event_id, event_type, sent_at_ms, occurred_at_ms, item_id, event_value, impression,
	recommendation_id, metric_attribution, properties`
	EventColumns = RequestColumns + ", " + EventOwnColumns

	// ColumnsPerRequest and OwnColumnsPerEvent count them, and
	// ColumnsPerEvent is their sum.
	ColumnsPerRequest  = 4
	OwnColumnsPerEvent = 10
	ColumnsPerEvent    = ColumnsPerRequest + OwnColumnsPerEvent
)

// insertSQL is the one INSERT of events: the rows that from yields, as
// selected (EventColumns' values, in order), skipping an event whose
// (tracking_id, event_id) is stored already or comes earlier in the
// statement, so RowsAffected counts the events it stored. Rows are
// inserted in the order given. The stores differ only in where the values
// come from: bound variables (InsertRequestSQL) or one JSON parameter
// (InsertJSONSQL), because D1 allows 100 variables a statement.
func insertSQL(selected, from string) string {
	// "WHERE true" keeps SQLite's parser from reading ON CONFLICT as the
	// ON of a join: see the upsert section of SQLite's INSERT docs.
	return "INSERT INTO events (" + EventColumns + ") SELECT " + selected + " FROM " + from +
		" WHERE true ON CONFLICT (tracking_id, event_id) DO NOTHING"
}

// InsertRequestSQL inserts the rows events of one request, binding the
// values they share once: ColumnsPerRequest + rows × OwnColumnsPerEvent
// variables, AppendRequestArgs' then each event's AppendEventArgs'.
// Binding a text value costs a copy into SQLite's memory, so for ten events
// this saves 27 of 70 copies and about 6% of the native store's CPU. Package
// sqlite runs it, a statement per request: InsertJSONSQL there took 2.1
// times the CPU and halved BenchmarkPutEvents' events/s (7,000 against
// 13,400, both ways in one run), SQLite's JSON parsing being dearer than
// binding.
func InsertRequestSQL(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", OwnColumnsPerEvent), ",") + ")"
	values := strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
	selected := strings.TrimSuffix(strings.Repeat("?, ", ColumnsPerRequest), ", ")
	for i := range OwnColumnsPerEvent {
		selected += fmt.Sprintf(", column%d", i+1)
	}
	return insertSQL(selected, "(VALUES "+values+")")
}

// InsertJSONSQL inserts the rows of its one parameter, a JSON array of
// rows (Rows.Param), each an array of an event's ColumnsPerEvent values in
// EventColumns' order: one variable whatever the row count, where bound
// values would cut a D1 queue batch into a statement per 7 events. Package
// d1 runs it.
var InsertJSONSQL = func() string {
	var selected strings.Builder
	for i := range ColumnsPerEvent {
		if i > 0 {
			selected.WriteString(", ")
		}
		fmt.Fprintf(&selected, "json_extract(value, '$[%d]')", i)
	}
	return insertSQL(selected.String(), "json_each(?)")
}()

// AppendRequestArgs appends the values of RequestColumns for b's events.
func AppendRequestArgs(args []any, b *server.Batch) []any {
	r := b.Request
	return append(args, r.TrackingID, r.SessionID, nullString(r.UserID), b.ReceivedAt.UnixMilli())
}

// AppendEventArgs appends the values of EventOwnColumns for e, one of b's
// events. e must have an eventId (see server.AssignEventIDs): without one,
// a redelivered batch would be stored twice.
func AppendEventArgs(args []any, b *server.Batch, e *event.Event) ([]any, error) {
	if e.EventID == nil {
		return args, errors.New("insert events: an event has no eventId")
	}
	impression, attribution := jsonColumns(e)
	sent := e.SentAt.Time()
	return append(args, *e.EventID, e.EventType, sent.UnixMilli(), b.OccurredAt(sent).UnixMilli(),
		nullString(e.ItemID), nullFloat(e.EventValue), impression,
		nullString(e.RecommendationID), attribution, nullString(e.Properties)), nil
}

// Rows gathers events rows into the parameter of InsertJSONSQL. The zero
// value holds no rows; Reset empties it for reuse.
type Rows struct {
	buf  []byte // '[' and the rows so far, comma-separated
	n    int
	args []any
}

// Encode returns the row of e, one of b's events, as Add takes it: the
// values of AppendRequestArgs and AppendEventArgs, as a JSON array. The
// row is valid until the next Encode.
func (r *Rows) Encode(b *server.Batch, e *event.Event) ([]byte, error) {
	args, err := AppendEventArgs(AppendRequestArgs(r.args[:0], b), b, e)
	r.args = args
	if err != nil {
		return nil, err
	}
	row, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return row, nil
}

// Add appends a row Encode returned.
func (r *Rows) Add(row []byte) {
	if r.n == 0 {
		r.buf = append(r.buf[:0], '[')
	} else {
		r.buf = append(r.buf, ',')
	}
	r.buf = append(r.buf, row...)
	r.n++
}

// Len is how many rows r holds.
func (r *Rows) Len() int { return r.n }

// SizeWith is how many bytes Param would return with row added.
func (r *Rows) SizeWith(row []byte) int {
	if r.n == 0 {
		return 1 + len(row) + 1
	}
	return len(r.buf) + 1 + len(row) + 1
}

// Param returns the rows as InsertJSONSQL's parameter.
func (r *Rows) Param() string {
	if r.n == 0 {
		return "[]"
	}
	return string(append(r.buf, ']'))
}

// Reset empties r, keeping its memory.
func (r *Rows) Reset() { r.buf, r.n = r.buf[:0], 0 }

// jsonColumns returns the values of e's impression and metric_attribution
// columns: JSON text, or nil for NULL.
func jsonColumns(e *event.Event) (impression, attribution any) {
	if e.Impression != nil {
		j, _ := json.Marshal(e.Impression) // []string always marshals
		impression = string(j)
	}
	if e.MetricAttribution != nil {
		j, _ := json.Marshal(e.MetricAttribution)
		attribution = string(j)
	}
	return impression, attribution
}

// Events yields the events f selects in arrival (Seq) order, reading
// pageSize at a time with separate queries: memory stays bounded however
// many there are, and no read stays open while the caller works.
func Events(ctx context.Context, q Querier, f server.EventFilter, pageSize int) iter.Seq2[*server.StoredEvent, error] {
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
			page, err := eventsPage(ctx, q, f, after, n)
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

func eventsPage(ctx context.Context, q Querier, f server.EventFilter, after int64, limit int) ([]*server.StoredEvent, error) {
	var (
		where = []string{"seq > ?"}
		args  = []any{after}
	)
	if f.TrackingID != "" {
		where = append(where, "tracking_id = ?")
		args = append(args, f.TrackingID)
	}
	if f.ThroughSeq != 0 {
		where = append(where, "seq <= ?")
		args = append(args, f.ThroughSeq)
	}
	// The time bounds: since is inclusive, until exclusive.
	for _, b := range []struct {
		t      time.Time
		clause string
	}{
		{f.Since, "sent_at_ms >= ?"},
		{f.Until, "sent_at_ms < ?"},
		{f.ReceivedSince, "received_at_ms >= ?"},
		{f.ReceivedUntil, "received_at_ms < ?"},
	} {
		if !b.t.IsZero() {
			where = append(where, b.clause)
			args = append(args, b.t.UnixMilli())
		}
	}
	args = append(args, limit)
	rows, err := q.QueryContext(ctx, `SELECT seq, `+EventColumns+` FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := make([]*server.StoredEvent, 0, limit)
	for rows.Next() {
		e, err := ScanEvent(rows)
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

// ScanEvent reads a row of `SELECT seq, ` + EventColumns.
func ScanEvent(s Scanner) (*server.StoredEvent, error) {
	var (
		e                              server.StoredEvent
		eventID                        string
		userID, itemID, recID, props   sql.NullString
		impression, attribution        sql.NullString
		value                          sql.NullFloat64
		sentMs, receivedMs, occurredMs int64
	)
	if err := s.Scan(&e.Seq, &e.TrackingID, &e.SessionID, &userID, &receivedMs, &eventID, &e.EventType,
		&sentMs, &occurredMs, &itemID, &value, &impression, &recID, &attribution, &props); err != nil {
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

// DeleteEvents deletes the events of trackingID (every event if it is
// empty) and returns how many there were.
func DeleteEvents(ctx context.Context, q Querier, trackingID string) (int64, error) {
	query, args := `DELETE FROM events`, []any{}
	if trackingID != "" {
		query, args = query+` WHERE tracking_id = ?`, append(args, trackingID)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return res.RowsAffected()
}
