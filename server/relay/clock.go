package relay

import (
	"math/rand/v2"
	"time"
)

// Clock is the relay's time: waits between polls and retries. Tests give a
// fake one, so that backoff is tested without waiting.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Backoff is how long to wait before retrying: exponential from Base,
// capped at Max, with "equal jitter" (half the step fixed, half random) so
// that many relays failing together do not retry together, yet each waits
// at least half its step.
type Backoff struct {
	Base, Max time.Duration
}

// DefaultBackoff is the backoff of a zero Config.
var DefaultBackoff = Backoff{Base: 200 * time.Millisecond, Max: time.Minute}

// Delay is the wait before retry number attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Max
	if attempt < 32 {
		d = min(b.Base<<attempt, b.Max)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
