// Package sqlite stores the collector's trackers and events in an embedded
// SQLite database (modernc.org/sqlite, pure Go, no cgo).
//
// Events are written by one goroutine that groups the requests waiting for
// it into one transaction (group commit): under load a single fsync makes
// hundreds of requests durable, so durability does not cost throughput.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Memory is the path that opens a database held in memory only, for tests
// and `tracklet serve --memory`.
const Memory = ":memory:"

// DB is a Tracklet database. It implements server.Store and
// server.EventReader. Its methods are safe for concurrent use.
type DB struct {
	path  string
	write *sql.DB // one connection: SQLite has one writer at a time
	read  *sql.DB // readers run beside the writer thanks to WAL
	ckpt  *sql.DB // the checkpointer's connection (file databases only)
	log   *slog.Logger
	now   func() time.Time

	writes     chan *writeReq
	writerDone chan struct{}
	mu         sync.RWMutex // guards closed against sends on writes
	closed     bool

	committed chan struct{}      // the writer wakes the checkpointer
	pause     chan chan struct{} // the checkpointer pauses the writer until the channel it sends closes
	stopCkpt  chan struct{}
	ckptDone  chan struct{}

	ckptEvery    time.Duration // Options.CheckpointInterval
	maxWALFrames int           // Options.MaxWALFrames
	restartHold  time.Time     // no RESTART before then; checkpointer only
	restartBack  time.Duration // the last hold's length

	insert   [maxRowsPerInsert + 1]*sql.Stmt // insert[n] inserts n events
	observer Observer
	rejected rejectedLog
	trackers trackerCache

	identity fileIdentity // what path named at Open; see health.go
	health   health
	lock     *os.File // Options.Exclusive's lock file, held until Close

	retireEvery time.Duration      // Options.RetentionEvery
	stopRetire  context.CancelFunc // nil without Options.Retention
	retireDone  chan struct{}
	retireHook  func(deleted int) // tests: after each batch Retire deletes
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	Logger *slog.Logger
	// Observer, if set, hears about every group commit (for metrics).
	Observer Observer
	// MaxRejected and MaxRejectedBytes bound the rejected-requests table
	// in rows and in bytes of text; 0 means server.DefaultMaxRejected and
	// server.DefaultMaxRejectedBytes.
	MaxRejected      int
	MaxRejectedBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CheckpointInterval is the least time between two WAL checkpoints;
	// 0 means 50 ms. See checkpointer.
	CheckpointInterval time.Duration
	// MaxWALFrames bounds the WAL: past it the checkpointer pauses the
	// writer and restarts the WAL; 0 means 8192 frames (32 MB at 4 KiB pages).
	MaxWALFrames int
	// Exclusive makes Open fail with ErrInUse while another process has
	// the database open with Exclusive (see lock.go): `tracklet serve`
	// sets it, the other commands do not.
	Exclusive bool
	// Retention, if positive, deletes events received longer ago than it
	// in the background (see retention.go), at Open and then every
	// RetentionEvery (0 means a minute).
	Retention      time.Duration
	RetentionEvery time.Duration

	retireHook func(deleted int) // tests: after each batch Retire deletes
}

// Observer is told about each group commit, for metrics.
type Observer interface {
	// Committed is called after a transaction holding requests PutEvents
	// calls (and events events) took d to commit, err being its outcome.
	Committed(requests, events int, d time.Duration, err error)
}

