package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/internal/storetest"
	"github.com/tracklet/tracklet/server/sqlite"
)

// TestStore runs the storage suite that every backend runs on a SQLite
// file.
func TestStore(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t testing.TB) storetest.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		// RecordRejected queues the rejection for the writer; Ping's
		// write queues behind it, so once Ping returns it is committed.
		Reject: func(ctx context.Context, s storetest.Store, r *server.Rejection) error {
			db := s.(*sqlite.DB)
			db.RecordRejected(r)
			return db.Ping(ctx)
		},
	})
}
