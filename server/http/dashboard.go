package http

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/live"
)

// DashboardConfig is what NewDashboard needs. Every member but Logger and
// Now is required.
type DashboardConfig struct {
	Store DashboardStore
	// Feed streams newly stored events; its Run must be going.
	Feed *live.Feed
	// AdminToken guards every API the dashboard calls. Empty refuses all.
	AdminToken string
	// Page is the dashboard's static page (web.Dashboard()): index.html,
	// dashboard.js and dashboard.css.
	Page fs.FS
	// Relay, if set, is the relay to Personalize the API shows and
	// changes (dashboard_relay.go).
	Relay  RelayAdmin
	Logger *slog.Logger
	Now    func() time.Time
}

// DashboardStore is what the dashboard reads and writes.
type DashboardStore interface {
	server.DashboardReader
	Trackers(ctx context.Context) ([]*server.Tracker, error)
	CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error)
	Rejected(ctx context.Context, trackingID string, limit int) ([]*server.Rejection, error)
}

// DashboardHook is what the collector's Handler needs of a dashboard. (An
// interface, so that a build without a dashboard, such as the Cloudflare
// Worker's, links none of its code.)
type DashboardHook interface {
	http.Handler
	// Stored is called after each batch is durably stored.
	Stored(b *server.Batch, res server.PutResult)
}

// Dashboard serves the admin dashboard: its page at /dashboard and the API
// the page calls. Mount it with IsDashboardPath and tell it about stored
// batches with Stored.
type Dashboard struct {
	cfg   DashboardConfig
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	dups  *dupCounter
	stats *statsCache
	// started bounds the duplicate counts, which live in memory.
	started time.Time
}

// Limits of the dashboard's API.
const (
	maxTrackerName    = 256
	maxTrackerOrigins = 100
	maxTrackerBody    = 64 << 10
	maxRejectedList   = 500
)

// NewDashboard returns the dashboard's handler.
func NewDashboard(cfg DashboardConfig) *Dashboard {
	d := &Dashboard{cfg: cfg, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux(), dups: newDupCounter(),
		stats: newStatsCache(time.Now)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.started = d.now()
	d.mux.HandleFunc("GET /dashboard", d.servePage)
	d.mux.HandleFunc("GET /dashboard/{$}", d.servePage)
	d.mux.HandleFunc("GET /dashboard/{file}", d.servePage)
	d.mux.HandleFunc("GET /v1/dashboard/stats", d.admin(d.serveStats))
	d.mux.HandleFunc("GET /v1/dashboard/rejected", d.admin(d.serveRejected))
	d.mux.HandleFunc("GET /v1/stream", d.admin(d.serveStream))
	d.mux.HandleFunc("GET /v1/trackers", d.admin(d.serveTrackers))
	d.mux.HandleFunc("POST /v1/trackers", d.admin(d.createTracker))
	d.relayRoutes()
	return d
}

// IsDashboardPath reports whether the dashboard answers path, so that the
// collector's router can hand it over.
func IsDashboardPath(path string) bool {
	return path == "/dashboard" || strings.HasPrefix(path, "/dashboard/") ||
		strings.HasPrefix(path, "/v1/dashboard/") || path == "/v1/stream" || path == "/v1/trackers" || isRelayPath(path)
}

func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := d.mux.Handler(r); pattern == "" {
		// ServeMux would answer in plain text; AWS-style clients and the
		// page read JSON errors.
		switch allow := allowedMethods(r.URL.Path); {
		case allow != "":
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "use "+allow)
		default:
			writeError(w, http.StatusNotFound, "NotFoundException", "no such resource: "+r.URL.Path)
		}
		return
	}
	d.mux.ServeHTTP(w, r)
}

// allowedMethods returns the methods path answers to, "" if none.
func allowedMethods(path string) string {
	switch {
	case path == "/v1/trackers":
		return "GET, POST"
	case path == "/v1/relay":
		return "GET"
	case isRelayPath(path):
		return "PUT, DELETE"
	case path == "/v1/stream", path == "/v1/dashboard/stats", path == "/v1/dashboard/rejected",
		path == "/dashboard", path == "/dashboard/", strings.Count(path, "/") == 2 && strings.HasPrefix(path, "/dashboard/"):
		return "GET, HEAD"
	}
	return ""
}

// Stored tells the dashboard that ingest stored b with result res: the
// live streams wake up and duplicates are counted. It never blocks.
func (d *Dashboard) Stored(b *server.Batch, res server.PutResult) {
	if res.Duplicates > 0 {
		d.dups.add(b.Request.TrackingID, b.ReceivedAt, res.Duplicates)
	}
	if res.Accepted > 0 {
		d.cfg.Feed.Stored()
	}
}

// admin wraps an API handler with the admin-token check.
func (d *Dashboard) admin(next http.HandlerFunc) http.HandlerFunc {
	return requireAdmin(d.cfg.AdminToken, next)
}

