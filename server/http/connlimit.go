package http

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/net/netutil"
)

// ConnLimits bound the connections the collector holds open, so that idle
// or silent sockets cannot use up its file descriptors and lock new
// clients out.
type ConnLimits struct {
	// Max is the most connections open at once; past it, new ones wait in
	// the kernel's accept queue. Required.
	Max int
	// PerIP is the most one client address (an IPv4 address, an IPv6 /64)
	// may hold; 0 means no per-address bound. Peers that Proxies trusts are
	// not bounded: every visitor comes through them.
	PerIP int
	// Proxies names the trusted proxies; the zero value trusts none.
	Proxies Proxies
}

// ConnGuard enforces ConnLimits on a listener. Wrap the listener with
// Listener and set the http.Server's ConnState to the guard's ConnState.
//
// A connection is quiescent while it waits for its first request or idles
// between two (keep-alive). When the open connections pass a high-water
// mark an eighth below Max, the longest-quiescent are closed, and those
// going idle are closed at once: under pressure the idle timeout is zero.
// A client at its PerIP bound has its own longest-quiescent connection
// closed for the new one, or the new one refused if all of its
// connections are busy with requests. So however many idle connections
// are held, a new client is accepted.
type ConnGuard struct {
	limits    ConnLimits
	highWater int

	mu        sync.Mutex
	open      int
	byIP      map[netip.Addr]*clientConns
	quiescent list.List // of *guardedConn, longest-quiescent first

	closed, refused atomic.Int64
}

// NewConnGuard returns a guard enforcing l.
func NewConnGuard(l ConnLimits) *ConnGuard {
	l.Max = max(l.Max, 1)
	return &ConnGuard{limits: l, highWater: max(1, l.Max-l.Max/8), byIP: make(map[netip.Addr]*clientConns)}
}

// clientConns are one client address's connections.
type clientConns struct {
	open      int
	quiescent list.List // of *guardedConn, longest-quiescent first
}

// guardedConn is a connection the guard counts.
type guardedConn struct {
	net.Conn
	g      *ConnGuard
	ip     netip.Addr
	client *clientConns
	// elem and clientElem are c in g.quiescent and c.client.quiescent, or
	// nil while a request runs.
	elem, clientElem *list.Element
	// gone is set once c no longer counts: the server may still report
	// states of a connection the guard closed.
	gone bool
	once sync.Once
}

func (c *guardedConn) Close() error {
	c.once.Do(c.g.forget(c))
	return c.Conn.Close()
}

// Listener returns inner bounded to Max connections (by
// netutil.LimitListener), each counted by the guard.
func (g *ConnGuard) Listener(inner net.Listener) net.Listener {
	return &guardListener{Listener: netutil.LimitListener(inner, g.limits.Max), g: g}
}

type guardListener struct {
	net.Listener
	g *ConnGuard
}

func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := l.g.admit(c); gc != nil {
			return gc, nil
		}
		c.Close() // refused: its client's connections are all busy
	}
}

// admit counts c in, making room as the limits say; nil means refused.
func (g *ConnGuard) admit(c net.Conn) *guardedConn {
	peer := peerAddr(c.RemoteAddr().String())
	ip := limitKey(peer)
	var victims []*guardedConn
	g.mu.Lock()
	client := g.byIP[ip]
	if client == nil {
		client = &clientConns{}
		g.byIP[ip] = client
	}
	if g.limits.PerIP > 0 && client.open >= g.limits.PerIP && !g.isProxy(peer) {
		e := client.quiescent.Front()
		if e == nil {
			g.mu.Unlock()
			g.refused.Add(1)
			return nil
		}
		v := e.Value.(*guardedConn)
		victims = append(victims, v)
		g.unquiesce(v)
	}
	gc := &guardedConn{Conn: c, g: g, ip: ip, client: client}
	g.open++
	client.open++
	g.quiesce(gc) // waiting for its first request
	// (The victim above, if any, still counts until it is closed below.)
	for over := g.open - len(victims) - g.highWater; over > 0; over-- {
		e := g.quiescent.Front()
		if e == nil || e.Value == gc {
			break // the rest are busy
		}
		v := e.Value.(*guardedConn)
		victims = append(victims, v)
		g.unquiesce(v)
	}
	g.mu.Unlock()
	// Closed outside the lock: Close comes back through forget.
	for _, v := range victims {
		g.closed.Add(1)
		v.Close()
	}
	return gc
}

// isProxy reports whether peer is a reverse proxy, which every visitor's
// connections come through: not bounded per address.
func (g *ConnGuard) isProxy(peer netip.Addr) bool {
	p := &g.limits.Proxies
	return p.Trust && (p.Hops > 0 || p.trusts(peer))
}

// ConnState tracks which connections are quiescent; set it as the
// http.Server's ConnState.
func (g *ConnGuard) ConnState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	gc, ok := c.(*guardedConn)
	if !ok {
		return
	}
	g.mu.Lock()
	if gc.gone {
		g.mu.Unlock()
		return
	}
	switch state {
	case http.StateActive, http.StateHijacked:
		g.unquiesce(gc)
	case http.StateIdle:
		if g.open >= g.highWater {
			// Under pressure an idle connection is closed at once: the
			// client opens a new one when it needs it.
			g.unquiesce(gc)
			g.mu.Unlock()
			g.closed.Add(1)
			gc.Close()
			return
		}
		g.unquiesce(gc)
		g.quiesce(gc) // at the back: the most recently quiescent
	}
	g.mu.Unlock()
}

// forget returns what Close runs once: the connection no longer counts.
func (g *ConnGuard) forget(c *guardedConn) func() {
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.unquiesce(c)
		c.gone = true
		g.open--
		if c.client.open--; c.client.open == 0 {
			delete(g.byIP, c.ip)
		}
	}
}

func (g *ConnGuard) quiesce(c *guardedConn) {
	c.elem = g.quiescent.PushBack(c)
	c.clientElem = c.client.quiescent.PushBack(c)
}

func (g *ConnGuard) unquiesce(c *guardedConn) {
	if c.elem != nil {
		g.quiescent.Remove(c.elem)
		c.client.quiescent.Remove(c.clientElem)
		c.elem, c.clientElem = nil, nil
	}
}

// ConnStats are a guard's counts.
type ConnStats struct {
	Open int // connections open now
	// Closed counts quiescent connections closed to make room; Refused,
	// new connections refused because their client's were all busy.
	Closed, Refused int64
}

// Stats returns the guard's counts.
func (g *ConnGuard) Stats() ConnStats {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	return ConnStats{Open: open, Closed: g.closed.Load(), Refused: g.refused.Load()}
}

// OpenFrom is how many connections ip's client holds, for tests.
func (g *ConnGuard) OpenFrom(ip netip.Addr) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.byIP[limitKey(ip)]; c != nil {
		return c.open
	}
	return 0
}
