package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sigv4"
)

var key = server.AccessKey{ID: "AKIDTRACKLETTEST", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// now is the verifying collector's clock.
var now = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

const body = `{"trackingId":"tk_x","sessionId":"s","eventList":[{"eventType":"View","sentAt":1}]}`

// TestVerify signs real requests with the AWS SDK for Go's signer, sends
// them over loopback, and verifies them as the collector does.
func TestVerify(t *testing.T) {
	var got error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := sigv4.BufferBody(r, 1<<20)
		if err != nil {
			t.Error(err)
		}
		got = sigv4.Verify(r.Context(), r, raw, key, now)
	}))
	defer srv.Close()

	sign := func(creds aws.Credentials, service string, at time.Time) func(*http.Request, []byte) {
		return func(r *http.Request, b []byte) {
			sum := sha256.Sum256(b)
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "eu-west-1", at); err != nil {
				t.Fatal(err)
			}
		}
	}
	good := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
	tests := []struct {
		name    string
		prepare func(*http.Request, []byte) // signs (or not) the request
		after   func(*http.Request)         // changes it after signing
		body    string                      // sent instead of the signed body, if set
		want    string                      // error type, "" for success
		msg     string                      // in the message
	}{
		{name: "valid", prepare: sign(good, "personalize", now)},
		{name: "valid 4m59s early", prepare: sign(good, "personalize", now.Add(-sigv4.MaxSkew+time.Second))},
		{name: "valid 4m59s late", prepare: sign(good, "personalize", now.Add(sigv4.MaxSkew-time.Second))},
		{name: "missing", prepare: func(*http.Request, []byte) {}, want: sigv4.ErrMissingToken, msg: "Missing Authentication Token"},
		{name: "wrong secret", prepare: sign(aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: "wrong"}, "personalize", now),
			want: sigv4.ErrInvalidSignature, msg: "does not match"},
		{name: "unknown key", prepare: sign(aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: key.Secret}, "personalize", now),
			want: sigv4.ErrUnrecognizedClient, msg: "security token"},
		{name: "stale", prepare: sign(good, "personalize", now.Add(-sigv4.MaxSkew-time.Second)),
			want: sigv4.ErrInvalidSignature, msg: "Signature expired"},
		{name: "future", prepare: sign(good, "personalize", now.Add(sigv4.MaxSkew+time.Second)),
			want: sigv4.ErrInvalidSignature, msg: "not yet current"},
		{name: "other service", prepare: sign(good, "s3", now), want: sigv4.ErrInvalidSignature, msg: "'personalize'"},
		{name: "body changed", prepare: sign(good, "personalize", now), body: strings.Replace(body, "View", "Buy!", 1),
			want: sigv4.ErrInvalidSignature, msg: "does not match"},
		{name: "signed header changed", prepare: sign(good, "personalize", now),
			after: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, want: sigv4.ErrInvalidSignature, msg: "does not match"},
		{name: "query added", prepare: sign(good, "personalize", now),
			after: func(r *http.Request) { r.URL.RawQuery = "sentAt=1" }, want: sigv4.ErrInvalidSignature, msg: "does not match"},
		{name: "unsigned header added", prepare: sign(good, "personalize", now),
			after: func(r *http.Request) { r.Header.Set("X-Other", "1") }},
		{name: "date header changed", prepare: sign(good, "personalize", now),
			after: func(r *http.Request) { r.Header.Set("X-Amz-Date", now.Add(time.Second).Format("20060102T150405Z")) },
			want:  sigv4.ErrInvalidSignature, msg: "does not match"},
		{name: "not SigV4", prepare: func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer x") },
			want: sigv4.ErrIncomplete, msg: "AWS4-HMAC-SHA256"},
		{name: "no signature", prepare: func(r *http.Request, b []byte) {
			sign(good, "personalize", now)(r, b)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, want: sigv4.ErrIncomplete, msg: "'Signature'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/events", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-User-Agent", "aws-sdk-go-v2/test")
			tt.prepare(req, []byte(body))
			if tt.after != nil {
				tt.after(req)
			}
			if tt.body != "" {
				req.Body = httpBody(tt.body)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var e *sigv4.Error
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("refused: %v", got)
			case tt.want == "":
			case !errors.As(got, &e):
				t.Fatalf("got %v, want %s", got, tt.want)
			case e.Type != tt.want || !strings.Contains(e.Message, tt.msg):
				t.Fatalf("got %s %q, want %s containing %q", e.Type, e.Message, tt.want, tt.msg)
			}
		})
	}
}

func httpBody(s string) *readCloser { return &readCloser{bytes.NewReader([]byte(s))} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
