// Package archive makes D1 a rolling window and R2 the archive: a cron
// trigger exports each closed hour of each tracker to the bucket, as the
// files of Formats (NDJSON, and the Amazon Personalize Interactions CSV
// with its schema, by the same export code as the native collector) with a
// manifest, records them in D1's archived_hours
// table, then deletes the archived events older than the window.
//
// Exactly once: a part (a run of one tracker-hour's events) is claimed in
// archived_hours with the seq range it covers before its files are
// written, and marked done after. A run that fails between the two leaves
// the claim; the next run writes the same range to the same keys again
// (R2 puts overwrite), so however often runs fail or repeat, every event
// is in exactly one part. Events that arrive after their hour was archived
// (a queue retry, a dead-letter replay) become the hour's next part.
//
// Plain Go on database/sql, tested natively and under wrangler.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// Format is one kind of file each part is written as, by package export.
type Format struct {
	Name        string // export.Write's format name, or one of the Personalize formats
	Ext         string
	ContentType string
}

// The Personalize formats: the Interactions CSV export.WritePersonalize
// writes, and the Avro schema it returns for that CSV (inferred from the
// part's rows), for Personalize's CreateSchema.
const (
	PersonalizeFormat       = "personalize"
	PersonalizeSchemaFormat = "personalize-schema"
)

// Formats are the files of every part, in the order they are written: a
// Personalize schema comes after its CSV. Another of package export's
// formats is one more line here.
var Formats = []Format{
	{Name: "ndjson", Ext: "ndjson", ContentType: "application/x-ndjson"},
	{Name: PersonalizeFormat, Ext: "personalize.csv", ContentType: "text/csv; charset=utf-8"},
	{Name: PersonalizeSchemaFormat, Ext: "personalize.schema.json", ContentType: "application/json"},
}

// ErrNotFound is what a Bucket's Get returns for a missing key.
var ErrNotFound = errors.New("archive: no such file")

