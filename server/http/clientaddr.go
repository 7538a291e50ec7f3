package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies says how to find a request's client address when reverse proxies
// stand in front of the collector. Rate limits, connection caps and access
// logs all count by that address.
//
// Each proxy appends the address it was connected from to
// X-Forwarded-For, so only the right-hand end of the header is trustworthy:
// everything left of what the first trusted proxy appended was written by
// the client and is ignored.
type Proxies struct {
	// Trust takes the client address from X-Forwarded-For. Off, it is the
	// connection's peer, and the header is ignored.
	Trust bool
	// Trusted are the proxies' addresses: the client is the right-most
	// entry that is not one of them, and a peer that is not one of them is
	// the client whatever its header says. Nil means
	// DefaultTrustedProxies.
	Trusted []netip.Prefix
	// Hops, if positive, instead counts proxies: the client is the Hops-th
	// entry from the right (1: the one a single proxy appended), whoever
	// the peer is. For proxies whose addresses are not known in advance.
	Hops int
}

// DefaultTrustedProxies are loopback and the private ranges (RFC 1918 and
// IPv6 unique local addresses): where a reverse proxy in front of the
// collector usually connects from.
var DefaultTrustedProxies = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// maxForwardedHops bounds how far right-to-left X-Forwarded-For is read:
// no real chain of proxies is longer, and a header of trusted-looking
// entries costs no more than this.
const maxForwardedHops = 32

// ParseProxies parses a comma-separated list of CIDR prefixes or single
// addresses, as --trusted-proxies takes it.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else {
			errs = append(errs, fmt.Errorf("%q: not an address or a CIDR prefix", f))
		}
	}
	return out, errors.Join(errs...)
}

// clientAddr returns the address of the client r came from (see Proxies).
// It is the zero Addr when the peer's address is unknown (not a TCP
// connection).
func (p *Proxies) clientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !p.Trust || (p.Hops <= 0 && !p.trusts(peer)) {
		return peer
	}
	addr, hops := peer, 0
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		for rest := values[i]; rest != ""; {
			entry := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				rest = ""
			}
			if entry = strings.TrimSpace(entry); entry == "" {
				continue
			}
			a, ok := parseForwarded(entry)
			if !ok {
				// Garbled by the client: the last hop read is as far as
				// anyone vouches for.
				return addr
			}
			addr, hops = a, hops+1
			if p.Hops > 0 {
				if hops == p.Hops {
					return addr
				}
			} else if !p.trusts(addr) {
				return addr
			}
			if hops == maxForwardedHops {
				return addr
			}
		}
	}
	return addr
}

func (p *Proxies) trusts(a netip.Addr) bool {
	trusted := p.Trusted
	if trusted == nil {
		trusted = DefaultTrustedProxies
	}
	for _, pr := range trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// warnUntrustedProxy logs once that requests come through a proxy (a peer
// on loopback or a private range sending X-Forwarded-For) the collector
// does not trust: then every visitor shares the proxy's address, and its
// per-address limits.
func (h *Handler) warnUntrustedProxy(r *http.Request) {
	if h.cfg.Proxies.Trust || h.warnedProxy.Load() || r.Header.Get("X-Forwarded-For") == "" ||
		!(&Proxies{}).trusts(peerAddr(r.RemoteAddr)) {
		return
	}
	if !h.warnedProxy.Swap(true) {
		h.log.WarnContext(r.Context(), "requests carry X-Forwarded-For but --trust-proxy is off: "+
			"behind a reverse proxy every visitor shares its address and per-address limits; "+
			"start the collector with --trust-proxy (and --trusted-proxies if the proxy is not on loopback or a private range)",
			"peer", r.RemoteAddr)
	}
}

// peerAddr parses a RemoteAddr ("ip:port"); IPv4-mapped IPv6 addresses
// become IPv4, zones are dropped.
func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

// parseForwarded parses one X-Forwarded-For entry: an address, or an
// address with a port as some proxies write it ("192.0.2.1:4711",
// "[2001:db8::1]:4711").
func parseForwarded(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// limitKey is what per-client limits count by: an IPv4 address, or an
// IPv6 address's /64, the least a single subscriber is given (RFC 6177),
// so that one host cannot pose as 2^64 clients.
func limitKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
