// Package sqlstore holds the SQL that package sqlite (native, modernc.org/sqlite)
// and package d1 (Cloudflare D1, used by the Worker) share: the two stores
// keep the same tables, so they read and write them with the same
// statements and the same row mapping, defined once here: among them the
// one INSERT of events (insertSQL, with its values bound or in JSON) and
// the one builder of an events row's values (AppendRequestArgs and
// AppendEventArgs).
//
// It speaks only database/sql and knows no driver: the worker's wasm must
// not pay for modernc.org/sqlite. What differs between the stores stays in
// them: transactions, the group-commit writer and the tracker cache in
// package sqlite (a statement per request); packing a queue batch's
// requests into statements under D1's size limits and trimming on every
// insert in package d1.
package sqlstore

import (
	"context"
	"database/sql"
)

// Querier runs statements: a *sql.DB, a *sql.Conn or a *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ptr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
