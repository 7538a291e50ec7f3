package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningName is the service name PutEvents requests are signed for
// (Personalize Events' signingName; its endpoint prefix is
// personalize-events).
const SigningName = "personalize"

// Personalize sends PutEvents requests to Amazon Personalize (or a link's
// endpoint), signed with AWS Signature Version 4 by the AWS SDK for Go's
// signer.
type Personalize struct {
	// Credentials are usually aws.Config.Credentials from
	// config.LoadDefaultConfig: the SDK's chain (environment, shared
	// config and profile, web identity, container and instance roles).
	Credentials aws.CredentialsProvider
	// Client is nil for one with a 30-second timeout.
	Client *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// maxAnswer bounds how much of an error answer is read.
const maxAnswer = 64 << 10

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// PutEvents implements Sender.
func (p *Personalize) PutEvents(ctx context.Context, l *Link, body []byte) error {
	creds, err := p.Credentials.Retrieve(ctx)
	if err != nil {
		return &Retryable{Reason: "credentials", Err: fmt.Errorf("AWS credentials: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL(), bytes.NewReader(body))
	if err != nil {
		return &Retryable{Reason: "network", Err: err} // NewLink checked the URL
	}
	req.Header.Set("Content-Type", "application/json")
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningName, l.Region, now()); err != nil {
		return &Retryable{Reason: "credentials", Err: fmt.Errorf("sign: %w", err)}
	}
	client := p.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Retryable{Reason: "network", Err: err}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return classify(resp.StatusCode, errorType(resp.Header, answer), errorMessage(answer))
}

// classify sorts a failed answer: throttling, 5xx and errors of the link
// rather than the events (credentials refused, no such event tracker, a
// dataset being changed) are retried; any other 4xx is the events' fault
// and final.
func classify(status int, typ, msg string) error {
	err := fmt.Errorf("%d %s: %s", status, typ, msg)
	switch {
	case status == http.StatusTooManyRequests || strings.Contains(typ, "Throttl") ||
		strings.Contains(typ, "TooManyRequests") || strings.Contains(typ, "LimitExceeded"):
		return &Retryable{Reason: "throttled", Err: err}
	case status >= 500:
		return &Retryable{Reason: "server", Err: err}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &Retryable{Reason: "credentials", Err: err}
	case status == http.StatusNotFound || status == http.StatusConflict || status == http.StatusRequestTimeout:
		return &Retryable{Reason: "server", Err: err}
	case status >= 400:
		return &Refused{Status: status, ErrorType: typ, Message: msg}
	}
	return &Retryable{Reason: "server", Err: err} // a 1xx or 3xx: not PutEvents
}

// errorType reads the error's name as AWS SDKs do: x-amzn-ErrorType, else
// the body's __type, without a namespace or trailing detail.
func errorType(h http.Header, body []byte) string {
	t := h.Get("X-Amzn-Errortype")
	if t == "" {
		var b struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(body, &b)
		t = b.Type
	}
	t, _, _ = strings.Cut(t, ":")
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if t == "" {
		return "UnknownError"
	}
	return t
}

func errorMessage(body []byte) string {
	var b struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &b) == nil && (b.Message != "" || b.Message2 != "") {
		return b.Message + b.Message2
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}
