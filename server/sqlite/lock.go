package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrInUse is returned by Open with Options.Exclusive when another process
// holds the database's collector lock.
var ErrInUse = errors.New("database in use by another collector")

// Two collectors on one file would both work, each slowly: SQLite takes
// turns between their writers (issue 12 measured 1,084 against 195
// requests in 8 s), and an operator who started the second by mistake
// would not know. So a collector takes an exclusive flock on a file beside
// the database, PATH.lock, for as long as it runs. The lock is the
// kernel's: it goes with the process, kill -9 included, so a crash leaves
// nothing stale behind. Tools that only read or make small changes
// (tracker create, export, backup) do not take it and run beside the
// collector. The lock file is not the database file itself: closing any
// descriptor of the database would drop SQLite's own POSIX locks on it.

// lockFile takes the collector lock for the database at path and writes
// our pid into it, for the error the next collector prints.
func lockFile(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				who = "process " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%s: %w (%s holds %s); stop it first, or give this collector another --db",
				path, ErrInUse, who, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
