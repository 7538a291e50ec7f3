package http

import (
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// invented returns the i-th of a run of made-up client addresses, IPv4 and
// IPv6 (each in its own /64) alternately.
func invented(i int) netip.Addr {
	if i%2 == 0 {
		return netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
	}
	var b [16]byte
	b[0], b[1], b[4], b[5], b[6], b[7] = 0x20, 0x01, byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	b[15] = 1
	return netip.AddrFrom16(b)
}

// A flood of invented addresses leaves a bounded set, in entries and in
// heap, however many it invents; the flooding client itself, being busy,
// stays throttled through every rotation.
func TestLimiterSetBoundedUnderInventedAddresses(t *testing.T) {
	const maxEntries, flood = 4096, 200_000
	s := newLimiterSet[netip.Addr](1, 2, maxEntries)
	now := time.Unix(1e9, 0) // a frozen clock: only the size bound rotates
	busy := netip.MustParseAddr("192.0.2.1")
	for range 2 {
		s.allow(busy, 1, now)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	most := 0
	for i := range flood {
		s.allow(invented(i), 1, now)
		if i%100 == 0 {
			if ok, _ := s.allow(busy, 1, now); ok {
				t.Fatalf("after %d invented addresses the busy client got a token back: its bucket was forgotten", i)
			}
		}
		most = max(most, s.entries())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if most > maxEntries {
		t.Errorf("%d invented addresses: the set held up to %d entries, want at most %d", flood, most, maxEntries)
	}
	// ~150 bytes an entry (key, map slot, rate.Limiter); the bound leaves
	// room for the map's growth and the test's own allocations.
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if limit := int64(maxEntries * 512); grown > limit {
		t.Errorf("%d invented addresses grew the heap by %d bytes, want at most %d (%d entries)", flood, grown, limit, maxEntries)
	}
	t.Logf("%d invented addresses: at most %d entries, heap %+d bytes", flood, most, grown)
	runtime.KeepAlive(s)
}

// An idle bucket is forgotten after at most two refill periods, when it is
// full again: forgetting it changes nothing. A busy one is kept.
func TestLimiterSetForgetsOnlyFullBuckets(t *testing.T) {
	s := newLimiterSet[netip.Addr](rate.Limit(10), 20, 0) // refills in 2 s
	now := time.Unix(1e9, 0)
	idle, busy := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for range 20 {
		s.allow(idle, 1, now)
		s.allow(busy, 1, now)
	}
	if ok, _ := s.allow(idle, 1, now); ok {
		t.Fatal("a spent bucket gave a token")
	}
	for step := range 5 {
		now = now.Add(time.Second)
		s.allow(busy, 1, now)
		if step == 0 && s.entries() != 2 {
			t.Fatalf("a second later: %d entries, want both", s.entries())
		}
	}
	if n := s.entries(); n != 1 {
		t.Errorf("after 5 s (2.5 refill periods): %d entries, want only the busy client's", n)
	}
}

// IPv6 clients count by /64: one host cannot pose as many clients.
func TestLimitKeyIPv6Per64(t *testing.T) {
	s := newLimiterSet[netip.Addr](0.001, 1, 0)
	a := limitKey(netip.MustParseAddr("2001:db8:1:2::1"))
	b := limitKey(netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:ffff"))
	c := limitKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if ok, _ := s.allow(a, 1, time.Unix(1e9, 0)); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := s.allow(b, 1, time.Unix(1e9, 0)); ok {
		t.Error("another address of the same /64 has a budget of its own")
	}
	if ok, _ := s.allow(c, 1, time.Unix(1e9, 0)); !ok {
		t.Error("another /64 shares the budget")
	}
	if v4 := netip.MustParseAddr("192.0.2.1"); limitKey(v4) != v4 {
		t.Error("IPv4 addresses must count whole")
	}
}

func TestClientAddr(t *testing.T) {
	custom, err := ParseProxies("203.0.113.0/24, 2001:db8:ffff::1")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("10.0.0.1, ", 100) + "10.0.0.2"
	for _, c := range []struct {
		name    string
		proxies Proxies
		peer    string
		xff     []string
		want    string
	}{
		{"off: the peer", Proxies{}, "198.51.100.1:1234", []string{"192.0.2.9"}, "198.51.100.1"},
		{"no header", Proxies{Trust: true}, "127.0.0.1:1234", nil, "127.0.0.1"},
		{"one proxy", Proxies{Trust: true}, "127.0.0.1:1234", []string{"192.0.2.9"}, "192.0.2.9"},
		{"spoofed leftmost", Proxies{Trust: true}, "127.0.0.1:1234", []string{"1.2.3.4, 5.6.7.8, 192.0.2.9"}, "192.0.2.9"},
		{"two trusted proxies", Proxies{Trust: true}, "10.0.0.5:1", []string{"6.6.6.6, 192.0.2.9, 10.1.2.3"}, "192.0.2.9"},
		{"several headers", Proxies{Trust: true}, "127.0.0.1:1", []string{"6.6.6.6", "192.0.2.9, 172.16.0.1"}, "192.0.2.9"},
		{"untrusted peer", Proxies{Trust: true}, "198.51.100.1:1", []string{"192.0.2.9"}, "198.51.100.1"},
		{"garbled entry", Proxies{Trust: true}, "127.0.0.1:1", []string{"192.0.2.9, garbage, 10.0.0.1"}, "10.0.0.1"},
		{"with ports", Proxies{Trust: true}, "127.0.0.1:1", []string{"192.0.2.9:4711"}, "192.0.2.9"},
		{"IPv6 with port", Proxies{Trust: true}, "[::1]:1", []string{"[2001:db8::7]:4711"}, "2001:db8::7"},
		{"IPv4-mapped", Proxies{Trust: true}, "[::ffff:127.0.0.1]:1", []string{"::ffff:192.0.2.9"}, "192.0.2.9"},
		{"empty entries", Proxies{Trust: true}, "127.0.0.1:1", []string{"192.0.2.9,, ,"}, "192.0.2.9"},
		{"all trusted", Proxies{Trust: true}, "127.0.0.1:1", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3"},
		{"long trusted chain", Proxies{Trust: true}, "127.0.0.1:1", []string{"6.6.6.6, " + long}, "10.0.0.1"},
		{"custom ranges", Proxies{Trust: true, Trusted: custom}, "203.0.113.7:1", []string{"10.0.0.1, 192.0.2.9, 2001:db8:ffff::1"}, "192.0.2.9"},
		{"custom: loopback not trusted", Proxies{Trust: true, Trusted: custom}, "127.0.0.1:1", []string{"192.0.2.9"}, "127.0.0.1"},
		{"one hop", Proxies{Trust: true, Hops: 1}, "198.51.100.1:1", []string{"6.6.6.6, 192.0.2.9"}, "192.0.2.9"},
		{"two hops", Proxies{Trust: true, Hops: 2}, "198.51.100.1:1", []string{"6.6.6.6, 192.0.2.9, 198.51.100.2"}, "192.0.2.9"},
		{"fewer entries than hops", Proxies{Trust: true, Hops: 3}, "198.51.100.1:1", []string{"192.0.2.9"}, "192.0.2.9"},
	} {
		r, _ := http.NewRequest("POST", "/events", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.proxies.clientAddr(r); got.String() != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/8, nonsense"); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("ParseProxies with a bad entry: %v, want an error naming it", err)
	}
}