// servePage serves the static page. It holds no data, so it needs no
// token: without one it shows a sign-in form, and everything it shows
// comes from the API, which does.
func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	data, err := fs.ReadFile(d.cfg.Page, name)
	if err != nil {
		writeError(w, http.StatusNotFound, "NotFoundException", "no such resource: "+r.URL.Path)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// Defence in depth behind the page's own rule (values only ever
	// become text): no inline script, no foreign origin, no framing.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.Write(data)
}

// trackerJSON is a tracker in the API.
type trackerJSON struct {
	TrackingID string   `json:"trackingId"`
	Name       string   `json:"name"`
	Origins    []string `json:"origins"`
	Disabled   bool     `json:"disabled"`
	CreatedAt  int64    `json:"createdAt"` // epoch ms
}

func toTrackerJSON(t *server.Tracker) trackerJSON {
	origins := t.Origins
	if origins == nil {
		origins = []string{}
	}
	return trackerJSON{TrackingID: t.ID, Name: t.Name, Origins: origins, Disabled: t.Disabled, CreatedAt: t.CreatedAt.UnixMilli()}
}

func (d *Dashboard) serveTrackers(w http.ResponseWriter, r *http.Request) {
	ts, err := d.cfg.Store.Trackers(r.Context())
	if err != nil {
		d.fail(w, "list trackers", err)
		return
	}
	out := make([]trackerJSON, len(ts))
	for i, t := range ts {
		out[i] = toTrackerJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trackers": out})
}

// createTracker answers POST /v1/trackers {"name": ..., "origins": [...]}
// with the new tracker (201).
func (d *Dashboard) createTracker(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string   `json:"name"`
		Origins []string `json:"origins"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTrackerBody))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidInputException", `body: not a JSON object {"name": "...", "origins": ["https://..."]}: `+err.Error())
		return
	}
	if err := checkTracker(req.Name, req.Origins); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidInputException", err.Error())
		return
	}
	t, err := d.cfg.Store.CreateTracker(r.Context(), strings.TrimSpace(req.Name), req.Origins)
	if err != nil {
		d.fail(w, "create tracker", err)
		return
	}
	d.log.Info("tracker created", "tracking_id", t.ID, "name", t.Name, "origins", t.Origins)
	writeJSON(w, http.StatusCreated, toTrackerJSON(t))
}

// checkTracker validates a new tracker's fields, naming the one at fault.
func checkTracker(name string, origins []string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return errors.New("name: missing or empty")
	case utf8.RuneCountInString(name) > maxTrackerName:
		return errors.New("name: longer than " + strconv.Itoa(maxTrackerName) + " characters")
	case len(origins) > maxTrackerOrigins:
		return errors.New("origins: more than " + strconv.Itoa(maxTrackerOrigins))
	}
	for i, o := range origins {
		if _, err := server.NormalizeOrigin(o); err != nil {
			return errors.New("origins[" + strconv.Itoa(i) + "]: " + err.Error())
		}
	}
	return nil
}

// statsJSON is GET /v1/dashboard/stats: the tracker's last hour.
type statsJSON struct {
	TrackingID  string          `json:"trackingId"`
	From        int64           `json:"from"` // epoch ms, start of perMinute[0]
	Now         int64           `json:"now"`
	PerMinute   []int64         `json:"perMinute"`
	Events      int64           `json:"events"`
	ByEventType []typeCountJSON `json:"byEventType"`
	// Duplicates are counted in memory, since CountedSince.
	Duplicates     int64  `json:"duplicates"`
	CountedSince   int64  `json:"duplicatesCountedSince"`
	Rejected       int64  `json:"rejected"`
	ActiveSessions int64  `json:"activeSessions"`
	Sampled        int    `json:"sampled"`
	MedianDelayMs  *int64 `json:"medianDelayMs"` // null without events
	ClockSkewMs    *int64 `json:"clockSkewMs"`
}

type typeCountJSON struct {
	EventType string `json:"eventType"`
	Count     int64  `json:"count"`
}

func (d *Dashboard) serveStats(w http.ResponseWriter, r *http.Request) {
	tid, ok := trackerParam(w, r)
	if !ok {
		return
	}
	now := d.now()
	st, err := d.stats.get(tid, func() (*server.TrafficStats, error) {
		return d.cfg.Store.TrafficStats(r.Context(), tid, now)
	})
	if err != nil {
		d.fail(w, "read stats", err)
		return
	}
	out := statsJSON{
		TrackingID: tid, From: st.From.UnixMilli(), Now: now.UnixMilli(), PerMinute: st.PerMinute, Events: st.Events,
		ByEventType: make([]typeCountJSON, len(st.ByEventType)), Duplicates: d.dups.since(tid, st.From),
		CountedSince: max(st.From.UnixMilli(), d.started.UnixMilli()), Rejected: st.Rejected, ActiveSessions: st.ActiveSessions,
		Sampled: st.Sampled,
	}
	for i, c := range st.ByEventType {
		out.ByEventType[i] = typeCountJSON{c.EventType, c.Count}
	}
	if st.Sampled > 0 {
		delay, skew := st.MedianDelay.Milliseconds(), st.MedianSkew.Milliseconds()
		out.MedianDelayMs, out.ClockSkewMs = &delay, &skew
	}
	writeJSON(w, http.StatusOK, out)
}

// rejectedJSON is one entry of GET /v1/dashboard/rejected.
type rejectedJSON struct {
	At     int64  `json:"at"` // epoch ms
	Status int    `json:"status"`
	Reason string `json:"reason"`
	Origin string `json:"origin,omitempty"`
	Body   string `json:"body"`
}

func (d *Dashboard) serveRejected(w http.ResponseWriter, r *http.Request) {
	tid, ok := trackerParam(w, r)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 50, maxRejectedList)
	if !ok {
		return
	}
	list, err := d.cfg.Store.Rejected(r.Context(), tid, limit)
	if err != nil {
		d.fail(w, "read rejected", err)
		return
	}
	out := make([]rejectedJSON, len(list))
	for i, x := range list {
		out[i] = rejectedJSON{At: x.ReceivedAt.UnixMilli(), Status: x.Status, Reason: x.Reason, Origin: x.Origin, Body: x.Body}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rejected": out})
}

// trackerParam reads the required ?tracker= parameter.
func trackerParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	tid := r.URL.Query().Get("tracker")
	if tid == "" || len(tid) > event.MaxIDLength {
		writeError(w, http.StatusBadRequest, "InvalidInputException", "tracker: give the trackingId, e.g. ?tracker=tk_...")
		return "", false
	}
	return tid, true
}

// intParam reads an optional positive integer parameter, at most max.
func intParam(w http.ResponseWriter, r *http.Request, name string, def, max int) (int, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		writeError(w, http.StatusBadRequest, "InvalidInputException",
			name+": must be a whole number from 0 to "+strconv.Itoa(max))
		return 0, false
	}
	return n, true
}

func (d *Dashboard) fail(w http.ResponseWriter, what string, err error) {
	d.log.Error("dashboard: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, "InternalFailure", what+" failed; see the collector's log")
}

// dupCounter counts duplicates per tracker and minute for the last hour,
// in memory: the store keeps the first event of an id, not the repeats.
type dupCounter struct {
	mu sync.Mutex
	by map[string]*[server.DashboardMinutes]minuteCount
}

type minuteCount struct{ minute, n int64 }

func newDupCounter() *dupCounter {
	return &dupCounter{by: make(map[string]*[server.DashboardMinutes]minuteCount)}
}

func (c *dupCounter) add(tid string, at time.Time, n int) {
	minute := at.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	ring := c.by[tid]
	if ring == nil {
		ring = new([server.DashboardMinutes]minuteCount)
		c.by[tid] = ring
	}
	slot := &ring[minute%server.DashboardMinutes]
	if slot.minute != minute {
		*slot = minuteCount{minute: minute}
	}
	slot.n += int64(n)
}

// since sums tid's duplicates in the minutes from the one holding from.
func (c *dupCounter) since(tid string, from time.Time) int64 {
	first := from.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	if ring := c.by[tid]; ring != nil {
		for _, s := range ring {
			if s.minute >= first {
				n += s.n
			}
		}
	}
	return n
}

// statsCache bounds what open dashboards cost: reading a tracker's hour
// scans its events, so a result is reused for statsReuse times as long as
// it took to compute (a few milliseconds on a quiet tracker, seconds on a
// very busy one), and concurrent requests for one tracker share one read.
// The database is then busy with one tracker's stats at most a fifth of
// the time, however many dashboards show it.
type statsCache struct {
	now     func() time.Time // measures what a read costs
	mu      sync.Mutex
	entries map[string]*statsEntry
}

const statsReuse = 4

type statsEntry struct {
	mu         sync.Mutex // held while computing
	st         *server.TrafficStats
	freshUntil time.Time
}

func newStatsCache(now func() time.Time) *statsCache {
	return &statsCache{now: now, entries: make(map[string]*statsEntry)}
}

// maxStatsEntries bounds the cache; it is cleared when full (trackers are
// few, so this only guards against a flood of made-up trackingIds).
const maxStatsEntries = 1000

func (c *statsCache) get(tid string, compute func() (*server.TrafficStats, error)) (*server.TrafficStats, error) {
	c.mu.Lock()
	e := c.entries[tid]
	if e == nil {
		if len(c.entries) >= maxStatsEntries {
			clear(c.entries)
		}
		e = &statsEntry{}
		c.entries[tid] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st != nil && c.now().Before(e.freshUntil) {
		return e.st, nil
	}
	start := c.now()
	st, err := compute()
	if err != nil {
		return nil, err
	}
	end := c.now()
	e.st, e.freshUntil = st, end.Add(statsReuse*end.Sub(start))
	return st, nil
}
