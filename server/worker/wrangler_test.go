//go:build !js

package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracklet/tracklet/web/browsertest"
)

// This file runs the real worker: the Go wasm built by build.sh, served by
// wrangler dev (workerd) with a local D1 database and a local Queue, on
// 127.0.0.1 and a free port. Nothing here talks to Cloudflare.

// wranglerEnv turns off everything that would reach for the internet.
var wranglerEnv = []string{
	"WRANGLER_SEND_METRICS=false",
	"CLOUDFLARE_CF_FETCH_ENABLED=false",
	"NO_COLOR=1",
	"CI=1", // no interactive prompts
}

// workerDir is this package's directory: wrangler.jsonc and build/ (the migrations are server/sqlite/migrations).
func workerDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source directory")
	}
	return filepath.Dir(file)
}

var (
	setupOnce sync.Once
	setupErr  error
	buildLog  string
)

// setup installs wrangler from the lockfile when node_modules lacks it and
// builds the worker, once per test process.
func setup(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() {
		dir := workerDir(t)
		if _, err := exec.LookPath("node"); err != nil {
			setupErr = fmt.Errorf("node is not installed: the worker tests need Node 20 for wrangler")
			return
		}
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "wrangler")); err != nil {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				setupErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
				return
			}
		}
		cmd := exec.Command("bash", filepath.Join(dir, "build.sh"))
		out, err := cmd.CombinedOutput()
		buildLog = string(out)
		if err != nil {
			setupErr = fmt.Errorf("build.sh: %v\n%s", err, out)
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// wrangler runs one wrangler command in the worker's directory and returns
// its standard output.
func wrangler(t testing.TB, ctx context.Context, args ...string) []byte {
	t.Helper()
	dir := workerDir(t)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "node_modules", ".bin", "wrangler"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), wranglerEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wrangler %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// devWorker is a running `wrangler dev` with its own fresh local state.
type devWorker struct {
	URL   string // http://127.0.0.1:PORT
	state string // --persist-to directory: D1's SQLite file, the queue

	t        testing.TB
	cmd      *exec.Cmd
	lifeline io.WriteCloser // see watchdog
	out      *browsertest.SyncBuffer
	done     chan struct{}
}

// watchdog runs wrangler (its arguments) in the background and kills the
// whole process group when its standard input closes. The test holds the
// other end of that pipe, so however the test process ends — Cleanup, a
// -timeout panic, Ctrl-C, SIGKILL — no wrangler or workerd outlives it.
const watchdog = `"$@" </dev/null & trap 'kill -TERM -- -$$ 2>/dev/null' EXIT; read -r _ || true`

// startWorker applies the migrations to a fresh local D1, starts wrangler
// dev on a free loopback port with vars as the worker's environment, waits
// until it answers and stops it when t ends.
func startWorker(t testing.TB, vars map[string]string, extra ...string) *devWorker {
	t.Helper()
	setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	state := t.TempDir()
	wrangler(t, ctx, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state)
	for k, v := range vars {
		extra = append(extra, "--var", k+":"+v)
	}
	return startWrangler(t, workerDir(t), state, extra...)
}

// startWrangler runs wrangler dev in dir (its wrangler.jsonc) with local
// state in state, on a free loopback port, and waits until it answers.
func startWrangler(t testing.TB, dir, state string, extra ...string) *devWorker {
	t.Helper()
	// Two minutes: a loaded 2-core machine takes more than one to start workerd.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := &devWorker{t: t, state: state, out: &browsertest.SyncBuffer{}, done: make(chan struct{})}
	port := freePort(t)
	args := append([]string{"dev", "--local", "--ip", "127.0.0.1", "--port", port,
		"--persist-to", w.state, "--inspector-port", freePort(t),
		"--show-interactive-dev-session=false", "--log-level", "log"}, extra...)
	w.cmd = exec.Command("bash", append([]string{"-c", watchdog, "wrangler",
		filepath.Join(workerDir(t), "node_modules", ".bin", "wrangler")}, args...)...)
	w.cmd.Dir = dir
	w.cmd.Env = append(os.Environ(), wranglerEnv...)
	// wrangler starts node and workerd children: give them a process group
	// of their own so that stopping kills all of them.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if w.lifeline, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stderr = w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	ready := make(chan struct{})
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(io.TeeReader(stdout, w.out))
		var once sync.Once
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready on http://127.0.0.1:"+port) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-w.done:
		t.Fatalf("wrangler dev exited before it was ready:\n%s", w.out)
	case <-ctx.Done():
		t.Fatalf("wrangler dev not ready within 2 minutes:\n%s", w.out)
	}
	w.URL = "http://127.0.0.1:" + port
	return w
}

// stop ends wrangler and its children.
func (w *devWorker) stop() {
	if w.cmd.Process == nil {
		return
	}
	w.lifeline.Close()
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.done
	}
	w.cmd.Wait()
}

// Output is what wrangler dev has printed so far: request log lines and the
// worker's own log.
func (w *devWorker) Output() string { return w.out.String() }

// waitOutput waits until wrangler has logged s: it logs a request after
// answering it, so the log may lag the answer the test already has.
func (w *devWorker) waitOutput(t testing.TB, s string, timeout time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); !strings.Contains(w.Output(), s); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// query runs SQL against the worker's local D1 with wrangler d1 execute
// and returns the rows of its last statement.
func (w *devWorker) query(ctx context.Context, sql string) []map[string]any {
	w.t.Helper()
	out := wrangler(w.t, ctx, "d1", "execute", "DB", "--local", "--persist-to", w.state, "--json", "--command", sql)
	var res []struct {
		Results []map[string]any `json:"results"`
		Success bool             `json:"success"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		w.t.Fatalf("d1 execute %q: %v\n%s", sql, err, out)
	}
	for _, r := range res {
		if !r.Success {
			w.t.Fatalf("d1 execute %q: %s", sql, out)
		}
	}
	if len(res) == 0 {
		w.t.Fatalf("d1 execute %q: no result", sql)
	}
	return res[len(res)-1].Results
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// do sends one request to the worker and returns the response with its body
// read.
func do(t testing.TB, method, url string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := try(method, url, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// try is do for a client that handles its own failures: it returns the
// error instead of ending the test, and may run on any goroutine.
func try(method, url string, header map[string]string, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}
