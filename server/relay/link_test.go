package relay

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracklet/tracklet/event"
)

// TestNewLinkChecksEachField holds NewLink to the rule of a PutEvents
// trackingId at its edge, counted in characters as event counts them (a
// 256-character id of 3-byte runes is 768 bytes and still valid), and
// names the field of each refusal.
func TestNewLinkChecksEachField(t *testing.T) {
	for _, tc := range []struct {
		name, pzID, region, endpoint string
		field                        string // "" means accepted
	}{
		{"plain", "pz", "eu-west-1", "", ""},
		{"trimmed", "  pz  ", " eu-west-1 ", "https://example.test/", ""},
		{"max ascii", strings.Repeat("a", event.MaxIDLength), "eu-west-1", "", ""},
		{"max multibyte", strings.Repeat("é", event.MaxIDLength), "eu-west-1", "", ""},
		{"too long", strings.Repeat("a", event.MaxIDLength+1), "eu-west-1", "", "personalizeTrackingId"},
		{"too long multibyte", strings.Repeat("é", event.MaxIDLength+1), "eu-west-1", "", "personalizeTrackingId"},
		{"empty", " ", "eu-west-1", "", "personalizeTrackingId"},
		{"region", "pz", "Mars", "", "region"},
		{"endpoint scheme", "pz", "eu-west-1", "ftp://x", "endpoint"},
		{"endpoint query", "pz", "eu-west-1", "https://x/?a=1", "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLink("tk_1", tc.pzID, tc.region, tc.endpoint)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("NewLink: %v", err)
				}
				if l.PersonalizeTrackingID != strings.TrimSpace(tc.pzID) || l.Region != strings.TrimSpace(tc.region) ||
					l.Endpoint != strings.TrimRight(tc.endpoint, "/") {
					t.Errorf("link = %+v", l)
				}
				return
			}
			var fe *event.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("NewLink error = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
