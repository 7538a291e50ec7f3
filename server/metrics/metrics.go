// Package metrics exposes the collector's Prometheus metrics. It
// implements the observer interfaces of packages http and sqlite, so that
// neither links Prometheus itself.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collector's metrics in a registry of its own.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	events      *prometheus.CounterVec
	limited     *prometheus.CounterVec
	commits     *prometheus.CounterVec
	commitTime  prometheus.Histogram
	commitBatch prometheus.Histogram
	checkpoints *prometheus.CounterVec
	ckptTime    *prometheus.HistogramVec
	walFrames   prometheus.Gauge
	relayed     *prometheus.CounterVec
	relayRetry  *prometheus.CounterVec
	relayLag    *prometheus.GaugeVec
	relayAge    *prometheus.GaugeVec
}

// New returns the metrics; queueDepth, if not nil, is read for the write
// queue's depth gauge.
func New(queueDepth func() int) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tracklet_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_events_total", Help: "Events by outcome: accepted, duplicate, rejected.",
		}, []string{"result"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_rate_limited_total", Help: "Requests refused with 429, by scope (ip, tracker).",
		}, []string{"scope"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_commits_total", Help: "Group commits by outcome (ok, error).",
		}, []string{"result"}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tracklet_commit_duration_seconds", Help: "Latency of one group commit, fsync included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tracklet_commit_requests", Help: "PutEvents requests made durable by one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_checkpoints_total", Help: "WAL checkpoints by mode (PASSIVE, RESTART) and outcome (ok, error).",
		}, []string{"mode", "result"}),
		ckptTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tracklet_checkpoint_duration_seconds",
			Help:    "Duration of one WAL checkpoint by mode; a RESTART checkpoint holds the writer that long.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"mode"}),
		walFrames: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracklet_wal_frames", Help: "Frames (pages) in the SQLite WAL at the last checkpoint.",
		}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_relay_events_total", Help: "Events relayed to Amazon Personalize by tracker and outcome (relayed, refused).",
		}, []string{"tracking_id", "result"}),
		relayRetry: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracklet_relay_retries_total", Help: "PutEvents attempts to Personalize that failed and will be retried, by reason (throttled, server, network, credentials).",
		}, []string{"tracking_id", "reason"}),
		relayLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracklet_relay_lag_events", Help: "Stored events not yet relayed to Personalize, by tracker.",
		}, []string{"tracking_id"}),
		relayAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracklet_relay_lag_seconds", Help: "How long the oldest event not yet relayed has waited, by tracker.",
		}, []string{"tracking_id"}),
	}
	for _, r := range []string{"accepted", "duplicate", "rejected"} {
		m.events.WithLabelValues(r) // present at 0 from the start
	}
	m.reg.MustRegister(m.requests, m.duration, m.events, m.limited, m.commits, m.commitTime, m.commitBatch,
		m.checkpoints, m.ckptTime, m.walFrames, m.relayed, m.relayRetry, m.relayLag, m.relayAge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if queueDepth != nil {
		m.WatchQueue(queueDepth)
	}
	return m
}

// WatchQueue publishes queueDepth as the write queue's depth gauge. Call it
// at most once.
func (m *Metrics) WatchQueue(queueDepth func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tracklet_write_queue_depth", Help: "Writes waiting for the database writer.",
	}, func() float64 { return float64(queueDepth()) }))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request implements http.Observer.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Events implements http.Observer.
func (m *Metrics) Events(accepted, duplicates, rejected int) {
	if accepted > 0 {
		m.events.WithLabelValues("accepted").Add(float64(accepted))
	}
	if duplicates > 0 {
		m.events.WithLabelValues("duplicate").Add(float64(duplicates))
	}
	if rejected > 0 {
		m.events.WithLabelValues("rejected").Add(float64(rejected))
	}
}

// RateLimited implements http.Observer.
func (m *Metrics) RateLimited(scope string) { m.limited.WithLabelValues(scope).Inc() }

// Committed implements sqlite.Observer.
func (m *Metrics) Committed(requests, events int, d time.Duration, err error) {
	if err != nil {
		m.commits.WithLabelValues("error").Inc()
		return
	}
	m.commits.WithLabelValues("ok").Inc()
	m.commitTime.Observe(d.Seconds())
	m.commitBatch.Observe(float64(requests))
}

// Checkpointed implements sqlite.CheckpointObserver.
func (m *Metrics) Checkpointed(mode string, walFrames, backfilled int, d time.Duration, err error) {
	if err != nil {
		m.checkpoints.WithLabelValues(mode, "error").Inc()
		return
	}
	m.checkpoints.WithLabelValues(mode, "ok").Inc()
	m.ckptTime.WithLabelValues(mode).Observe(d.Seconds())
	m.walFrames.Set(float64(walFrames))
}

// Relayed implements relay.Observer.
func (m *Metrics) Relayed(trackingID string, events int) {
	m.relayed.WithLabelValues(trackingID, "relayed").Add(float64(events))
}

// Refused implements relay.Observer.
func (m *Metrics) Refused(trackingID string, events int) {
	m.relayed.WithLabelValues(trackingID, "refused").Add(float64(events))
}

// Retried implements relay.Observer.
func (m *Metrics) Retried(trackingID, reason string) {
	m.relayRetry.WithLabelValues(trackingID, reason).Inc()
}

// Lag implements relay.Observer.
func (m *Metrics) Lag(trackingID string, events int64, age time.Duration) {
	m.relayLag.WithLabelValues(trackingID).Set(float64(events))
	m.relayAge.WithLabelValues(trackingID).Set(age.Seconds())
}
