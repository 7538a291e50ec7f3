package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// execLimitedIfAsked makes the test binary, run with TRACKLET_TEST_NOFILE
// and TRACKLET_TEST_EXEC, a launcher: it lowers its descriptor limit, soft
// and hard (Go would raise a lower soft one back), and becomes the command
// in TRACKLET_TEST_EXEC (a JSON array), which inherits the limit.
func execLimitedIfAsked() {
	nofile, argv := os.Getenv("TRACKLET_TEST_NOFILE"), os.Getenv("TRACKLET_TEST_EXEC")
	if nofile == "" || argv == "" {
		return
	}
	var n uint64
	var args []string
	if _, err := fmt.Sscan(nofile, &n); err != nil || json.Unmarshal([]byte(argv), &args) != nil || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "bad TRACKLET_TEST_NOFILE or TRACKLET_TEST_EXEC")
		os.Exit(2)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(2)
}

// startLimitedCollector runs `tracklet serve` with at most nofile open
// descriptors.
func startLimitedCollector(t *testing.T, nofile int, args ...string) *collector {
	t.Helper()
	argv, _ := json.Marshal(append([]string{binary, "serve", "--addr", "127.0.0.1:0"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprint("TRACKLET_TEST_NOFILE=", nofile), "TRACKLET_TEST_EXEC="+string(argv))
	return startCommand(t, cmd)
}

// keepAlive opens a connection from the loopback address local, makes one
// request on it and leaves it open and idle. The deadline only bounds a
// failing test.
func keepAlive(ctx context.Context, local, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		conn.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// Under a descriptor limit of 512, one client holds 2,000 idle keep-alive
// connections open: each is served (the collector never runs out of
// descriptors to accept with), and so is a new client afterwards, from
// another address and from the same one.
func TestIdleConnectionsCannotLockClientsOut(t *testing.T) {
	const nofile, idle = 512, 2000
	for _, c := range []struct {
		name string
		args []string
	}{
		{"per-IP bound", nil},
		{"global bound only", []string{"--max-conns-per-ip", "-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			coll := startLimitedCollector(t, nofile, append([]string{"--memory", "--access-log=false"}, c.args...)...)
			addr := coll.url[len("http://"):]
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			var held []net.Conn
			defer func() {
				for _, conn := range held {
					conn.Close()
				}
			}()
			for i := range idle {
				conn, err := keepAlive(ctx, "127.0.0.1", addr)
				if err != nil {
					t.Fatalf("idle connection %d of %d: %v", i, idle, err)
				}
				held = append(held, conn)
			}
			for _, local := range []string{"127.0.0.2", "127.0.0.1"} {
				conn, err := keepAlive(ctx, local, addr)
				if err != nil {
					t.Fatalf("a new client from %s with %d idle connections held: %v", local, idle, err)
				}
				conn.Close()
			}
			coll.stop(t)
		})
	}
}
