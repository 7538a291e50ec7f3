package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/time/rate"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/demo"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/live"
	"github.com/tracklet/tracklet/server/metrics"
	"github.com/tracklet/tracklet/server/relay"
	"github.com/tracklet/tracklet/server/sigv4"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/token"
	"github.com/tracklet/tracklet/web"
)

// demoTrackerName is the tracker `serve --demo` creates once and reuses.
const demoTrackerName = "demo"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `host:port` (port 0 picks a free one)")
	memory := fs.Bool("memory", false, "keep everything in memory (for tests in CI); --db is ignored")
	withDemo := fs.Bool("demo", false, "serve the demo site at /demo/ with a tracker named \"demo\"")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	maxBody := fs.Int64("max-body", trackhttp.DefaultMaxBodyBytes, "largest request body in `bytes`, as sent and once decompressed")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long to let in-flight requests finish on SIGTERM")
	adminToken := fs.String("admin-token", "", "Bearer `token` for the read/admin API (/v1/...); empty switches it off (with --memory, one is generated)")
	accessLog := fs.Bool("access-log", true, "log every request (never its body) as JSON on standard error")
	metricsOn := fs.Bool("metrics", true, "serve Prometheus metrics at /metrics")
	ipRate := fs.Float64("rate-limit-ip", 1000, "requests per second one client address may send to /events (0: no limit)")
	ipBurst := fs.Int("rate-limit-ip-burst", 0, "burst of --rate-limit-ip (default: twice the rate)")
	trackerRate := fs.Float64("rate-limit-tracker", 5000, "events per second one trackingId may send (0: no limit)")
	trackerBurst := fs.Int("rate-limit-tracker-burst", 0, "burst of --rate-limit-tracker (default: twice the rate)")
	loaderMaxAge := fs.Duration("loader-max-age", trackhttp.DefaultLoaderMaxAge, "how long browsers may use tracklet.js without asking (0: revalidate on every visit)")
	maxRejected := fs.Int("max-rejected", server.DefaultMaxRejected, "how many refused requests to keep for `tracklet rejected` (the newest)")
	maxRejectedBytes := fs.Int64("max-rejected-bytes", server.DefaultMaxRejectedBytes, "how many `bytes` of refused requests to keep (the newest)")
	trustProxy := fs.Bool("trust-proxy", false, "take the client IP from X-Forwarded-For, as the trusted proxy saw it (only behind a reverse proxy)")
	trustedProxies := fs.String("trusted-proxies", "", "with --trust-proxy, the proxies' `CIDRs` (comma-separated; default loopback and private ranges)")
	proxyHops := fs.Int("proxy-hops", 0, "with --trust-proxy, the `number` of proxies in front instead: the client is that many entries from the right of X-Forwarded-For")
	maxConns := fs.Int("max-conns", 0, "most client connections open at once (0: from the descriptor limit, at most 16384)")
	maxConnsPerIP := fs.Int("max-conns-per-ip", 0, "most connections one client address holds (0: an eighth of --max-conns, at least 16; -1: no limit)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS (and HTTP/2) with the certificate chain in this PEM `file`; reloaded when it changes")
	tlsKey := fs.String("tls-key", "", "the private key of --tls-cert, a PEM `file`")
	h2c := fs.Bool("h2c", false, "without TLS, also take HTTP/2 with prior knowledge (h2c), for a reverse proxy that speaks it")
	retention := fs.Duration("retention", 0, "delete events received longer ago than this `duration` (e.g. 2160h for 90 days), in the background; 0 keeps them forever")
	relayOn := fs.Bool("relay", true, "relay the events of trackers linked to Amazon Personalize (tracklet tracker relay), with the AWS SDK's credentials")
	relayPoll := fs.Duration("relay-poll", time.Second, "how often the relay looks for new events and links")
	relayBackoff := fs.Duration("relay-backoff", relay.DefaultBackoff.Base, "the relay's first wait after a failed PutEvents (doubling, with jitter)")
	relayBackoffMax := fs.Duration("relay-backoff-max", relay.DefaultBackoff.Max, "the relay's longest wait between retries")
	var timeouts timeoutFlags
	fs.DurationVar(&timeouts.readHeader, "read-header-timeout", 5*time.Second, "time a client has to send the request headers")
	fs.DurationVar(&timeouts.read, "read-timeout", 30*time.Second, "time a client has to send the whole request")
	fs.DurationVar(&timeouts.write, "write-timeout", 60*time.Second, "time to write a response (exports through the admin API included)")
	fs.DurationVar(&timeouts.idle, "idle-timeout", 120*time.Second, "how long a kept-alive connection may stay idle")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*trustProxy && (*trustedProxies != "" || *proxyHops != 0) {
		return errors.New("--trusted-proxies and --proxy-hops need --trust-proxy")
	}
	proxies := trackhttp.Proxies{Trust: *trustProxy, Hops: *proxyHops}
	if *trustedProxies != "" {
		var err error
		if proxies.Trusted, err = trackhttp.ParseProxies(*trustedProxies); err != nil {
			return fmt.Errorf("--trusted-proxies: %w", err)
		}
	}
	if *memory && *adminToken == "" {
		*adminToken = token.NewAdminToken()
		fmt.Fprintf(stdout, "Admin token: %s\n", *adminToken)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	tuneGC()

	path := *dbPath
	if *memory {
		path = sqlite.Memory
	}
	var m *metrics.Metrics
	var observer sqlite.Observer
	if *metricsOn {
		m = metrics.New(nil)
		observer = m
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both, or neither")
	}
	if *h2c && *tlsCert != "" {
		return errors.New("--h2c is HTTP/2 without TLS; with --tls-cert, HTTP/2 is on already")
	}
	if *retention < 0 {
		return fmt.Errorf("--retention %v: want a positive duration, or 0 to keep events forever", *retention)
	}
	// Exclusive: a second collector on this file stops here, with an
	// error naming the first (see package sqlite's lock.go).
	db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log, Observer: observer, Exclusive: true, Retention: *retention,
		MaxRejected: *maxRejected, MaxRejectedBytes: *maxRejectedBytes})
	if err != nil {
		return err
	}
	defer db.Close()

	cfg := trackhttp.Config{
		Store:        db,
		Rejected:     db,
		Admin:        db,
		AdminToken:   *adminToken,
		SigV4:        sigv4.Verifier{},
		Assets:       web.Dist(),
		LoaderMaxAge: cmp.Or(*loaderMaxAge, -1), // the flag's 0 is "always revalidate"
		Logger:       log,
		AccessLog:    *accessLog,
		Limits:       trackhttp.Limits{MaxBodyBytes: *maxBody, MaxDecodedBytes: *maxBody},
		RateLimits: trackhttp.RateLimits{
			PerIP: rate.Limit(*ipRate), IPBurst: *ipBurst,
			PerTracker: rate.Limit(*trackerRate), TrackerBurst: *trackerBurst,
		},
		Proxies: proxies,
	}
	if m != nil {
		m.WatchQueue(db.QueueDepth)
		cfg.Observer, cfg.Metrics = m, m.Handler()
	}
	var demoTracker *server.Tracker
	if *withDemo {
		if demoTracker, err = ensureTracker(ctx, db, demoTrackerName); err != nil {
			return err
		}
		cfg.Demo = demo.NewHandler(web.Demo(), demo.Data{TrackingID: demoTracker.ID})
	}

	// The dashboard's page (/dashboard) reads the admin API (without a
	// token it explains how to set one); the live feed behind /v1/stream
	// reads the store only while a stream is open.
	feed := live.NewFeed(db, live.NewHub(0, 0), 0, log)
	feedCtx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	go feed.Run(feedCtx)
	cfg.DashboardPage, cfg.Trackers, cfg.Dashboard, cfg.Feed = web.Dashboard(), db, db, liveFeed{feed}
	cfg.Relay = relay.Admin{Store: db}

	stopRelay := func() {}
	if *relayOn {
		if stopRelay, err = startRelay(ctx, db, m, log, *relayPoll, relay.Backoff{Base: *relayBackoff, Max: *relayBackoffMax}); err != nil {
			return err
		}
		defer stopRelay() // on an early return; idempotent
	}

	srv := newServer(trackhttp.NewHandler(cfg), timeouts, log)
	srv.RegisterOnShutdown(stopFeed) // open streams end, so Shutdown need not wait for them
	scheme := "http"
	if *tlsCert != "" {
		certs, err := newCertReloader(*tlsCert, *tlsKey, log)
		if err != nil {
			return err
		}
		// ServeTLS offers h2 and http/1.1 by ALPN: browsers take HTTP/2.
		srv.TLSConfig = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
		scheme = "https"
	} else if *h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	guard := trackhttp.NewConnGuard(connLimits(*maxConns, *maxConnsPerIP, proxies))
	ln = guard.Listener(ln)
	srv.ConnState = guard.ConnState
	base := scheme + "://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Tracklet collector listening on %s\n", base)
	if *memory {
		fmt.Fprintln(stdout, "Storage: in memory (everything is lost when the collector stops)")
	} else {
		fmt.Fprintf(stdout, "Storage: %s\n", path)
	}
	if demoTracker != nil {
		fmt.Fprintf(stdout, "Demo page: %s/demo/\nDemo trackingId: %s\n", base, demoTracker.ID)
	}
	if *adminToken != "" {
		fmt.Fprintf(stdout, "Dashboard: %s/dashboard\n", base)
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", path)

	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from GetCertificate
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (their events commit),
	// then the deferred Close commits whatever is still queued.
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: requests still running were cut off", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopRelay() // before the database closes under it; what it sent unconfirmed is sent again next time
	if err := db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	log.Info("stopped")
	return nil
}

