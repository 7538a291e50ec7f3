// Package browsertest starts the real parts that Tracklet's browser tests
// need: headless Chromium (through chromedp), a collector process built from
// this checkout, and a web page on an origin of its own.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds the browser: $CHROMIUM, else Debian's chromium.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser starts a fresh headless Chromium for t and returns a context whose
// first chromedp action opens its first tab. Everything is torn down when t
// ends. The test fails, rather than skips, without a browser: browser
// behaviour is tested in a browser or not at all. Options add to the
// harness's own flags (e.g. TrustSPKI for a test certificate).
func Browser(t testing.TB, options ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		t.Fatal("no Chromium found: install Debian's chromium (apt-get install chromium) or set $CHROMIUM")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Without these, Chromium keeps calling home on this closed network
		// and hangs.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, options...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now so that a broken install fails here, clearly.
	// The first call must not carry a timeout (it would bound the browser's
	// whole life), so the wait is bounded from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", path, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start within 30 s", path)
	}
	return ctx
}

// NewTab opens another tab in the browser of ctx, for tests with several
// pages of one site open at once.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}
