package server_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracklet/tracklet/server"
)

// Each value of a rejection is kept whole up to its bound and cut there
// beyond it, at a rune boundary, as valid UTF-8.
func TestRejectionBound(t *testing.T) {
	fields := []struct {
		name string
		max  int
		get  func(*server.Rejection) *string
	}{
		{"TrackingID", server.MaxRejectedTrackingID, func(r *server.Rejection) *string { return &r.TrackingID }},
		{"Reason", server.MaxRejectedReason, func(r *server.Rejection) *string { return &r.Reason }},
		{"Origin", server.MaxRejectedOrigin, func(r *server.Rejection) *string { return &r.Origin }},
		{"Body", server.MaxRejectedBody, func(r *server.Rejection) *string { return &r.Body }},
	}
	for _, f := range fields {
		for _, c := range []struct {
			name, in, want string
		}{
			{"at the bound", strings.Repeat("a", f.max), strings.Repeat("a", f.max)},
			{"one past", strings.Repeat("a", f.max+1), strings.Repeat("a", f.max)},
			{"a megabyte", strings.Repeat("a", 1<<20), strings.Repeat("a", f.max)},
			{"rune straddling the bound", strings.Repeat("a", f.max-1) + "é", strings.Repeat("a", f.max-1)},
			{"rune ending at the bound", strings.Repeat("a", f.max-2) + "é", strings.Repeat("a", f.max-2) + "é"},
			{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
			{"invalid UTF-8 at the bound", strings.Repeat("a", f.max-1) + "\xff", strings.Repeat("a", f.max-1)},
		} {
			var r server.Rejection
			*f.get(&r) = c.in
			r.Bound()
			got := *f.get(&r)
			if got != c.want {
				t.Errorf("%s, %s: kept %d bytes (…%q), want %d", f.name, c.name, len(got), got[max(0, len(got)-6):], len(c.want))
			}
			if !utf8.ValidString(got) {
				t.Errorf("%s, %s: kept invalid UTF-8", f.name, c.name)
			}
			if r.Size() != len(got) {
				t.Errorf("%s, %s: Size %d, want %d", f.name, c.name, r.Size(), len(got))
			}
		}
	}
	r := server.Rejection{TrackingID: strings.Repeat("t", 1<<20), Reason: strings.Repeat("r", 1<<20),
		Origin: strings.Repeat("o", 1<<20), Body: strings.Repeat("b", 1<<20)}
	r.Bound()
	if r.Size() != server.MaxRejectedRowBytes {
		t.Errorf("a rejection of four 1 MB values keeps %d bytes, want MaxRejectedRowBytes (%d)", r.Size(), server.MaxRejectedRowBytes)
	}
}
