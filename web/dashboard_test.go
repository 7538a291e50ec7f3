package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

const token = "browser-test-admin-token"

// signIn opens the dashboard at the tracker tid and signs in with tok.
func signIn(t *testing.T, ctx context.Context, base, tid, tok string) {
	t.Helper()
	browsertest.Do(t, ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/dashboard#tracker="+tid),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), tok),
		chromedp.Click(chromedp.CSS("#login-form button")),
	)
}

// The dashboard is open while someone visits the demo in another tab: the
// live stream and the chart show the visit within seconds, without a
// reload.
func TestDashboardShowsDemoVisitLive(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--demo", "--admin-token", token)
	tid := demoTrackingID(t, c)

	signIn(t, ctx, c.URL, tid, token)
	waitJS(t, ctx, `document.querySelector("#status").classList.contains("live")`, 10*time.Second,
		`"status: " + document.querySelector("#status").textContent`)
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#stream tr").length`); n != 0 {
		t.Fatalf("a fresh collector's stream shows %d events", n)
	}

	visitor := browsertest.NewTab(t, ctx)
	visitDemo(t, visitor, c.URL)
	start := time.Now()

	// The tracker sends within its 5 s flush interval; the stream must
	// show all seven events a few seconds after that.
	waitJS(t, ctx, `document.querySelectorAll("#stream tr").length === 7`, 15*time.Second,
		`"rows: " + [...document.querySelectorAll("#stream tr")].map(r => r.textContent).join(" | ")`)
	t.Logf("the visit showed on the dashboard %v after it ended", time.Since(start).Round(time.Millisecond))
	types := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll("#stream tr td.type")].map(td => td.textContent)`)
	counts := map[string]int{}
	for _, ty := range types {
		counts[ty]++
	}
	if fmt.Sprint(counts) != "map[Impression:3 MovieRating:1 SignIn:1 View:2]" {
		t.Errorf("stream shows %v", types)
	}
	rating := browsertest.Eval[[]string](t, ctx, `[...[...document.querySelectorAll("#stream tr")].find(r => r.querySelector(".type").textContent === "MovieRating").cells].map(c => c.textContent)`)
	if rating[2] != "movie2" || rating[3] != "4" {
		t.Errorf("MovieRating row %q, want itemId movie2 and value 4", rating)
	}

	// The chart follows the stream: its bars add up to the visit, and the
	// counters agree.
	waitJS(t, ctx, `[...document.querySelectorAll("#chart rect.bar")].reduce((s, b) => s + +b.dataset.count, 0) === 7`, 10*time.Second,
		`"bars: " + [...document.querySelectorAll("#chart rect.bar")].map(b => b.dataset.count)`)
	for id, want := range map[string]string{"stat-events": "7", "stat-sessions": "1", "stat-duplicates": "0", "stat-rejected": "0"} {
		if got := browsertest.Eval[string](t, ctx, `document.getElementById("`+id+`").textContent`); got != want {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("stat-delay").textContent`); !strings.HasSuffix(got, "s") {
		t.Errorf("median delay shows %q", got)
	}
	typeRows := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll("#types tr")].map(r => r.cells[0].textContent + "=" + r.cells[1].textContent).join(" ")`)
	if typeRows != "Impression=3 View=2 MovieRating=1 SignIn=1" {
		t.Errorf("by event type: %s", typeRows)
	}

	// A click shows the event's full wire form.
	browsertest.Eval[bool](t, ctx, `[...document.querySelectorAll("#stream tr")].find(r => r.cells[1].textContent === "View" && r.cells[2].textContent === "movie3").click() ?? true`)
	detail := browsertest.Eval[string](t, ctx, `document.getElementById("detail").textContent`)
	for _, want := range []string{`"trackingId": "` + tid + `"`, `"userId": "ana"`, `"eventType": "View"`, `"itemId": "movie3"`,
		`"recommendationId": "similar-to-movie2"`, `"sentAt": `, `"eventList": [`} {
		if !strings.Contains(detail, want) {
			t.Errorf("wire form lacks %s:\n%s", want, detail)
		}
	}
	saveScreenshot(t, ctx, "dashboard.png")

	// Filters: only the signed-in user's events.
	browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#f-userId"), "ana"), chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
	waitJS(t, ctx, `document.querySelectorAll("#stream tr").length === 3`, 10*time.Second,
		`"rows: " + [...document.querySelectorAll("#stream tr")].map(r => r.textContent).join(" | ")`)
	if got := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll("#stream tr td.type")].map(td => td.textContent).join(",")`); got != "Impression,View,SignIn" {
		t.Errorf("filtered by userId: %s, want Impression,View,SignIn (newest first)", got)
	}
}

