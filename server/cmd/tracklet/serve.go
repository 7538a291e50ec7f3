package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/web"
)

// demoTrackerName is the tracker `serve --demo` creates once and reuses.
const demoTrackerName = "demo"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `host:port` (port 0 picks a free one)")
	memory := fs.Bool("memory", false, "keep everything in memory (for tests in CI); --db is ignored")
	demo := fs.Bool("demo", false, "serve the demo site at /demo/ with a tracker named \"demo\"")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	maxBody := fs.Int64("max-body", trackhttp.DefaultMaxBodyBytes, "largest request body in `bytes`, as sent and once decompressed")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "how long to let in-flight requests finish on SIGTERM")
	if err := parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	path := *dbPath
	if *memory {
		path = sqlite.Memory
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()

	cfg := trackhttp.Config{
		Store:    db,
		Rejected: db,
		Assets:   web.Dist(),
		Logger:   log,
		Limits:   trackhttp.Limits{MaxBodyBytes: *maxBody, MaxDecodedBytes: *maxBody},
	}
	var demoTracker *server.Tracker
	if *demo {
		if demoTracker, err = ensureTracker(ctx, db, demoTrackerName); err != nil {
			return err
		}
		cfg.Demo, cfg.DemoTrackingID = web.Demo(), demoTracker.ID
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           trackhttp.NewHandler(cfg),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Tracklet collector listening on %s\n", base)
	if *memory {
		fmt.Fprintln(stdout, "Storage: in memory (everything is lost when the collector stops)")
	} else {
		fmt.Fprintf(stdout, "Storage: %s\n", path)
	}
	if demoTracker != nil {
		fmt.Fprintf(stdout, "Demo page: %s/demo/\nDemo trackingId: %s\n", base, demoTracker.ID)
	}
	log.Info("listening", "addr", ln.Addr().String(), "db", path)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
	if err := db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	log.Info("stopped")
	return nil
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
