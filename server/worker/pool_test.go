//go:build !js

package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The pool tests run the loader (loader/worker.mjs) under wrangler dev with
// a probe program (isolate/internal/probe) that reports which instance and
// invocation serve each request and leaves work behind on purpose.

// probeAnswer is the probe's JSON answer.
type probeAnswer struct {
	Instance   int `json:"instance"`
	Invocation int `json:"invocation"`
	// Foreign counts other invocations' unfinished work on this instance.
	Foreign int `json:"foreign"`
	// Served counts the requests this instance has served.
	Served int `json:"served"`
}

// startProbe builds the probe beside a copy of the loader and starts it.
func startProbe(t *testing.T) *devWorker {
	t.Helper()
	setup(t) // build/wasm_exec.js
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "app.wasm"), "./isolate/internal/probe")
	build.Dir = workerDir(t)
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	for src, dst := range map[string]string{"loader/worker.mjs": "worker.mjs", "build/wasm_exec.js": "wasm_exec.js"} {
		b, err := os.ReadFile(filepath.Join(workerDir(t), src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := `{"name": "probe", "main": "./worker.mjs", "compatibility_date": "2026-04-01"}`
	if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return startWrangler(t, dir, t.TempDir())
}

func (w *devWorker) probe(t *testing.T, path string) (int, probeAnswer) {
	t.Helper()
	resp, body := do(t, "GET", w.URL+path, nil, "")
	var a probeAnswer
	if resp.StatusCode == 200 {
		line, _, _ := strings.Cut(string(body), "\n")
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode, a
}

var timerLine = regexp.MustCompile(`"msg":"probe timer fired","owner":(\d+),"during":(-?\d+)`)

func TestPool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	w := startProbe(t)

	t.Run("one instance serves request after request", func(t *testing.T) {
		var first probeAnswer
		for i := range 5 {
			status, a := w.probe(t, "/whoami")
			if status != 200 {
				t.Fatalf("GET /whoami = %d", status)
			}
			if i == 0 {
				first = a
				continue
			}
			if a.Instance != first.Instance || a.Served != first.Served+i || a.Invocation <= first.Invocation {
				t.Errorf("request %d: %+v after %+v: not the same, started instance", i, a, first)
			}
		}
	})

	t.Run("nothing of one invocation runs in another", func(t *testing.T) {
		// Clients hammer /whoami while others leave background work
		// (waitUntil) and slow bodies behind: no answer may come from an
		// instance on which another invocation's work is still running.
		const clients, each = 8, 12
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			answers   int
			instances = map[int]bool{}
		)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					path := "/whoami"
					switch (c + i) % 4 {
					case 1:
						path = "/background?ms=150"
					case 2:
						path = "/slowbody?ms=100"
					}
					status, a := w.probe(t, path)
					if status == 503 {
						continue // the pool was full: refused, not mixed
					}
					if status != 200 {
						t.Errorf("GET %s = %d", path, status)
						continue
					}
					if a.Foreign != 0 {
						t.Errorf("GET %s was served by instance %d while %d tasks of other invocations ran on it", path, a.Instance, a.Foreign)
					}
					mu.Lock()
					answers++
					instances[a.Instance] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if answers < clients*each/2 {
			t.Errorf("only %d of %d requests were served", answers, clients*each)
		}
		if len(instances) > 8 {
			t.Errorf("%d instances served, more than the pool's 8", len(instances))
		}
		t.Logf("%d answers from %d instances", answers, len(instances))
	})

	t.Run("a pending timer retires its instance", func(t *testing.T) {
		status, owner := w.probe(t, "/timer?ms=300")
		if status != 200 {
			t.Fatalf("GET /timer = %d", status)
		}
		// The loader retires the instance when the invocation ends with a
		// Go timer pending, and no request reaches it after that. (workerd
		// drops an ended invocation's timers, so the timer may never fire;
		// if it does, no invocation may be current.)
		retired := fmt.Sprintf(`"msg":"tracklet: instance retired","instance":%d,"why":"a Go timer is pending"`, owner.Instance)
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(w.Output(), retired); {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d was not retired; output:\n%s", owner.Instance, w.Output())
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 20 {
			status, a := w.probe(t, "/whoami")
			if status != 200 {
				t.Fatalf("GET /whoami = %d", status)
			}
			if a.Instance == owner.Instance {
				t.Fatalf("instance %d, which has a timer pending, served invocation %d", a.Instance, a.Invocation)
			}
		}
		for _, m := range timerLine.FindAllStringSubmatch(w.Output(), -1) {
			if m[2] != "0" {
				t.Errorf("the timer of invocation %s fired during invocation %s", m[1], m[2])
			}
		}
	})

	t.Run("an exiting program takes only its instance", func(t *testing.T) {
		_, before := w.probe(t, "/whoami")
		if status, _ := w.probe(t, "/exit"); status != 500 {
			t.Errorf("GET /exit = %d, want 500", status)
		}
		if !strings.Contains(w.Output(), "probe: exit requested") {
			t.Errorf("the probe did not panic; output:\n%s", w.Output())
		}
		for i := range 3 {
			status, a := w.probe(t, "/whoami")
			if status != 200 {
				t.Fatalf("GET /whoami %d after the exit = %d", i, status)
			}
			if a.Invocation <= before.Invocation {
				t.Errorf("after the exit: %+v", a)
			}
		}
	})
}

// TestPoolIsBounded holds more slow requests open at once than the pool has
// instances: the surplus is refused with 503, never queued behind a busy
// instance nor given a shared one.
func TestPoolIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	w := startProbe(t)
	const n = 12
	statuses := make(chan int, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, a := w.probe(t, "/slowbody?ms=3000")
			if a.Foreign != 0 {
				t.Errorf("instance %d shared: %+v", a.Instance, a)
			}
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if ctx.Err() != nil {
		t.Fatal("timed out")
	}
	if count[200] == 0 || count[200] > 8 || count[200]+count[503] != n {
		t.Errorf("statuses %v: want at most 8 (the pool) 200s and the rest 503", count)
	}
}
