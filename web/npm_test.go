package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/evanw/esbuild/pkg/api"

	"github.com/tracklet/tracklet/web/browsertest"
)

// TestNPMPackageInABundledApp is a site that uses the npm package as its
// developers would: `npm pack` of the package `make build` wrote (bin/npm,
// refused when stale), `npm install` of the tarball into a fresh project,
// an app that imports "tracklet" and its wasm (esbuild's file loader
// copies it), bundled by esbuild, served from the site's own origin and
// run in Chromium against a real collector; and its types as TypeScript
// finds them by the package's name. npm and tsc are required: without
// them the test fails.
func TestNPMPackageInABundledApp(t *testing.T) {
	pkg := browsertest.NPMDir(t)
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm not found: the npm package test needs it (Node 20 and npm)")
	}
	work := t.TempDir()
	run := func(dir string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(npm, args...)
		cmd.Dir = dir
		// A cache of its own: --offline must find nothing it would fetch.
		cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(work, "npm-cache"), "npm_config_update_notifier=false")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("npm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}

	var packed []struct {
		Filename string
		Files    []struct{ Path string }
	}
	if err := json.Unmarshal(run(work, "pack", "--json", "--pack-destination", work, pkg), &packed); err != nil || len(packed) != 1 {
		t.Fatalf("npm pack --json: %v (%d packages)", err, len(packed))
	}
	var files []string
	for _, f := range packed[0].Files {
		files = append(files, f.Path)
	}
	slices.Sort(files)
	want := []string{"package.json", "tracklet-sender.js", "tracklet.d.mts", "tracklet.d.ts", "tracklet.mjs", "tracklet.wasm", "wasm_exec.js"}
	if !slices.Equal(files, want) {
		t.Errorf("the tarball holds %q, want %q", files, want)
	}

	app := filepath.Join(work, "app")
	writeFile(t, filepath.Join(app, "package.json"), `{"name": "app", "private": true, "type": "module"}`)
	run(app, "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", filepath.Join(work, packed[0].Filename))
	typecheck(t, app)
	// The site's settings come from the page: the ports are the test's.
	writeFile(t, filepath.Join(app, "main.js"), `import createTracker from "tracklet";
import wasmUrl from "tracklet/tracklet.wasm";

window.result = (async () => {
  const tracker = await createTracker({ ...window.settings, wasmUrl });
  const id = await tracker.track("Bundled", { from: "npm" }, { itemId: "item-1" });
  const { sent } = await tracker.flush();
  return { id, sent, queued: tracker.stats().queued };
})().catch((e) => ({ error: e.message }));
`)
	dist := filepath.Join(app, "dist")
	res := api.Build(api.BuildOptions{
		EntryPoints:   []string{"main.js"},
		AbsWorkingDir: app,
		Bundle:        true,
		Format:        api.FormatESModule,
		Platform:      api.PlatformBrowser,
		Loader:        map[string]api.Loader{".wasm": api.LoaderFile},
		Outdir:        dist,
		PublicPath:    "/app", // where the site serves dist: the wasm's URL is made of it
		Write:         true,
		LogLevel:      api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		t.Fatalf("esbuild: %s", res.Errors[0].Text)
	}
	var wasms int
	for _, f := range res.OutputFiles {
		if strings.HasSuffix(f.Path, ".wasm") {
			wasms++
		}
	}
	if wasms != 1 {
		t.Fatalf("esbuild wrote %d .wasm files, want the one the app imports", wasms)
	}

	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("npm", site.URL)
	site.Handle("/app/", http.StripPrefix("/app/", http.FileServer(http.Dir(dist))).ServeHTTP)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", fmt.Sprintf(`<!doctype html>
<script>window.settings = { trackingId: %q, endpoint: %q };</script>
<script type="module" src="/app/main.js"></script>`, tid, collector.URL))))
	got := browsertest.Eval[struct {
		ID, Error    string
		Sent, Queued int
	}](t, ctx, `(async () => { while (!window.result) await new Promise((r) => setTimeout(r, 10)); return await window.result; })()`)
	if got.Error != "" || got.ID == "" || got.Sent != 1 || got.Queued != 0 {
		t.Fatalf("the bundled app: %+v", got)
	}
	rows := waitStored(t, ctx, collector, tid, []string{got.ID}, 5*time.Second)
	if len(rows) == 1 && (rows[0].EventType != "Bundled" || rows[0].ItemID.String != "item-1" || !strings.Contains(rows[0].Properties.String, `"from":"npm"`)) {
		t.Errorf("stored %+v", rows[0])
	}
}

// typecheck compiles, with tsc in strict mode, a file of the app that
// imports the installed package by its name: TypeScript must find the
// types through the package's "exports" ("types" condition), and they
// must take the npm package's own option, wasmUrl. browsertest.TSC finds
// tsc, or fails the test.
func typecheck(t *testing.T, app string) {
	t.Helper()
	tsc := browsertest.TSC(t)
	writeFile(t, filepath.Join(app, "check.ts"), `import createTracker, { createTracker as named, type Tracker } from "tracklet";

export const a: Promise<Tracker> = createTracker({ trackingId: "tid", endpoint: "https://c.example", wasmUrl: new URL("https://c.example/t.wasm") });
export const b: Promise<Tracker> = named({ trackingId: "tid", wasmUrl: "/assets/tracklet.wasm" });
// @ts-expect-error: trackingId is required
export const c = createTracker({ wasmUrl: "/t.wasm" });
`)
	cmd := exec.Command(tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
		"--moduleResolution", "bundler", "--lib", "es2022,dom", "check.ts")
	cmd.Dir = app
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc on the installed package: %v\n%s", err, out)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
