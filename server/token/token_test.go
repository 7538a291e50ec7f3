package token_test

import (
	"regexp"
	"testing"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/token"
)

// TestShapes checks each generator's alphabet and length, that its values
// differ from call to call, and that they pass the checks the collector
// applies to what a user gives instead.
func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		new   func() string
		shape *regexp.Regexp
		check func(string) error
	}{
		{"trackingId", token.NewTrackingID, regexp.MustCompile(`^tk_[a-z2-7]{20}$`), func(s string) error {
			return (&event.Request{TrackingID: s, SessionID: "s", EventList: []event.Event{{
				EventType: "T", EventID: event.String("e"), SentAt: 1714979289}}}).Validate()
		}},
		{"admin token", token.NewAdminToken, regexp.MustCompile(`^[a-z2-7]{40}$`), nil},
		{"access key", func() string { k := token.NewAccessKey(); return k.ID + " " + k.Secret },
			regexp.MustCompile(`^AKTK[A-Z2-7]{16} [A-Za-z0-9+/]{40}$`), func(s string) error {
				k := token.NewAccessKey()
				_, err := server.NewAccessKey(k.ID, k.Secret)
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				v := tc.new()
				if !tc.shape.MatchString(v) {
					t.Fatalf("%q does not match %s", v, tc.shape)
				}
				if seen[v] {
					t.Fatalf("%q came twice in 100 calls", v)
				}
				seen[v] = true
				if tc.check != nil {
					if err := tc.check(v); err != nil {
						t.Fatalf("%q: %v", v, err)
					}
				}
			}
		})
	}
	if n := len(token.NewAdminToken()); n != token.AdminTokenLength {
		t.Errorf("admin token of %d characters, want AdminTokenLength (%d)", n, token.AdminTokenLength)
	}
}
