// Package export writes stored events out: as NDJSON (the PutEvents wire
// form of each event plus its envelope and server times), as CSV for
// people and spreadsheets, or as an Amazon Personalize Item interactions
// dataset (a CSV plus its Avro schema, see WritePersonalize).
//
// It reads events through server.EventReader or a plain iterator, never a
// particular store, so that the collector (SQLite) and the Cloudflare
// Worker (D1) export alike.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Record is one line of NDJSON: the event as PutEvents carries it, the
// request's envelope, and the server's times.
type Record struct {
	TrackingID string  `json:"trackingId"`
	SessionID  string  `json:"sessionId"`
	UserID     *string `json:"userId,omitempty"`
	event.Event
	// ReceivedAt is when the collector received the event.
	ReceivedAt event.Timestamp `json:"receivedAt"`
	// OccurredAt is sentAt corrected for the client's clock skew.
	OccurredAt event.Timestamp `json:"occurredAt"`
}

// RecordOf returns e as an NDJSON record.
func RecordOf(e *server.StoredEvent) Record {
	return Record{
		TrackingID: e.TrackingID, SessionID: e.SessionID, UserID: e.UserID, Event: e.Event,
		ReceivedAt: event.TimestampOf(e.ReceivedAt), OccurredAt: event.TimestampOf(e.OccurredAt),
	}
}

// Formats are the names Write accepts.
var Formats = []string{"ndjson", "csv"}

// Progress, if not nil, is called after every event written.
type Progress func(written int64)

// Write exports the events f selects from r to w in format, reading them
// in pages so that memory stays constant. It returns how many it wrote.
func Write(ctx context.Context, w io.Writer, r server.EventReader, f server.EventFilter, format string, progress Progress) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var (
		n   int64
		err error
	)
	switch format {
	case "ndjson":
		n, err = writeNDJSON(ctx, bw, r, f, progress)
	case "csv":
		n, err = writeCSV(ctx, bw, r, f, progress)
	default:
		return 0, fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func writeNDJSON(ctx context.Context, w io.Writer, r server.EventReader, f server.EventFilter, progress Progress) (int64, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var n int64
	for e, err := range r.Events(ctx, f) {
		if err != nil {
			return n, err
		}
		if err := enc.Encode(RecordOf(e)); err != nil {
			return n, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		n++
		if progress != nil {
			progress(n)
		}
	}
	return n, nil
}

// CSV columns that come first, in this order, as Personalize names them.
var fixedColumns = []string{"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"}

// writeCSV reads the events twice: once to learn every properties key
// (the columns must be known before the first row), once to write. The
// second pass stops at the first pass's last event, so the two agree
// however many events arrive meanwhile.
func writeCSV(ctx context.Context, w io.Writer, r server.EventReader, f server.EventFilter, progress Progress) (int64, error) {
	keys := make(map[string]string) // column name -> first key seen for it
	var last int64
	for e, err := range r.Events(ctx, f) {
		if err != nil {
			return 0, err
		}
		last = e.Seq
		if e.Properties == nil {
			continue
		}
		props, err := event.ParseProperties(*e.Properties)
		if err != nil {
			return 0, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		for k := range props {
			if k == "itemId" || k == "eventValue" {
				continue // these fill ITEM_ID and EVENT_VALUE
			}
			col := ColumnName(k)
			if _, ok := keys[col]; !ok && !isFixed(col) {
				keys[col] = k
			}
		}
	}
	cols := make([]string, 0, len(keys))
	for c := range keys {
		cols = append(cols, c)
	}
	sort.Strings(cols)

	cw := csv.NewWriter(w)
	if err := cw.Write(append(append([]string{}, fixedColumns...), cols...)); err != nil {
		return 0, err
	}
	var n int64
	if last == 0 {
		cw.Flush()
		return 0, cw.Error()
	}
	f.ThroughSeq = last
	row := make([]string, len(fixedColumns)+len(cols))
	for e, err := range r.Events(ctx, f) {
		if err != nil {
			return n, err
		}
		if err := fillRow(row, e, cols, keys); err != nil {
			return n, err
		}
		if err := cw.Write(row); err != nil {
			return n, err
		}
		n++
		if progress != nil {
			progress(n)
		}
	}
	cw.Flush()
	return n, cw.Error()
}

func isFixed(col string) bool {
	for _, c := range fixedColumns {
		if c == col {
			return true
		}
	}
	return false
}

// fillRow writes e into row, each column from the one key keys names for
// it (keys differing only in case, such as myUrl and myURL, share a column
// name; the first seen fills it, the same in every row). USER_ID falls back
// to the sessionId for anonymous events, as Personalize does for PutEvents
// without a userId. Top-level itemId and eventValue win over the same keys
// in properties. Text a spreadsheet would run as a formula is defused.
func fillRow(row []string, e *server.StoredEvent, cols []string, keys map[string]string) error {
	var props map[string]any
	if e.Properties != nil {
		var err error
		if props, err = event.ParseProperties(*e.Properties); err != nil {
			return fmt.Errorf("event %d: %w", e.Seq, err)
		}
	}
	prop := func(key string) string {
		if v, ok := props[key].(string); ok {
			return spreadsheetCell(v)
		}
		if v, ok := props[key]; ok {
			return scalar(v) // a number or boolean: never a formula
		}
		return ""
	}
	row[0] = e.SessionID
	if e.UserID != nil {
		row[0] = *e.UserID
	}
	row[0] = spreadsheetCell(row[0])
	row[1] = prop("itemId")
	if e.ItemID != nil {
		row[1] = spreadsheetCell(*e.ItemID)
	}
	row[2] = strconv.FormatInt(int64(math.Floor(float64(e.SentAt))), 10)
	row[3] = spreadsheetCell(e.EventType)
	row[4] = prop("eventValue")
	if e.EventValue != nil {
		row[4] = strconv.FormatFloat(*e.EventValue, 'f', -1, 64)
	}
	for i, c := range cols {
		row[len(fixedColumns)+i] = prop(keys[c])
	}
	return nil
}

// spreadsheetCell defuses text that Excel, LibreOffice or Google Sheets
// would run as a formula when the CSV is opened ("CSV injection"): text
// starting with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text. Numbers the export writes
// itself (TIMESTAMP, EVENT_VALUE, numeric properties) are left alone, so
// -1 stays a number; a string property "-1" becomes '-1.
func spreadsheetCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// ColumnName turns a camelCase properties key into the Interactions
// schema's UPPER_SNAKE field name: numberOfRatings -> NUMBER_OF_RATINGS.
func ColumnName(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' && i > 0 && !('A' <= key[i-1] && key[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
