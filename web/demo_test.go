package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// The demo site is served by `tracklet serve --demo` and installs the
// tracker exactly as the README says. A visit: the catalogue, one movie,
// a rating, a sign-in.
func TestDemoVisitIsTracked(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--demo")
	tid := demoTrackingID(t, c)

	visitDemo(t, ctx, c.URL)
	saveScreenshot(t, ctx, "demo.png")

	// The tracker batches for up to 5 s; the visit is 7 events.
	rows := c.WaitForEvents(ctx, tid, 7, 15*time.Second)
	if len(rows) != 7 {
		t.Fatalf("stored %d events, want 7: %+v", len(rows), rows)
	}
	// Requests split where the user changes and may land in either order;
	// call order is sentAt order (seq order within one call's events).
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].SentAtMs < rows[j].SentAtMs })
	type want struct {
		eventType, itemID, impression, recommendationID, userID, properties string
		value                                                               float64
	}
	wants := []want{
		{eventType: "Impression", impression: `["movie1","movie2","movie3","movie4","movie5","movie6"]`, properties: `{"page":"catalogue"}`},
		{eventType: "View", itemID: "movie2", properties: `{"page":"movie"}`},
		{eventType: "Impression", impression: `["movie3","movie4","movie5"]`, recommendationID: "similar-to-movie2", properties: `{"page":"movie"}`},
		{eventType: "MovieRating", itemID: "movie2", value: 4, properties: `{"numberOfRatings":"49"}`},
		{eventType: "SignIn", userID: "ana"},
		{eventType: "View", itemID: "movie3", recommendationID: "similar-to-movie2", userID: "ana", properties: `{"page":"movie"}`},
		{eventType: "Impression", impression: `["movie4","movie5","movie6"]`, recommendationID: "similar-to-movie3", userID: "ana", properties: `{"page":"movie"}`},
	}
	for i, w := range wants {
		r := rows[i]
		got := want{r.EventType, r.ItemID.String, r.Impression.String, r.RecommendationID.String, r.UserID.String,
			r.Properties.String, r.EventValue.Float64}
		if got.properties != "" { // compare as JSON: key order is the tracker's business
			got.properties, w.properties = normJSON(t, got.properties), normJSON(t, w.properties)
		}
		if got != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
		}
		if r.SessionID != rows[0].SessionID {
			t.Errorf("event %d: session %s, want the visit's one session %s", i, r.SessionID, rows[0].SessionID)
		}
	}
}

// visitDemo clicks through the demo: catalogue → "Paper Planets" → 4 stars
// → sign in as ana → "Northbound" from "More like this". It returns when
// the page shows the last step.
func visitDemo(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	browsertest.Do(t, ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/demo/"),
		chromedp.WaitVisible(chromedp.CSS("#card-movie2")),
		chromedp.Click(chromedp.CSS("#card-movie2")),
		chromedp.WaitVisible(chromedp.CSS("#star-4")),
		chromedp.Click(chromedp.CSS("#star-4")),
		chromedp.SendKeys(chromedp.CSS("#user"), "ana"),
		chromedp.Click(chromedp.CSS("#signin button")),
		chromedp.WaitVisible(chromedp.CSS("#signout")),
		chromedp.Click(chromedp.CSS("#more-movie3")),
		chromedp.WaitVisible(chromedp.CSS("#more-movie6")), // on Northbound's page only
	)
	// The page's log shows each call and, once sent, its eventId.
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#log div").length`); n != 8 {
		t.Errorf("the demo's log shows %d lines, want the 7 calls and identify", n)
	}
}

var demoIDLine = regexp.MustCompile(`Demo trackingId: (tk_\w+)`)

// demoTrackingID reads the demo tracker's id from what serve printed
// (after the line the harness waits for, so it may take a moment).
func demoTrackingID(t *testing.T, c *browsertest.Collector) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := demoIDLine.FindStringSubmatch(c.Output()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("serve --demo did not print the demo trackingId; output:\n%s", c.Output())
	return ""
}

func normJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Errorf("%q: %v", s, err)
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// waitJS waits until a page expression is true, failing with what says
// otherwise after timeout.
func waitJS(t *testing.T, ctx context.Context, expr string, timeout time.Duration, explain string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("%s: not true within %v (%v); %s", expr, timeout, err, browsertest.Eval[string](t, ctx, explain))
	}
}

// saveScreenshot writes the page as a PNG into $TRACKLET_ARTIFACTS (a test
// temp dir without it) and, with TRACKLET_UPDATE_SCREENSHOTS=1, over the
// README's copy in docs/screenshots.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("TRACKLET_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dirs := []string{dir}
	if os.Getenv("TRACKLET_UPDATE_SCREENSHOTS") == "1" {
		dirs = append(dirs, filepath.Join("..", "docs", "screenshots"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// The demo and the dashboard's copy-paste snippet install the tracker
// exactly as the README says: the same one-line stub, the same tag.
func TestDemoAndSnippetFollowTheREADME(t *testing.T) {
	readme := readFile(t, "../README.md")
	stubLine := regexp.MustCompile(`<script>window\.tracklet=window\.tracklet\|\|\{q:\[\]\};[^\n]*?</script>`)
	stub := stubLine.FindString(readme)
	if stub == "" {
		t.Fatal("README.md shows no stub line")
	}
	tag := regexp.MustCompile(`<script async src="[^"]*/tracklet\.js" data-tracking-id="[^"]*"></script>`)
	if !tag.MatchString(readme) {
		t.Fatal("README.md shows no script tag of the expected form")
	}

	demo := readFile(t, "demo/index.html")
	if !strings.Contains(demo, stub) {
		t.Errorf("the demo's stub differs from the README's:\n%s\nwant\n%s", stubLine.FindString(demo), stub)
	}
	if !strings.Contains(demo, `<script async src="/tracklet.js" data-tracking-id="{{.TrackingID}}"></script>`) {
		t.Error("the demo does not load tracklet.js with the README's tag")
	}
	if strings.Index(demo, stub) > strings.Index(demo, "/tracklet.js") {
		t.Error("the demo's stub comes after the tag; the README puts it first")
	}
	if js := readFile(t, "dashboard/dashboard.js"); !strings.Contains(js, stub) {
		t.Errorf("the dashboard's snippet stub differs from the README's:\n%s", stubLine.FindString(js))
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
