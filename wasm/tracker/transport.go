package tracker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tracklet/tracklet/event"
)

// Transport delivers one PutEvents request to the collector. Send returns
// nil once the collector has accepted the request; any other answer is an
// error, ideally a *SendError so the tracker knows whether to try again.
type Transport interface {
	Send(ctx context.Context, req event.Request) error
}

// SendError is a failed delivery: the collector's refusal, or a network
// failure (Status 0).
type SendError struct {
	// Status is the HTTP status, or 0 when no answer arrived.
	Status int
	// Retryable says whether sending the same request later may succeed.
	Retryable bool
	// RetryAfter is the wait the collector asked for (Retry-After), or 0.
	RetryAfter time.Duration
	// Message is the collector's explanation or the network error.
	Message string
}

func (e *SendError) Error() string {
	if e.Status == 0 {
		return "network error: " + e.Message
	}
	msg := "collector answered " + strconv.Itoa(e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// StatusError builds the SendError for an HTTP answer that is not 2xx,
// deciding retryability the way the established SDKs do: timeouts (408),
// throttling (429) and server errors (5xx) may pass later; any other 4xx
// will fail the same way again.
func StatusError(status int, message string, retryAfter time.Duration) *SendError {
	return &SendError{
		Status:     status,
		Retryable:  status == 408 || status == 429 || status >= 500,
		RetryAfter: retryAfter,
		Message:    message,
	}
}

// NetworkError builds the SendError for a request that got no answer.
func NetworkError(message string) *SendError {
	return &SendError{Retryable: true, Message: message}
}

// IsRetryable reports whether err leaves a chance that the same request
// succeeds later. Errors that are not a *SendError (a cancelled context, a
// transport bug) count as retryable: keeping events is the safe mistake.
func IsRetryable(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Retryable
	}
	return true
}

// ParseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. It returns 0 for an absent, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	// The HTTP date format; net/http has it as TimeFormat, but the browser
	// build keeps net/http out.
	t, err := time.Parse("Mon, 02 Jan 2006 15:04:05 GMT", v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}
