package main

import (
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/web/browsertest"
)

// TestTLSCertificateReload runs a collector with --tls-cert/--tls-key and
// renews the certificate under it, as certbot would (new files renamed
// into place): the next connection gets the new certificate, over HTTP/2,
// without a restart. A renewal half done (a certificate without its key)
// keeps the previous certificate in use.
func TestTLSCertificateReload(t *testing.T) {
	ca := browsertest.NewCA(t)
	dir := t.TempDir()
	first := ca.Issue(dir, "tls")
	c := startCollector(t, "--memory", "--tls-cert", first.CertFile, "--tls-key", first.KeyFile, "--access-log=false")
	if !strings.HasPrefix(c.url, "https://") {
		t.Fatalf("the collector says it listens on %s, want https://", c.url)
	}
	// served fetches /healthz on a new connection and returns the serial
	// of the certificate it was served.
	served := func() *big.Int {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: ca.TLSConfig(), ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(c.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Errorf("GET /healthz: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber
	}
	if got := served(); got.Cmp(first.Serial) != 0 {
		t.Fatalf("served certificate %v, want %v", got, first.Serial)
	}

	second := ca.Issue(dir, "tls") // the same file names, new files
	if got := served(); got.Cmp(second.Serial) != 0 {
		t.Errorf("after renewal: served certificate %v, want the new %v", got, second.Serial)
	}
	c.waitLog(t, 10*time.Second, "TLS certificate reloaded", `"serial":"`+second.Serial.String()+`"`)

	// Half a renewal: a new certificate whose key is not there yet.
	third := ca.Issue(t.TempDir(), "next")
	cert, err := os.ReadFile(third.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "swap")
	if err := os.WriteFile(tmp, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, second.CertFile); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := served(); got.Cmp(second.Serial) != 0 {
			t.Errorf("with a mismatched pair: served certificate %v, want the previous %v", got, second.Serial)
		}
	}
	c.waitLog(t, 10*time.Second, "do not load; serving the previous certificate")
	if n := strings.Count(c.log.String(), "do not load"); n != 1 {
		t.Errorf("the mismatched pair was logged %d times, want once", n)
	}
}

// TestH2C: with --h2c, a client that knows the collector speaks HTTP/2
// gets it without TLS, and HTTP/1.1 clients still work.
func TestH2C(t *testing.T) {
	c := startCollector(t, "--memory", "--h2c", "--access-log=false")
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetHTTP1(!h2)
		tr.Protocols.SetUnencryptedHTTP2(h2)
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(c.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if want := map[bool]int{true: 2, false: 1}[h2]; resp.StatusCode != 200 || resp.ProtoMajor != want {
			t.Errorf("h2c client %v: %d over %s, want 200 over HTTP/%d", h2, resp.StatusCode, resp.Proto, want)
		}
	}
}
