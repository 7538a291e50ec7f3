package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Checkpointing moves the pages committed to the WAL into the database file.
// SQLite's automatic checkpoint runs inside the COMMIT of whichever
// connection pushes the WAL past its threshold: here that would be the
// single writer, which then stops gathering and committing groups while it
// copies pages and syncs the database file. So the writer's connection
// turns automatic checkpoints off and a goroutine of its own, on a
// connection of its own, checkpoints beside it on the other core.
//
// Durability is unchanged: a commit is durable once its WAL frames are
// synced, which the writer still does (synchronous=FULL) before replying;
// the checkpointer's connection is synchronous=FULL too, so the database
// file is synced before the WAL can be reused.
const (
	// checkpointEvery is the least time between two checkpoints: often
	// enough to keep the WAL short, seldom enough that a page changed by
	// many commits is copied once.
	checkpointEvery = 50 * time.Millisecond

	// maxWALFrames bounds the WAL. A PASSIVE checkpoint never waits for
	// the writer, so under steady load it rarely catches up with the last
	// commit and the WAL, which SQLite only rewinds once every frame is
	// in the database file, would keep growing. Past this many frames
	// (about 4 MB each thousand at 4 KiB pages) the checkpointer pauses
	// the writer between two commits and runs a RESTART checkpoint, so
	// that the next commit starts the WAL again from its beginning. The
	// pause is asked for, not fought for through SQLite's busy handler:
	// the writer holds the write lock nearly all the time under load, so
	// a checkpoint polling for it would sleep and retry for a long time
	// and then hold every commit off while it slept.
	maxWALFrames = 8192

	// restartWait bounds how long a RESTART checkpoint, with the writer
	// paused, waits for readers of older snapshots to finish. Our own
	// readers read in short pages; a long one is another process, such
	// as `tracklet backup`, whose VACUUM INTO holds one snapshot for the
	// whole copy. Waiting for it would hold every commit off, so the
	// checkpoint gives up after restartWait, lets the writer go, and
	// does not try again for restartHoldMin, doubling up to
	// restartHoldMax while readers keep it out: meanwhile the WAL grows
	// past maxWALFrames, and ingest goes on.
	restartWait    = 200 * time.Millisecond
	restartHoldMin = 500 * time.Millisecond
	restartHoldMax = 10 * time.Second
)

// checkpointer runs checkpoints on ckpt whenever the writer has committed
// (signalled on db.committed) until db.stopCkpt closes.
func (db *DB) checkpointer(ckpt *sql.DB) {
	defer close(db.ckptDone)
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case <-db.committed:
		case <-db.stopCkpt:
			return
		}
		timer.Reset(db.ckptEvery)
		select {
		case <-timer.C:
		case <-db.stopCkpt:
			timer.Stop()
			return
		}
		db.checkpoint(ckpt)
	}
}

// checkpoint runs one PASSIVE checkpoint, and a RESTART one if the WAL has
// grown past db.maxWALFrames. It returns whether it restarted the WAL.
func (db *DB) checkpoint(ckpt *sql.DB) (restarted bool) {
	ctx := context.Background()
	walFrames, err := db.observedCheckpoint(ctx, ckpt, "PASSIVE")
	if err != nil {
		db.log.Warn("checkpoint", "mode", "PASSIVE", "err", err)
		return false
	}
	if walFrames <= db.maxWALFrames || db.now().Before(db.restartHold) {
		return false
	}
	resume := make(chan struct{})
	select {
	case db.pause <- resume:
	case <-db.stopCkpt:
		return false
	}
	defer close(resume)
	_, err = db.observedCheckpoint(ctx, ckpt, "RESTART")
	if err != nil {
		// Most likely errCheckpointBusy: a reader holds an old snapshot.
		db.restartBack = min(max(2*db.restartBack, restartHoldMin), restartHoldMax)
		db.restartHold = db.now().Add(db.restartBack)
		db.log.Warn("checkpoint", "mode", "RESTART", "err", err, "walFrames", walFrames, "retry_in", db.restartBack.String())
		return false
	}
	db.restartBack = 0
	return true
}

// CheckpointObserver is told about each WAL checkpoint, if Options.Observer
// implements it too: for metrics on the WAL's size and on how long RESTART
// checkpoints hold the writer.
type CheckpointObserver interface {
	// Checkpointed is called after a checkpoint in mode ("PASSIVE" or
	// "RESTART") took d, walFrames being the WAL's size in frames and
	// backfilled how many of them are in the database file; err is its
	// outcome. A RESTART checkpoint pauses the writer for d.
	Checkpointed(mode string, walFrames, backfilled int, d time.Duration, err error)
}

// observedCheckpoint runs walCheckpoint and tells the observer.
func (db *DB) observedCheckpoint(ctx context.Context, ckpt *sql.DB, mode string) (walFrames int, err error) {
	start := time.Now()
	walFrames, backfilled, err := walCheckpoint(ctx, ckpt, mode)
	if o, ok := db.observer.(CheckpointObserver); ok {
		o.Checkpointed(mode, walFrames, backfilled, time.Since(start), err)
	}
	return walFrames, err
}

// walCheckpoint runs PRAGMA wal_checkpoint(mode) and returns how many
// frames the WAL holds and how many of them are in the database file.
func walCheckpoint(ctx context.Context, ckpt *sql.DB, mode string) (walFrames, backfilled int, err error) {
	var busy int
	err = ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &walFrames, &backfilled)
	if err == nil && busy != 0 {
		err = errCheckpointBusy
	}
	return walFrames, backfilled, err
}

// errCheckpointBusy: a RESTART checkpoint could not finish within
// restartWait, readers of older snapshots being still at work.
var errCheckpointBusy = errors.New("checkpoint blocked by a reader of an older snapshot")

// signalCommitted wakes the checkpointer, if there is one, without waiting.
func (db *DB) signalCommitted() {
	select {
	case db.committed <- struct{}{}:
	default:
	}
}