// Bucket is where the files go: R2 in the worker.
type Bucket interface {
	Put(ctx context.Context, key string, body []byte, contentType string) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Defaults of an Archiver's settings.
const (
	DefaultWindow   = 7 * 24 * time.Hour
	DefaultGrace    = 15 * time.Minute
	DefaultLookback = 3 * time.Hour
	// DefaultMaxPartEvents keeps a part's files a few MB: R2's Put in
	// syumai/workers holds a whole file in memory, twice.
	DefaultMaxPartEvents = 5000
	// DefaultMaxParts bounds one run's work (D1 queries, CPU time); what
	// is left waits for the next run.
	DefaultMaxParts = 8
)

// Archiver exports closed hours and trims the window. Zero settings take
// the defaults.
type Archiver struct {
	DB     sqlstore.Querier
	Bucket Bucket
	// Window is how long events stay in D1 (once archived).
	Window time.Duration
	// Grace is how long after an hour ends it is considered closed: the
	// queue's delivery of its last events.
	Grace time.Duration
	// Lookback is how far back, from the newest closed hour, a run looks
	// for events not yet archived: late events older than that stay in
	// D1, unarchived and so undeleted, and are logged.
	Lookback      time.Duration
	MaxPartEvents int
	MaxParts      int
	// PersonalizeColumns are the metadata columns of the Personalize CSV
	// (export.ParseColumns); none: the fixed fields only.
	PersonalizeColumns []export.Column
	Log                *slog.Logger
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Part is one archived run of a tracker-hour's events.
type Part struct {
	TrackingID string    `json:"trackingId"`
	Hour       time.Time `json:"hour"`
	Part       int       `json:"part"`
	FirstSeq   int64     `json:"firstSeq"`
	LastSeq    int64     `json:"lastSeq"`
	Events     int64     `json:"events"`
	Bytes      int64     `json:"bytes"`
	Files      []File    `json:"files"`
	ArchivedAt time.Time `json:"archivedAt"`
}

// File is one of a part's files.
type File struct {
	Key    string `json:"key"`
	Format string `json:"format"`
	Bytes  int64  `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Report says what a run did.
type Report struct {
	Parts   int   `json:"parts"`
	Events  int64 `json:"events"`
	Deleted int64 `json:"deleted"`
	// More is true when the run stopped at MaxParts with work left.
	More bool `json:"more"`
	// Unarchived counts events older than the window kept because no
	// part holds them.
	Unarchived int64 `json:"unarchived"`
}

// hourMs is an hour in Unix milliseconds.
const hourMs = int64(time.Hour / time.Millisecond)

// Key returns the key of a part's file in format f: by tracker, then
// date, so that a bucket listing reads in time order.
func Key(trackingID string, hour time.Time, part int, f Format) string {
	return fmt.Sprintf("%s/%s-%d.%s", trackingID, hour.UTC().Format("2006/01/02/15"), part, f.Ext)
}

// ManifestKey returns the key of a tracker-hour's manifest: every done
// part of the hour and its files.
func ManifestKey(trackingID string, hour time.Time) string {
	return fmt.Sprintf("%s/%s.manifest.json", trackingID, hour.UTC().Format("2006/01/02/15"))
}

// Run archives the hours closed at now, then deletes the archived events
// older than the window.
func (a *Archiver) Run(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	maxParts := or(a.MaxParts, DefaultMaxParts)
	// Claims a failed run left: redo exactly them.
	pending, err := a.claims(ctx, `SELECT tracking_id, hour_ms, part, first_seq, last_seq FROM archived_hours
		WHERE done = 0 ORDER BY hour_ms, tracking_id, part LIMIT ?`, maxParts)
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		if err := a.write(ctx, p, now, &rep); err != nil {
			return rep, err
		}
	}
	closed := (now.Add(-or(a.Grace, DefaultGrace)).UnixMilli() / hourMs) * hourMs
	from := closed - or(a.Lookback, DefaultLookback).Milliseconds()
	for lost := 0; rep.Parts < maxParts; {
		p, err := a.claim(ctx, from, closed, now)
		if errors.Is(err, errClaimed) && lost < maxParts {
			lost++
			continue // another run took it: look again
		}
		if err != nil {
			return rep, err
		}
		if p == nil {
			break
		}
		if err := a.write(ctx, p, now, &rep); err != nil {
			return rep, err
		}
	}
	if rep.Parts == maxParts {
		rep.More = true
	}
	if err := a.trim(ctx, now, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// errClaimed says another run claimed the events first.
var errClaimed = errors.New("archive: another run claimed the part")

// hourOf is the SQL of an events row's hour.
const hourOf = `(received_at_ms - received_at_ms % 3600000)`

// claim finds the oldest tracker-hour in [from, closed) with events no part
// holds, claims the next part of it and returns the claim, or nil if none.
func (a *Archiver) claim(ctx context.Context, from, closed int64, now time.Time) (*Part, error) {
	// Events past every part of their hour; the index on received_at_ms
	// bounds the scan to the lookback.
	row := a.DB.QueryRowContext(ctx, `SELECT tracking_id, `+hourOf+` AS hour, min(seq) FROM events AS e
		WHERE received_at_ms >= ? AND received_at_ms < ? AND seq > coalesce((SELECT max(last_seq) FROM archived_hours AS a
			WHERE a.tracking_id = e.tracking_id AND a.hour_ms = `+hourOf+`), 0)
		GROUP BY tracking_id, hour ORDER BY hour, tracking_id LIMIT 1`, from, closed)
	var (
		tid   string
		hour  int64
		first int64
	)
	if err := row.Scan(&tid, &hour, &first); errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("archive: find closed hours: %w", err)
	}
	// The part's end: its MaxPartEvents-th event, or the hour's last.
	var last int64
	if err := a.DB.QueryRowContext(ctx, `SELECT max(seq) FROM (SELECT seq FROM events
		WHERE tracking_id = ? AND received_at_ms >= ? AND received_at_ms < ? AND seq >= ? ORDER BY seq LIMIT ?)`,
		tid, hour, hour+hourMs, first, or(a.MaxPartEvents, DefaultMaxPartEvents)).Scan(&last); err != nil {
		return nil, fmt.Errorf("archive: size a part: %w", err)
	}
	// One statement claims the next part number, and only if no part of
	// the hour reaches first yet: of two runs racing for the same events,
	// one claims them and the other inserts nothing.
	res, err := a.DB.ExecContext(ctx, `INSERT INTO archived_hours (tracking_id, hour_ms, part, first_seq, last_seq, archived_at_ms)
		SELECT ?, ?, coalesce(max(part), 0) + 1, ?, ?, ? FROM archived_hours WHERE tracking_id = ? AND hour_ms = ?
		HAVING coalesce(max(last_seq), 0) < ? ON CONFLICT DO NOTHING`, tid, hour, first, last, now.UnixMilli(), tid, hour, first)
	if err != nil {
		return nil, fmt.Errorf("archive: claim a part: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("archive: claim a part: %w", err)
	} else if n != 1 {
		return nil, errClaimed
	}
	claims, err := a.claims(ctx, `SELECT tracking_id, hour_ms, part, first_seq, last_seq FROM archived_hours
		WHERE tracking_id = ? AND hour_ms = ? AND first_seq = ?`, tid, hour, first)
	if err != nil || len(claims) != 1 {
		return nil, fmt.Errorf("archive: read back a claim: %v", err)
	}
	return claims[0], nil
}

func (a *Archiver) claims(ctx context.Context, query string, args ...any) ([]*Part, error) {
	rows, err := a.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("archive: read claims: %w", err)
	}
	defer rows.Close()
	var out []*Part
	for rows.Next() {
		p := &Part{}
		var hour int64
		if err := rows.Scan(&p.TrackingID, &hour, &p.Part, &p.FirstSeq, &p.LastSeq); err != nil {
			return nil, fmt.Errorf("archive: read claims: %w", err)
		}
		p.Hour = time.UnixMilli(hour).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// readPage is how many events a part's export reads per query.
const readPage = 2500

type querierReader struct{ q sqlstore.Querier }

func (r querierReader) Events(ctx context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error] {
	return sqlstore.Events(ctx, r.q, f, readPage)
}

// write exports a claimed part's events to its files, marks it done and
// rewrites its hour's manifest.
func (a *Archiver) write(ctx context.Context, p *Part, now time.Time, rep *Report) error {
	f := server.EventFilter{TrackingID: p.TrackingID, ReceivedSince: p.Hour, ReceivedUntil: p.Hour.Add(time.Hour),
		AfterSeq: p.FirstSeq - 1, ThroughSeq: p.LastSeq}
	var (
		buf    bytes.Buffer
		schema []byte // of the Personalize CSV written last
	)
	for i, format := range Formats {
		buf.Reset()
		n, err := a.export(ctx, &buf, f, format.Name, &schema)
		if err != nil {
			return fmt.Errorf("archive: export %s: %w", format.Name, err)
		}
		sum := sha256.Sum256(buf.Bytes())
		file := File{Key: Key(p.TrackingID, p.Hour, p.Part, format), Format: format.Name,
			Bytes: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}
		if err := a.Bucket.Put(ctx, file.Key, buf.Bytes(), format.ContentType); err != nil {
			return fmt.Errorf("archive: put %s: %w", file.Key, err)
		}
		if i == 0 {
			p.Events, p.Bytes = n, file.Bytes
		}
	}
	if _, err := a.DB.ExecContext(ctx, `UPDATE archived_hours SET done = 1, events = ?, bytes = ?, archived_at_ms = ?
		WHERE tracking_id = ? AND hour_ms = ? AND part = ?`, p.Events, p.Bytes, now.UnixMilli(),
		p.TrackingID, p.Hour.UnixMilli(), p.Part); err != nil {
		return fmt.Errorf("archive: record %s part %d: %w", p.TrackingID, p.Part, err)
	}
	if err := a.writeManifest(ctx, p.TrackingID, p.Hour); err != nil {
		return err
	}
	rep.Parts++
	rep.Events += p.Events
	if a.Log != nil {
		a.Log.Info("archived", "trackingId", p.TrackingID, "hour", p.Hour, "part", p.Part, "events", p.Events, "bytes", p.Bytes)
	}
	return nil
}

// export writes the events f selects to w in format and returns how many
// it wrote. The Personalize CSV sets *schema, which the schema format
// writes.
func (a *Archiver) export(ctx context.Context, w io.Writer, f server.EventFilter, format string, schema *[]byte) (int64, error) {
	switch format {
	case PersonalizeFormat:
		res, err := export.WritePersonalize(ctx, w, querierReader{a.DB}.Events(ctx, f),
			export.PersonalizeOptions{Columns: a.PersonalizeColumns})
		if err != nil {
			return res.Rows, err
		}
		*schema = append(res.Schema, '\n')
		return res.Rows, nil
	case PersonalizeSchemaFormat:
		if *schema == nil {
			return 0, errors.New("no Personalize CSV written before its schema")
		}
		_, err := w.Write(*schema)
		return 0, err
	default:
		return export.Write(ctx, w, querierReader{a.DB}, f, format, nil)
	}
}

// Manifest is a tracker-hour's manifest file.
type Manifest struct {
	TrackingID string    `json:"trackingId"`
	Hour       time.Time `json:"hour"`
	Events     int64     `json:"events"`
	Parts      []*Part   `json:"parts"`
}

func (a *Archiver) writeManifest(ctx context.Context, tid string, hour time.Time) error {
	parts, err := List(ctx, a.DB, tid, hour, hour.Add(time.Hour))
	if err != nil {
		return err
	}
	m := Manifest{TrackingID: tid, Hour: hour, Parts: parts}
	for _, p := range parts {
		m.Events += p.Events
	}
	j, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := a.Bucket.Put(ctx, ManifestKey(tid, hour), append(j, '\n'), "application/json"); err != nil {
		return fmt.Errorf("archive: put manifest: %w", err)
	}
	return nil
}

// List returns the done parts of trackingID (every tracker if empty) whose
// hour is in [since, until) (unbounded if zero), oldest first, with their
// files' keys.
func List(ctx context.Context, q sqlstore.Querier, trackingID string, since, until time.Time) ([]*Part, error) {
	untilMs := int64(1) << 62
	if !until.IsZero() {
		untilMs = until.UnixMilli()
	}
	rows, err := q.QueryContext(ctx, `SELECT tracking_id, hour_ms, part, first_seq, last_seq, events, bytes, archived_at_ms
		FROM archived_hours WHERE done = 1 AND (? = '' OR tracking_id = ?) AND hour_ms >= ? AND hour_ms < ?
		ORDER BY hour_ms, tracking_id, part LIMIT 10000`, trackingID, trackingID, since.UnixMilli(), untilMs)
	if err != nil {
		return nil, fmt.Errorf("archive: list: %w", err)
	}
	defer rows.Close()
	var out []*Part
	for rows.Next() {
		p := &Part{}
		var hour, at int64
		if err := rows.Scan(&p.TrackingID, &hour, &p.Part, &p.FirstSeq, &p.LastSeq, &p.Events, &p.Bytes, &at); err != nil {
			return nil, fmt.Errorf("archive: list: %w", err)
		}
		p.Hour, p.ArchivedAt = time.UnixMilli(hour).UTC(), time.UnixMilli(at).UTC()
		for _, f := range Formats {
			p.Files = append(p.Files, File{Key: Key(p.TrackingID, p.Hour, p.Part, f), Format: f.Name})
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// maxDeletes bounds one DELETE (D1 stops a query at 30 s).
const maxDeletes = 20000

// archived is the SQL condition that a done part holds events row e.
const archived = `EXISTS (SELECT 1 FROM archived_hours AS a WHERE a.tracking_id = e.tracking_id
	AND a.hour_ms = ` + hourOf + ` AND a.done = 1 AND e.seq BETWEEN a.first_seq AND a.last_seq)`

// trim deletes events older than the window that a done part holds — but
// never the newest event: seq is SQLite's rowid, which an emptied table
// would hand out again from 1, and parts are seq ranges.
func (a *Archiver) trim(ctx context.Context, now time.Time, rep *Report) error {
	cutoff := now.Add(-or(a.Window, DefaultWindow)).UnixMilli()
	for range 10 {
		res, err := a.DB.ExecContext(ctx, `DELETE FROM events WHERE seq IN (SELECT seq FROM events AS e
			WHERE received_at_ms < ? AND seq < (SELECT max(seq) FROM events) AND `+archived+` LIMIT ?)`,
			cutoff, maxDeletes)
		if err != nil {
			return fmt.Errorf("archive: delete events past the window: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("archive: delete events past the window: %w", err)
		}
		rep.Deleted += n
		if n < maxDeletes {
			break
		}
	}
	if err := a.DB.QueryRowContext(ctx, `SELECT count(*) FROM events AS e WHERE received_at_ms < ? AND NOT `+archived,
		cutoff).Scan(&rep.Unarchived); err != nil {
		return fmt.Errorf("archive: count unarchived events: %w", err)
	}
	if rep.Unarchived > 0 && a.Log != nil {
		a.Log.Warn("events older than the window are not archived: kept in D1", "events", rep.Unarchived)
	}
	return nil
}