// hostile is what a site, or an attacker who knows a trackingId, can put
// in the values the dashboard shows.
const (
	hostileImg    = `<img src=x onerror="window.__pwned='img'">`
	hostileScript = `</script><script>window.__pwned='script'</script>`
	hostileSVG    = `<svg onload="window.__pwned='svg'"></svg>`
)

// Every value from an event is rendered as text: markup in an eventType,
// itemId, userId, sessionId, properties, a tracker's name or a rejected
// body creates no element and runs nothing.
func TestDashboardRendersHostileValuesAsText(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--admin-token", token)
	tid := c.CreateTracker(hostileImg)

	signIn(t, ctx, c.URL, tid, token)
	waitJS(t, ctx, `document.querySelector("#status").classList.contains("live")`, 10*time.Second, `"not live"`)
	scripts := browsertest.Eval[int](t, ctx, `document.scripts.length`)

	props := fmt.Sprintf(`{"img":%q,"script":%q}`, hostileImg, hostileScript)
	body := fmt.Sprintf(`{"trackingId":%q,"sessionId":%q,"userId":%q,"eventList":[{"eventType":%q,"itemId":%q,"properties":%q,"sentAt":%d}]}`,
		tid, hostileSVG, hostileImg, hostileImg, hostileScript, props, time.Now().Unix())
	post(t, c.URL+"/events", body, http.StatusOK)
	// A rejected request whose body is markup.
	post(t, c.URL+"/events", fmt.Sprintf(`{"trackingId":%q,"sessionId":"s","eventList":[{"eventType":"","itemId":%q,"sentAt":1}]}`,
		tid, hostileImg), http.StatusBadRequest)

	waitJS(t, ctx, `document.querySelectorAll("#stream tr").length === 1`, 10*time.Second, `"no row"`)
	browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#stream tr")))
	waitJS(t, ctx, `document.querySelectorAll("#rejected tr").length === 1`, 10*time.Second, `"no rejected row"`)
	// The event types come with the traffic, which the collector caches
	// for a moment: they may show a refresh after the stream's row.
	waitJS(t, ctx, `document.querySelector("#types td") !== null`, 15*time.Second, `"no event type row"`)

	cells := browsertest.Eval[[]string](t, ctx, `[...document.querySelector("#stream tr").cells].map(c => c.textContent)`)
	if cells[1] != hostileImg || cells[2] != hostileScript || cells[4] != hostileImg || cells[5] != hostileSVG {
		t.Errorf("the row does not show the values as text: %q", cells)
	}
	detail := browsertest.Eval[string](t, ctx, `document.getElementById("detail").textContent`)
	if !strings.Contains(detail, `"eventType": "`+strings.ReplaceAll(hostileImg, `"`, `\"`)+`"`) || !strings.Contains(detail, `window.__pwned='script'`) {
		t.Errorf("wire form:\n%s", detail)
	}
	shown := map[string]string{
		"by event type": `document.querySelector("#types td").textContent`,
		"tracker list":  `document.querySelector("#trackers td").textContent`,
		"tracker pick":  `document.querySelector("#tracker option").textContent`,
		"rejected body": `document.querySelector("#rejected td.body").textContent`,
	}
	for where, expr := range shown {
		if got := browsertest.Eval[string](t, ctx, expr); !strings.Contains(got, hostileImg) && !strings.Contains(got, strings.ReplaceAll(hostileImg, `"`, `\"`)) {
			t.Errorf("%s shows %q, want the markup as text", where, got)
		}
	}
	browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#trackers button")))
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("snippet-name").textContent`); got != hostileImg {
		t.Errorf("snippet heading %q", got)
	}

	// Each hostile value acts only through an element of its own (an img
	// whose error fires, an svg that loads, a script), so none may exist:
	// counting them proves now what waiting for the effects would not.
	effects := browsertest.Eval[map[string]any](t, ctx, `({
		pwned: window.__pwned ?? null,
		images: document.images.length,
		svgs: document.querySelectorAll("svg").length - document.querySelectorAll("#chart svg").length,
		handlers: document.querySelectorAll("[onerror], [onload]").length,
		scripts: document.scripts.length,
	})`)
	want := map[string]any{"pwned": nil, "images": 0.0, "svgs": 0.0, "handlers": 0.0, "scripts": float64(scripts)}
	if fmt.Sprint(effects) != fmt.Sprint(want) {
		t.Errorf("hostile values had effects: %v, want %v", effects, want)
	}
}

// Without the token the API answers 401 and the page shows only the
// sign-in form; a wrong token is refused and not kept.
func TestDashboardRefusedWithoutToken(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--admin-token", token)
	tid := c.CreateTracker("shop")

	for _, path := range []string{"/v1/trackers", "/v1/traffic?trackingId=" + tid, "/v1/rejected?trackingId=" + tid,
		"/v1/stream?trackingId=" + tid} {
		for _, auth := range []string{"", "Bearer nope", "Bearer " + token + "!"} {
			req, _ := http.NewRequest("GET", c.URL+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: %d, want 401", path, auth, resp.StatusCode)
			}
		}
	}

	browsertest.Do(t, ctx, chromedp.Navigate(c.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#token")))
	state := browsertest.Eval[string](t, ctx, `[document.getElementById("login").hidden, document.getElementById("app").hidden,
		document.querySelectorAll("#trackers tr").length].join()`)
	if state != "false,true,0" {
		t.Errorf("without a token (login hidden, app hidden, trackers shown) = %s, want false,true,0", state)
	}
	if got := browsertest.Eval[int](t, ctx, `fetch("/v1/trackers").then(r => r.status)`); got != 401 {
		t.Errorf("the page's own fetch without a token: %d", got)
	}

	browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login-form button")))
	waitJS(t, ctx, `document.getElementById("login-error").textContent !== ""`, 5*time.Second, `"no error shown"`)
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("login-error").textContent`); !strings.Contains(got, "refused") {
		t.Errorf("login error %q", got)
	}
	if got := browsertest.Eval[string](t, ctx, `[document.getElementById("app").hidden, sessionStorage.length].join()`); got != "true,0" {
		t.Errorf("after a wrong token (app hidden, stored) = %s, want true,0", got)
	}

	// The right token opens it and lasts for the tab's session.
	browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS("#app")))
	browsertest.Do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
	if got := browsertest.Eval[string](t, ctx, `document.querySelector("#trackers td.mono").textContent`); got != tid {
		t.Errorf("tracker list shows %q, want %s", got, tid)
	}
	browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	if got := browsertest.Eval[int](t, ctx, `sessionStorage.length`); got != 0 {
		t.Errorf("signing out kept %d items", got)
	}

	// A collector without an admin token refuses every token, and the
	// page says how to turn the dashboard on.
	off := browsertest.StartCollector(t)
	browsertest.Do(t, ctx, chromedp.Navigate(off.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "anything"), chromedp.Click(chromedp.CSS("#login-form button")))
	waitJS(t, ctx, `document.getElementById("login-error").textContent !== ""`, 5*time.Second, `"no error shown"`)
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("login-error").textContent`); !strings.Contains(got, "--admin-token") {
		t.Errorf("without an admin token the page says %q", got)
	}
}

// Trackers are created from the dashboard, and the script tag it offers is
// the README's, ready to paste.
func TestDashboardCreatesTracker(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--admin-token", token)
	c.CreateTracker("first")
	signIn(t, ctx, c.URL, "", token)
	browsertest.Do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#new-name")),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "Shop"),
		chromedp.SendKeys(chromedp.CSS("#new-origins"), "https://Shop.example\nhttp://127.0.0.1:3000"),
		chromedp.Click(chromedp.CSS("#create button")),
		chromedp.WaitVisible(chromedp.CSS("#snippet-box")),
	)
	snippet := browsertest.Eval[string](t, ctx, `document.getElementById("snippet").textContent`)
	tid := browsertest.Eval[string](t, ctx, `document.getElementById("tracker").value`)
	if !strings.HasPrefix(tid, "tk_") {
		t.Fatalf("the new tracker is not selected: %q", tid)
	}
	wantTag := fmt.Sprintf(`<script async src="%s/tracklet.js" data-tracking-id="%s"></script>`, c.URL, tid)
	if !strings.Contains(snippet, wantTag) || !strings.Contains(snippet, `window.tracklet=window.tracklet||{q:[]}`) {
		t.Errorf("snippet:\n%s\nwant it to hold the stub and\n%s", snippet, wantTag)
	}
	origins := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll("#trackers tr")].find(r => r.cells[1].textContent === "`+tid+`").cells[2].textContent`)
	if origins != "https://shop.example, http://127.0.0.1:3000" {
		t.Errorf("origins shown as %q", origins)
	}
	// Bad input is explained and creates nothing.
	browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#new-name"), "x"), chromedp.SendKeys(chromedp.CSS("#new-origins"), "shop.example"),
		chromedp.Click(chromedp.CSS("#create button")))
	waitJS(t, ctx, `document.getElementById("create-error").textContent !== ""`, 5*time.Second, `"no error"`)
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("create-error").textContent`); !strings.HasPrefix(got, "origins[0]:") {
		t.Errorf("create error %q", got)
	}
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#trackers tr").length`); n != 2 {
		t.Errorf("%d trackers listed, want 2", n)
	}

	// The snippet works: a page on an allowed origin tracks with it.
	// (The tracker's origins must match the site's, so make one for it.)
	site := browsertest.NewSite(t)
	siteTid := createTrackerHTTP(t, c.URL, "site", site.URL)
	tab := browsertest.NewTab(t, ctx)
	page := site.Page("/", `<!doctype html><html><head><meta charset="utf-8">`+
		strings.ReplaceAll(snippet, tid, siteTid)+`</head><body>site</body></html>`)
	browsertest.Do(t, tab, chromedp.Navigate(page))
	browsertest.Eval[string](t, tab, `tracklet.track("FromSnippet")`)
	browsertest.Eval[map[string]any](t, tab, `tracklet.flush()`)
	if rows := c.WaitForEvents(tab, siteTid, 1, 10*time.Second); len(rows) != 1 || rows[0].EventType != "FromSnippet" {
		t.Errorf("the pasted snippet stored %+v", rows)
	}
}

