package http

import (
	"cmp"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound how fast one client and one tracker may send. A zero
// rate switches that limit off. A client is an IPv4 address or an IPv6 /64
// (see Proxies for clients behind reverse proxies).
type RateLimits struct {
	// PerIP is requests per second from one client IP, with bursts of
	// IPBurst (default: twice the rate, at least 10).
	PerIP   rate.Limit
	IPBurst int
	// PerTracker is events per second for one trackingId, with bursts of
	// TrackerBurst (default: twice the rate, at least 10, the most one
	// request carries). Each tracker has its own budget, so one noisy site
	// is refused while the others go on.
	PerTracker   rate.Limit
	TrackerBurst int
	// MaxEntries bounds how many clients, and how many trackers, are
	// tracked at once; 0 means DefaultMaxLimiterEntries.
	MaxEntries int
}

func burstFor(l rate.Limit, burst int) int {
	if burst > 0 {
		return burst
	}
	return max(10, int(math.Ceil(2*float64(l))))
}

// limiterSet holds one token bucket per key, bounded in entries whatever
// keys clients make up. Keys are fixed-size (a netip.Addr, a validated
// trackingId), never text a client chose freely, so entries bound bytes.
//
// Buckets live in two generations: a key's bucket is found in the current
// map or moved there from the previous one; when the current map is half
// the bound, or a refill period old, the previous is dropped whole and the
// current becomes the previous. So no request sweeps the map, and what is
// forgotten on time was idle at least a refill period: full again, so
// forgetting it changes nothing. Only a flood of new keys rotates early,
// and then an idle key may be given a fresh burst; the flooding keys
// themselves, being busy, stay.
type limiterSet[K comparable] struct {
	limit  rate.Limit
	burst  int
	max    int           // entries, both generations
	refill time.Duration // for an empty bucket to fill up

	mu       sync.Mutex
	cur, old map[K]*rate.Limiter
	rotated  time.Time
}

// DefaultMaxLimiterEntries bounds the clients (or trackers) a limiterSet
// tracks at once: ~10 MB at ~150 bytes an entry.
const DefaultMaxLimiterEntries = 1 << 16

func newLimiterSet[K comparable](l rate.Limit, burst, maxEntries int) *limiterSet[K] {
	if l <= 0 {
		return nil
	}
	s := &limiterSet[K]{limit: l, burst: burstFor(l, burst), max: max(2, cmp.Or(maxEntries, DefaultMaxLimiterEntries))}
	s.refill = time.Duration(float64(s.burst) / float64(s.limit) * float64(time.Second))
	s.cur, s.old = make(map[K]*rate.Limiter), make(map[K]*rate.Limiter)
	return s
}

// allow takes n tokens from key's bucket, or none and says how long to wait.
func (s *limiterSet[K]) allow(key K, n int, now time.Time) (bool, time.Duration) {
	if s == nil {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cur) >= s.max/2 || now.Sub(s.rotated) >= s.refill {
		s.old, s.cur, s.rotated = s.cur, make(map[K]*rate.Limiter, len(s.cur)), now
	}
	lim, ok := s.cur[key]
	if !ok {
		if lim, ok = s.old[key]; ok {
			delete(s.old, key)
		} else {
			lim = rate.NewLimiter(s.limit, s.burst)
		}
		s.cur[key] = lim
	}
	r := lim.ReserveN(now, n)
	if !r.OK() { // more than a whole burst: never, at this rate
		return false, time.Duration(float64(n) / float64(s.limit) * float64(time.Second))
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// entries is how many buckets s holds.
func (s *limiterSet[K]) entries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cur) + len(s.old)
}

// retryAfter writes the Retry-After header: whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// clientIP is the address rate limits and logs count by: see Proxies.
func (h *Handler) clientIP(r *http.Request) netip.Addr {
	return h.cfg.Proxies.clientAddr(r)
}
