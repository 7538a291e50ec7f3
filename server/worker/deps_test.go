//go:build !js

package worker_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestWorkerLinksNoDashboardFeed lists what the Worker's program links, as
// build.sh builds it, and fails if a package it has no use for comes back:
// each costs upload size against Cloudflare's limit and start-up time in
// every isolate. The live feed (the Worker has no dashboard stream) and the
// relay (no background process) reach it only through package http's small
// interfaces, which the Worker leaves unset; SQLite, Prometheus and the AWS
// SDK belong to the native collector.
func TestWorkerLinksNoDashboardFeed(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", "validator_novalidatefn", "./cmd/worker")
	cmd.Dir = workerDir(t)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/tracklet/tracklet/server/http") {
		t.Fatalf("the worker does not link server/http: is this the right program?\n%s", out)
	}
	forbidden := []string{
		"github.com/tracklet/tracklet/server/live",
		"github.com/tracklet/tracklet/server/relay",
		"github.com/tracklet/tracklet/server/sqlite",
		"github.com/tracklet/tracklet/server/metrics",
		"github.com/prometheus/",
		"github.com/aws/",
		"modernc.org/sqlite",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasSuffix(f, "/") && strings.HasPrefix(d, f) {
				t.Errorf("the worker links %s: find who imports it with go list -deps -json and cut the edge", d)
			}
		}
	}
}
