// Package sigv4 verifies AWS Signature Version 4 on PutEvents requests, so
// that server-side senders can authenticate to a tracker with access keys,
// through any AWS SDK configured with them.
//
// It does not reimplement the algorithm: it rebuilds the request the client
// signed (method, path, query and exactly the headers its SignedHeaders
// lists), signs it again with the AWS SDK for Go v2's own signer and the
// tracker's secret, and compares the two signatures in constant time.
package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tracklet/tracklet/server"
)

// Service is the name PutEvents requests are signed for: Amazon
// Personalize Events' signing name (its endpoints are
// personalize-events.REGION.amazonaws.com, its signing name personalize).
const Service = "personalize"

// MaxSkew is how far a request's X-Amz-Date may be from the collector's
// clock, either way, as AWS allows. It also bounds replays: a captured
// request is refused once it is older (and a replay within the window
// repeats eventIds, which the store drops).
const MaxSkew = 5 * time.Minute

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

const amzDateFormat = "20060102T150405Z"

// Error is a refused request in AWS's terms: every one is answered 403
// with Type as x-amzn-ErrorType.
type Error struct {
	Type    string // e.g. InvalidSignatureException
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func refuse(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Error types, as AWS's JSON services name them.
const (
	ErrMissingToken       = "MissingAuthenticationTokenException"
	ErrIncomplete         = "IncompleteSignatureException"
	ErrInvalidSignature   = "InvalidSignatureException"
	ErrUnrecognizedClient = "UnrecognizedClientException"
)

// mismatch is AWS's message for a signature that does not verify.
const mismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// Signed reports whether r carries a SigV4 Authorization header, i.e.
// whether its body must be kept for verification.
func Signed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), Algorithm+" ")
}

// BufferBody reads r's body as sent, up to limit+1 bytes, and puts it back
// so that r can be read again. The signature covers the bytes as sent,
// before any Content-Encoding is undone. A body past limit is put back
// truncated at limit+1 bytes, for the reader to refuse as too large.
func BufferBody(r *http.Request, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return raw, err
}

// authorization is the parsed Authorization header.
type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signedHeadersRaw                   string
	signature                          string
}

func parseAuthorization(h string) (*authorization, *Error) {
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		return nil, refuse(ErrIncomplete, "Authorization header: only %s signatures are accepted", Algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, refuse(ErrIncomplete, "Authorization header: %q is not a key=value pair", strings.TrimSpace(part))
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return nil, refuse(ErrIncomplete, "Authorization header requires '%s' parameter. Authorization=%s", k, h)
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, refuse(ErrIncomplete,
			"Authorization header: Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request, not %q", fields["Credential"])
	}
	a := &authorization{
		accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeadersRaw: fields["SignedHeaders"], signature: fields["Signature"],
	}
	a.signedHeaders = strings.Split(a.signedHeadersRaw, ";")
	if !slices.Contains(a.signedHeaders, "host") {
		return nil, refuse(ErrInvalidSignature, "'Host' must be a signed header")
	}
	return a, nil
}

// Verify checks that r, whose body as sent is body, is signed with key for
// Service (in any region) within MaxSkew of now. It returns nil or an
// *Error.
func Verify(ctx context.Context, r *http.Request, body []byte, key server.AccessKey, now time.Time) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return refuse(ErrMissingToken, "Missing Authentication Token: this tracker requires requests signed with AWS Signature Version 4")
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return err
	}
	if a.accessKeyID != key.ID {
		return refuse(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return refuse(ErrIncomplete, "Authorization header requires existence of a 'X-Amz-Date' header.")
	}
	signedAt, perr := time.Parse(amzDateFormat, amzDate)
	if perr != nil {
		return refuse(ErrIncomplete, "X-Amz-Date %q is not in the form %s", amzDate, amzDateFormat)
	}
	if !slices.Contains(a.signedHeaders, "x-amz-date") {
		return refuse(ErrInvalidSignature, "'X-Amz-Date' must be a signed header")
	}
	now = now.UTC()
	switch {
	case signedAt.Before(now.Add(-MaxSkew)):
		return refuse(ErrInvalidSignature, "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.Add(-MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	case signedAt.After(now.Add(MaxSkew)):
		return refuse(ErrInvalidSignature, "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			amzDate, now.Add(MaxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if a.date != signedAt.Format("20060102") {
		return refuse(ErrInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.date, signedAt.Format("20060102"), amzDate)
	}
	if a.service != Service {
		return refuse(ErrInvalidSignature, "Credential should be scoped to correct service: '%s'.", Service)
	}

	resigned, serr := resign(ctx, r, body, a, key, signedAt)
	if serr != nil {
		return refuse(ErrInvalidSignature, "%s (%v)", mismatch, serr)
	}
	want, werr := parseAuthorization(resigned)
	if werr != nil {
		return refuse(ErrInvalidSignature, "%s (%v)", mismatch, werr)
	}
	if want.signedHeadersRaw != a.signedHeadersRaw {
		// The SDK never signs some headers (User-Agent, Expect, ...), and
		// lists them in sorted order: a client that did otherwise signed a
		// canonical request we cannot rebuild.
		return refuse(ErrInvalidSignature, "%s (SignedHeaders %s: the canonical request signs %s)",
			mismatch, a.signedHeadersRaw, want.signedHeadersRaw)
	}
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return refuse(ErrInvalidSignature, mismatch)
	}
	return nil
}

// resign signs again, with the SDK's signer, the request a client signed:
// r's method, path and query, and only the headers a lists, and returns
// the Authorization header the SDK writes.
func resign(ctx context.Context, r *http.Request, body []byte, a *authorization, key server.AccessKey, at time.Time) (string, error) {
	u := *r.URL
	u.Scheme, u.Host, u.User = "http", r.Host, nil
	if r.TLS != nil {
		u.Scheme = "https"
	}
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				req.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), a.service, a.region, at); err != nil {
		return "", err
	}
	return req.Header.Get("Authorization"), nil
}

// ErrorType and ErrorMessage give the AWS error's name and message, for
// the HTTP handler, which knows this package only through an interface.
func (e *Error) ErrorType() string    { return e.Type }
func (e *Error) ErrorMessage() string { return e.Message }

// Verifier bundles Signed, BufferBody and Verify, for the HTTP handler's
// Config.SigV4.
type Verifier struct{}

func (Verifier) Signed(r *http.Request) bool { return Signed(r) }

func (Verifier) BufferBody(r *http.Request, limit int64) ([]byte, error) { return BufferBody(r, limit) }

func (Verifier) Verify(ctx context.Context, r *http.Request, body []byte, key server.AccessKey, now time.Time) error {
	return Verify(ctx, r, body, key, now)
}
