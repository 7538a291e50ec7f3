package http_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tracklet/tracklet/server/demo"
	trackhttp "github.com/tracklet/tracklet/server/http"
)

func TestPutEventsOrigins(t *testing.T) {
	e := newEnv(t)
	shop := e.tracker("https://shop.example", "http://localhost:3000")
	open := e.tracker()
	tests := []struct {
		name, tracker, origin string
		want                  int
	}{
		{"listed origin", shop, "https://shop.example", 200},
		{"second listed origin", shop, "http://localhost:3000", 200},
		{"origin case-insensitive", shop, "https://SHOP.example", 200},
		{"other origin", shop, "https://evil.example", 403},
		{"other scheme", shop, "http://shop.example", 403},
		{"other port", shop, "http://localhost:3001", 403},
		{"no origin: server to server", shop, "", 200},
		{"tracker without origins allows any", open, "https://anything.example", 200},
	}
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(body(tt.tracker, okEvent), map[string]string{"Origin": tt.origin})
			if r.status != tt.want {
				t.Fatalf("got %d %q, want %d", r.status, r.message, tt.want)
			}
			if tt.want == 200 {
				stored++
			} else if r.header.Get("x-amzn-ErrorType") != "AccessDeniedException" || !strings.Contains(r.message, tt.origin) {
				t.Errorf("403 %s %q does not name the origin", r.header.Get("x-amzn-ErrorType"), r.message)
			}
			if tt.origin != "" && r.header.Get("Access-Control-Allow-Origin") != tt.origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q so the page can read the answer",
					r.header.Get("Access-Control-Allow-Origin"), tt.origin)
			}
			if n := len(e.rows()); n != stored {
				t.Errorf("%d events stored, want %d", n, stored)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	e := newEnv(t)
	shop := e.tracker("https://shop.example")
	tests := []struct {
		name, path, origin, headers string
		want                        int
	}{
		{"allowed origin", "/events", "https://shop.example", "content-type, x-tracklet-sent-at", 204},
		{"doubled slash", "//events", "https://shop.example", "content-type", 204},
		{"AWS SDK headers", "/events", "https://shop.example", "authorization,x-amz-date,amz-sdk-invocation-id,amz-sdk-request,x-amz-user-agent", 204},
		{"no headers", "/events", "https://shop.example", "", 204},
		{"unknown origin", "/events", "https://evil.example", "content-type", 403},
		{"header not allowed", "/events", "https://shop.example", "content-type, x-evil", 403},
		{"tracker named in query", "/events?trackingId=" + shop, "https://shop.example", "content-type", 204},
		{"origin not the named tracker's", "/events?trackingId=tk_other", "https://shop.example", "content-type", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("OPTIONS", tt.path, nil, map[string]string{
				"Origin": tt.origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": tt.headers})
			if r.status != tt.want {
				t.Fatalf("got %d %q, want %d", r.status, r.message, tt.want)
			}
			acao := r.header.Get("Access-Control-Allow-Origin")
			if tt.want != 204 {
				if acao != "" {
					t.Errorf("denied preflight carries Access-Control-Allow-Origin %q", acao)
				}
				return
			}
			if acao != tt.origin {
				t.Errorf("Access-Control-Allow-Origin = %q", acao)
			}
			if got := r.header.Get("Access-Control-Max-Age"); got != "7200" {
				t.Errorf("Access-Control-Max-Age = %q", got)
			}
			if got := r.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
				t.Errorf("Access-Control-Allow-Methods = %q", got)
			}
			for h := range strings.SplitSeq(tt.headers, ",") {
				if h = strings.TrimSpace(h); h != "" && !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), h) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %q", r.header.Get("Access-Control-Allow-Headers"), h)
				}
			}
		})
	}
	// A disabled tracker no longer opens its origin.
	if err := e.db.SetTrackerDisabled(t.Context(), shop, true); err != nil {
		t.Fatal(err)
	}
	r := e.do("OPTIONS", "/events", nil, map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	if r.status != 403 {
		t.Errorf("preflight for a disabled tracker's origin: %d", r.status)
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, acceptEncoding  string
		want                  int
		contentType, encoding string
	}{
		{"/tracklet.js", "", 200, "text/javascript; charset=utf-8", ""},
		{"/wasm_exec.js", "", 200, "text/javascript; charset=utf-8", ""},
		{"/tracklet.wasm", "", 200, "application/wasm", ""},
		{"/tracklet.wasm", "gzip, deflate, br", 200, "application/wasm", "br"},
		{"/tracklet.wasm", "gzip, br;q=0", 200, "application/wasm", ""},
		{"/tracklet.js", "br", 200, "text/javascript; charset=utf-8", ""}, // no .br of it
		{"/README.md", "", 404, "", ""},
		{"/nope.js", "", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.acceptEncoding, func(t *testing.T) {
			h := map[string]string{"Accept-Encoding": tt.acceptEncoding, "Origin": "https://shop.example"}
			r := e.do("GET", tt.path, nil, h)
			if r.status != tt.want {
				t.Fatalf("got %d", r.status)
			}
			if tt.want != 200 {
				return
			}
			if got := r.header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := r.header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.encoding)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
			if r.header.Get("ETag") == "" {
				t.Error("no ETag")
			}
		})
	}
	r := e.do("GET", "/tracklet.js", nil, nil)
	if again := e.do("GET", "/tracklet.js", nil, map[string]string{"If-None-Match": r.header.Get("ETag")}); again.status != 304 {
		t.Errorf("revalidation with the ETag: %d, want 304", again.status)
	}
}

func TestDemoSite(t *testing.T) {
	e := newEnv(t, func(c *trackhttp.Config) {
		c.Demo = demo.NewHandler(fstest.MapFS{
			"index.html": {Data: []byte(`<script data-tracking-id="{{.TrackingID}}"></script>`)},
			"app.js":     {Data: []byte(`let x = "{{.TrackingID}}"`)},
		}, demo.Data{TrackingID: `tk_demo"<x>`})
	})
	r := e.do("GET", "/demo/", nil, nil)
	if r.status != 200 || r.body != `<script data-tracking-id="tk_demo&#34;&lt;x&gt;"></script>` {
		t.Errorf("/demo/: %d %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if r := e.do("GET", "/demo/app.js", nil, nil); r.body != `let x = "{{.TrackingID}}"` {
		t.Errorf("non-HTML files are served as they are: %q", r.body)
	}
	for _, p := range []string{"/demo/missing.html", "/demo/../secret"} {
		if r := e.do("GET", p, nil, nil); r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}