// admin sends an admin API request with the dashboard's token and returns
// the answer's status and body.
func admin(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func createTrackerHTTP(t *testing.T, base, name, origin string) string {
	t.Helper()
	status, b := admin(t, "POST", base+"/v1/trackers", fmt.Sprintf(`{"name":%q,"origins":[%q]}`, name, origin))
	if status != http.StatusCreated {
		t.Fatalf("create tracker: %d %s", status, b)
	}
	_, after, _ := strings.Cut(string(b), `"trackingId":"`)
	id, _, _ := strings.Cut(after, `"`)
	return id
}

func post(t *testing.T, url, body string, want int) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", url, resp.StatusCode, b, want)
	}
}

// The trackers table shows each tracker's relay to Personalize.
func TestDashboardShowsRelayState(t *testing.T) {
	ctx := browsertest.Browser(t)
	c := browsertest.StartCollector(t, "--admin-token", token)
	linked, plain := c.CreateTracker("linked"), c.CreateTracker("plain")
	// Linked to an endpoint on loopback; with no events, nothing is sent.
	status, b := admin(t, "PUT", c.URL+"/v1/relay/"+linked,
		`{"personalizeTrackingId":"pz-1","region":"eu-west-1","endpoint":"http://127.0.0.1:1"}`)
	if status != 200 {
		t.Fatalf("PUT /v1/relay: %d %s", status, b)
	}
	signIn(t, ctx, c.URL, linked, token)
	cell := func(tid string) string {
		return `[...document.querySelectorAll("#trackers tr")].find(r => r.cells[1].textContent === "` + tid + `")?.querySelector("td.relay")?.textContent`
	}
	waitJS(t, ctx, cell(linked)+` === "idle · 0 relayed, 0 refused, 0 pending"`, 10*time.Second, cell(linked))
	if got := browsertest.Eval[string](t, ctx, cell(plain)); got != "not linked" {
		t.Errorf("an unlinked tracker shows %q", got)
	}
}