// Open opens (creating if needed) the database at path, or an in-memory one
// if path is Memory, and brings its schema up to date.
//
// A file database runs in WAL mode with synchronous=FULL, so a commit is on
// disk, WAL included, before PutEvents returns.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	db := &DB{
		path:       path,
		log:        opts.Logger,
		now:        opts.Now,
		observer:   opts.Observer,
		writes:     make(chan *writeReq, 4096),
		writerDone: make(chan struct{}),
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	db.rejected.maxRows = cmp.Or(max(opts.MaxRejected, 0), server.DefaultMaxRejected)
	db.rejected.maxBytes = cmp.Or(max(opts.MaxRejectedBytes, 0), server.DefaultMaxRejectedBytes)
	db.ckptEvery = cmp.Or(opts.CheckpointInterval, checkpointEvery)
	db.maxWALFrames = cmp.Or(opts.MaxWALFrames, maxWALFrames)
	db.retireEvery = cmp.Or(opts.RetentionEvery, retireEvery)
	db.retireHook = opts.retireHook
	if opts.Exclusive && path != Memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		var err error
		if db.lock, err = lockFile(path); err != nil {
			return nil, err
		}
	}
	if err := db.open(ctx); err != nil {
		db.closeDBs()
		return nil, err
	}
	// The channels exist before the writer starts: it selects on them.
	if db.ckpt != nil {
		db.committed = make(chan struct{}, 1)
		db.pause = make(chan chan struct{})
		db.stopCkpt = make(chan struct{})
		db.ckptDone = make(chan struct{})
	}
	go db.writer()
	if db.ckpt != nil {
		go db.checkpointer(db.ckpt)
	}
	if opts.Retention > 0 {
		var rctx context.Context
		rctx, db.stopRetire = context.WithCancel(context.Background())
		db.retireDone = make(chan struct{})
		go db.retirer(rctx, opts.Retention)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	var err error
	if db.path == Memory {
		// One connection, shared by readers and the writer: every
		// connection to ":memory:" would be a database of its own.
		if db.write, err = sql.Open("sqlite", "file::memory:?_txlock=immediate&_pragma=foreign_keys(1)"); err != nil {
			return fmt.Errorf("open in-memory database: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		db.read = db.write
	} else {
		if dir := filepath.Dir(db.path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create database directory: %w", err)
			}
		}
		common := "file:" + escapePath(db.path) +
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
		base := common + "&_pragma=busy_timeout(10000)"
		// The writer never checkpoints: see checkpointer.
		if db.write, err = sql.Open("sqlite", base+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)"); err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		if db.read, err = sql.Open("sqlite", base); err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		db.read.SetMaxOpenConns(8)
		db.read.SetMaxIdleConns(8)
		// The checkpointer waits for readers only briefly: see restartWait.
		if db.ckpt, err = sql.Open("sqlite", common+fmt.Sprintf("&_pragma=busy_timeout(%d)", restartWait.Milliseconds())); err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		db.ckpt.SetMaxOpenConns(1)
		db.ckpt.SetMaxIdleConns(1)
	}
	if err := db.migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", db.path, err)
	}
	if db.path != Memory {
		var mode string
		if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return fmt.Errorf("check journal mode: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("%s: journal mode is %q, not WAL", db.path, mode)
		}
	}
	for n := 1; n <= maxRowsPerInsert; n++ {
		if db.insert[n], err = db.write.PrepareContext(ctx, sqlstore.InsertRequestSQL(n)); err != nil {
			return fmt.Errorf("prepare insert: %w", err)
		}
	}
	if db.path != Memory {
		// The checkpointer's connection opens now, on the file we
		// checked, not later on whatever the path names then.
		if err := db.ckpt.PingContext(ctx); err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
		if db.identity, err = statIdentity(db.path); err != nil {
			return fmt.Errorf("open %s: %w", db.path, err)
		}
	}
	return nil
}

// escapePath makes a file name safe inside a file: URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Path returns the database's file name, or Memory.
func (db *DB) Path() string { return db.path }

// Close stops taking writes, commits every write already queued, and closes
// the database. PutEvents calls after Close fail with server.ErrClosed.
func (db *DB) Close() error {
	if db.stopRetire != nil {
		db.stopRetire()
		<-db.retireDone
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.writes)
	db.mu.Unlock()
	<-db.writerDone
	if db.ckpt != nil {
		close(db.stopCkpt)
		<-db.ckptDone
	}
	return db.closeDBs()
}

func (db *DB) closeDBs() error {
	var errs []error
	for _, s := range db.insert {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.Close())
	}
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if db.lock != nil {
		errs = append(errs, db.lock.Close()) // releases the flock
	}
	return errors.Join(errs...)
}

// migrationFiles bring an empty database to the current schema, one file
// per step, in name order; PRAGMA user_version records how far a database
// has come. The Cloudflare Worker applies the same files to D1.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = loadMigrations()

func loadMigrations() []string {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is a constant
	}
	sort.Strings(names)
	steps := make([]string, len(names))
	for i, name := range names {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		steps[i] = string(b)
	}
	return steps
}

func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this tracklet (%d); upgrade tracklet", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("schema step %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
