package http_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sigv4"
	"github.com/tracklet/tracklet/server/token"
)

// TestSigV4Tracker: a tracker that requires SigV4 takes requests signed by
// the AWS SDK for Go with its key, gzip bodies included (the signature
// covers the bytes as sent), and refuses unsigned ones with AWS's error
// shape, while a tracker beside it still takes unsigned browser requests.
func TestSigV4Tracker(t *testing.T) {
	e := newEnv(t, func(c *trackhttp.Config) { c.SigV4 = sigv4.Verifier{} })
	signed, open := e.tracker(), e.tracker()
	key := token.NewAccessKey()
	if err := e.db.SetTrackerSigV4(context.Background(), signed, key); err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}

	send := func(b []byte, gz, sign bool) *http.Response {
		t.Helper()
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		req, _ := http.NewRequest(http.MethodPost, e.url+"/events", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if sign {
			sum := sha256.Sum256(b)
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
				sigv4.Service, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ev := func(id string) string { return `{"eventId":"` + id + `","eventType":"View","sentAt":1714979289.123}` }

	if r := send([]byte(body(signed, ev("plain"))), false, true); r.StatusCode != 200 {
		t.Errorf("signed: %d", r.StatusCode)
	}
	if r := send([]byte(body(signed, ev("zipped"))), true, true); r.StatusCode != 200 {
		t.Errorf("signed gzip: %d", r.StatusCode)
	}
	r := send([]byte(body(signed, ev("unsigned"))), false, false)
	if r.StatusCode != 403 || r.Header.Get("x-amzn-ErrorType") != sigv4.ErrMissingToken {
		t.Errorf("unsigned: %d %s, want 403 %s", r.StatusCode, r.Header.Get("x-amzn-ErrorType"), sigv4.ErrMissingToken)
	}
	// A browser's request to the other tracker: no signature needed, and
	// one carried anyway (an SDK with made-up keys) is not checked.
	if r := e.post(body(open, ev("browser")), map[string]string{"Origin": "https://shop.example"}); r.status != 200 {
		t.Errorf("browser to an open tracker: %d %s", r.status, r.message)
	}
	if r := send([]byte(body(open, ev("any-signature"))), false, true); r.StatusCode != 200 {
		t.Errorf("signed, to an open tracker: %d", r.StatusCode)
	}
	got := map[string]bool{}
	for _, r := range e.rows() {
		got[r.EventID] = true
	}
	for id, want := range map[string]bool{"plain": true, "zipped": true, "unsigned": false, "browser": true, "any-signature": true} {
		if got[id] != want {
			t.Errorf("event %s stored: %v, want %v", id, got[id], want)
		}
	}
	if rs := e.rejections(1); len(rs) != 1 || rs[0].Status != 403 {
		t.Errorf("rejections: %+v, want the unsigned request, 403", rs)
	}
}
