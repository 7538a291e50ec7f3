package http_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
)

// idleSignals is how many idle reports a test may leave unread.
const idleSignals = 1024

// guarded serves h on 127.0.0.1 behind a ConnGuard with limits l. Each time
// the server reports a connection idle, after the guard has heard it, idle
// receives a value: a client's response arrives a moment before, and a
// test that opens the next connection only then is independent of how the
// server's goroutines are scheduled.
func guarded(t *testing.T, l trackhttp.ConnLimits, h http.Handler) (g *trackhttp.ConnGuard, addr string, idle <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g = trackhttp.NewConnGuard(l)
	idles := make(chan struct{}, idleSignals)
	srv := &http.Server{Handler: h, ConnState: func(c net.Conn, s http.ConnState) {
		g.ConnState(c, s)
		if s == http.StateIdle {
			idles <- struct{}{}
		}
	}}
	done := make(chan struct{})
	go func() { srv.Serve(g.Listener(ln)); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return g, ln.Addr().String(), idles
}

// conn is a client connection that sends requests one at a time.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dialFrom(t *testing.T, local, addr string) *conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second)) // bounds a failing test only
	return &conn{c, bufio.NewReader(c)}
}

func (c *conn) send(path string) { fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path) }

// get makes a request and reads the answer: the connection then idles.
func (c *conn) get(path string) (int, error) {
	c.send(path)
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer waits until the server has closed c (a read ends).
func (c *conn) closedByServer() bool {
	_, err := c.r.ReadByte()
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

var local1, local2 = netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")

// A client at its per-address bound has its longest-idle connection closed
// for each new one: it never holds more, and is always served.
func TestConnGuardPerIPRecyclesIdle(t *testing.T) {
	const perIP = 4
	g, addr, idle := guarded(t, trackhttp.ConnLimits{Max: 1000, PerIP: perIP}, ok)
	var conns []*conn
	for i := range 3 * perIP {
		c := dialFrom(t, "127.0.0.1", addr)
		if status, err := c.get("/"); err != nil || status != 200 {
			t.Fatalf("connection %d: %d, %v (guard: %+v)", i, status, err, g.Stats())
		}
		<-idle
		conns = append(conns, c)
		if n := g.OpenFrom(local1); n > perIP {
			t.Fatalf("after %d connections the client holds %d, want at most %d", i+1, n, perIP)
		}
	}
	// Which ones were closed depends on when each went idle; how many
	// does not. Closed ones fail at once; open ones answer.
	alive := 0
	for _, c := range conns {
		if status, err := c.get("/"); err == nil && status == 200 {
			alive++
		}
	}
	if alive != perIP {
		t.Errorf("%d connections still answer, want the client's bound, %d", alive, perIP)
	}
	if status, err := conns[len(conns)-1].get("/"); err != nil || status != 200 {
		t.Errorf("the newest connection: %d, %v; want it open", status, err)
	}
	if s := g.Stats(); s.Closed != 2*perIP || s.Refused != 0 {
		t.Errorf("stats %+v, want %d closed, none refused", s, 2*perIP)
	}
}

// A client whose connections are all busy with requests is refused one
// more; another client is not.
func TestConnGuardPerIPRefusesWhenAllBusy(t *testing.T) {
	const perIP = 3
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
	})
	g, addr, _ := guarded(t, trackhttp.ConnLimits{Max: 1000, PerIP: perIP}, h)
	var busy []*conn
	for range perIP {
		c := dialFrom(t, "127.0.0.1", addr)
		c.send("/block")
		<-entered
		busy = append(busy, c)
	}
	extra := dialFrom(t, "127.0.0.1", addr)
	extra.send("/")
	if !extra.closedByServer() {
		t.Error("a connection past the bound of a client whose connections are busy was served")
	}
	other := dialFrom(t, "127.0.0.2", addr)
	if status, err := other.get("/"); err != nil || status != 200 {
		t.Errorf("another client: %d, %v", status, err)
	}
	close(release)
	for i, c := range busy {
		if resp, err := http.ReadResponse(c.r, nil); err != nil || resp.StatusCode != 200 {
			t.Errorf("busy connection %d: %v, %v", i, resp, err)
		}
	}
	if s := g.Stats(); s.Refused != 1 || g.OpenFrom(local2) != 1 {
		t.Errorf("stats %+v, %d from 127.0.0.2; want 1 refused, 1 open", s, g.OpenFrom(local2))
	}
}

// Past the high-water mark (Max less an eighth), the longest-idle
// connections are closed to make room, whoever holds them: far more idle
// connections than Max are opened, each is served, and the guard never
// holds more than Max.
func TestConnGuardGlobalBoundClosesIdle(t *testing.T) {
	const maxConns, opened = 16, 100
	g, addr, idle := guarded(t, trackhttp.ConnLimits{Max: maxConns}, ok)
	highWater := maxConns - maxConns/8
	for i := range opened {
		local := "127.0.0.1"
		if i%2 == 1 {
			local = "127.0.0.2"
		}
		c := dialFrom(t, local, addr)
		if status, err := c.get("/"); err != nil || status != 200 {
			t.Fatalf("connection %d: %d, %v", i, status, err)
		}
		<-idle
		if s := g.Stats(); s.Open > highWater {
			t.Fatalf("after %d connections %d are open, want at most %d", i+1, s.Open, highWater)
		}
	}
	if s := g.Stats(); s.Closed < int64(opened-highWater) {
		t.Errorf("stats %+v: want at least %d idle connections closed", s, opened-highWater)
	}
}

// Trusted proxies are not bounded per address: every visitor comes
// through them.
func TestConnGuardExemptsTrustedProxies(t *testing.T) {
	g, addr, _ := guarded(t, trackhttp.ConnLimits{Max: 1000, PerIP: 2, Proxies: trackhttp.Proxies{Trust: true}}, ok)
	for i := range 6 {
		c := dialFrom(t, "127.0.0.1", addr)
		if status, err := c.get("/"); err != nil || status != 200 {
			t.Fatalf("connection %d from the proxy: %d, %v", i, status, err)
		}
	}
	if n := g.OpenFrom(local1); n != 6 {
		t.Errorf("the proxy holds %d connections, want all 6", n)
	}
}
