package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rss is a process's resident set size in bytes, from /proc.
func rss(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// With --trust-proxy, every request inventing a client address (and a
// different 60 KB of X-Forwarded-For before it) costs the rate limiter a
// fixed-size entry, not the header: the collector's memory stays bounded.
func TestInventedForwardedForKeepsMemoryBounded(t *testing.T) {
	const requests, workers = 3000, 4
	c := startCollector(t, "--memory", "--trust-proxy", "--access-log=false")
	pad := strings.Repeat("a", 60<<10)
	send := func(client *http.Client, i int) error {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", c.url+"/events",
			strings.NewReader(`{"trackingId":"tk_none","sessionId":"s","eventList":[{"eventType":"View","sentAt":1}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("%d%s, 203.%d.%d.%d", i, pad, i>>16&255, i>>8&255, i&255))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("request %d: %d, want 404 (unknown tracker, not rate-limited)", i, resp.StatusCode)
		}
		return nil
	}
	client := &http.Client{}
	if err := send(client, 0); err != nil {
		t.Fatal(err)
	}
	before := rss(t, c.cmd.Process.Pid)
	jobs := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := send(client, i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
feed:
	for i := 1; i <= requests; i++ {
		select {
		case jobs <- i:
		case err := <-errc:
			t.Error(err)
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	after := rss(t, c.cmd.Process.Pid)
	t.Logf("%d invented client addresses with 60 KB headers: RSS %d MB -> %d MB", requests, before>>20, after>>20)
	// Unbounded, the buckets kept ~180 MB of headers; bounded, what stays
	// is the garbage the collector's GC (64 MB soft limit) has not returned.
	if grown := after - before; grown > 64<<20 {
		t.Errorf("RSS grew by %d MB, want at most 64 MB", grown>>20)
	}
	c.stop(t)
}

// The proxy flags are refused where they would silently do nothing or
// mean nothing.
func TestProxyFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy-hops", "1"}, "need --trust-proxy"},
		{[]string{"--trusted-proxies", "10.0.0.1"}, "need --trust-proxy"},
		{[]string{"--trust-proxy", "--trusted-proxies", "10.0.0.0/8,nonsense"}, `"nonsense": not an address or a CIDR prefix`},
	} {
		_, err := tracklet(t, nil, append([]string{"serve", "--memory", "--addr", "127.0.0.1:0"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
