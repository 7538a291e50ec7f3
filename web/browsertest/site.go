package browsertest

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Site serves pages from an origin of their own, as a customer's website
// would: the collector is always another origin.
type Site struct {
	URL string // e.g. http://127.0.0.1:40123
	mux *http.ServeMux
}

// NewSite starts an empty site on 127.0.0.1; add pages with Page.
func NewSite(t testing.TB) *Site {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Site{URL: srv.URL, mux: mux}
}

// NewTLSSite starts an empty site on https://127.0.0.1 with leaf's
// certificate, offering HTTP/2: a customer's site as it is in production.
func NewTLSSite(t testing.TB, leaf *Leaf) *Site {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &Site{URL: srv.URL, mux: mux}
}

// Handle serves h at path, for pages that call back into the test.
func (s *Site) Handle(path string, h http.HandlerFunc) { s.mux.HandleFunc(path, h) }

// Page serves html at path and returns its URL.
func (s *Site) Page(path, html string) string {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(html))
	})
	return s.URL + path
}
