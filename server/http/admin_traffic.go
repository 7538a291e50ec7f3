package http

import (
	"net/http"
	"sync"
	"time"

	"github.com/tracklet/tracklet/server"
)

// trafficJSON is GET /v1/traffic: a tracker's last hour.
type trafficJSON struct {
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

// serveTraffic answers GET /v1/traffic?trackingId=T: what the dashboard
// charts of T's last hour.
func (h *Handler) serveTraffic(w http.ResponseWriter, r *http.Request) {
	tid, ok := TrackingIDParam(w, r, true)
	if !ok {
		return
	}
	now := h.now()
	st, err := h.traffic.get(tid, func() (*server.TrafficStats, error) {
		return h.cfg.Dashboard.TrafficStats(r.Context(), tid, now)
	})
	if err != nil {
		h.internalError(w, r, "read traffic", err)
		return
	}
	out := trafficJSON{
		TrackingID: tid, From: st.From.UnixMilli(), Now: now.UnixMilli(), PerMinute: st.PerMinute, Events: st.Events,
		ByEventType: make([]typeCountJSON, len(st.ByEventType)), Duplicates: h.dups.since(tid, st.From),
		CountedSince: max(st.From.UnixMilli(), h.started.UnixMilli()), Rejected: st.Rejected, ActiveSessions: st.ActiveSessions,
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