// startRelay runs the relay to Personalize until the returned function is
// called. Credentials come from the AWS SDK's default chain; they are
// looked up only when a linked tracker has events to send.
func startRelay(ctx context.Context, db *sqlite.DB, m *metrics.Metrics, log *slog.Logger, poll time.Duration, backoff relay.Backoff) (func(), error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("relay: AWS configuration: %w", err)
	}
	cfg := relay.Config{Store: db, Sender: &relay.Personalize{Credentials: awsCfg.Credentials},
		Logger: log, Poll: poll, Backoff: backoff}
	if m != nil {
		cfg.Observer = m
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		relay.New(cfg).Run(rctx)
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }, nil
}

// timeoutFlags bound how long slow clients may hold a connection.
type timeoutFlags struct{ readHeader, read, write, idle time.Duration }

// newServer returns the HTTP server with its timeouts against slow clients
// (slowloris) and a bound on header size.
func newServer(h http.Handler, t timeoutFlags, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ensureTracker returns the oldest tracker called name, creating it if
// there is none.
func ensureTracker(ctx context.Context, db *sqlite.DB, name string) (*server.Tracker, error) {
	ts, err := db.Trackers(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Name == name && !t.Disabled {
			return t, nil
		}
	}
	return db.CreateTracker(ctx, name, nil)
}

// liveFeed is package live's Feed as the admin API's /v1/stream takes it.
type liveFeed struct{ *live.Feed }

func (f liveFeed) Subscribe(ctx context.Context, filter server.StreamFilter) (trackhttp.Subscription, error) {
	s, err := f.Feed.Subscribe(ctx, filter)
	if err != nil {
		return nil, err // not a nil *live.Subscription in a non-nil interface
	}
	return s, nil
}
