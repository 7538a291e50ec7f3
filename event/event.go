// Package event is Tracklet's one model of a tracked event: the shape of
// Amazon Personalize's PutEvents request, its limits, its validation and its
// wire encoding.
//
// The browser module and the collector both use this package, so an event the
// browser accepts is exactly an event the collector accepts, and both explain
// a rejection with the same words. It imports nothing else of Tracklet's.
package event

import "math"

// Limits of the PutEvents API, as its service model (botocore's
// data/personalize-events/2018-03-22/service-2.json) states them. Every
// check in Tracklet refers to these; none repeats the numbers. The
// validator tags below name rules (validate.go's ruleAliases) that are
// built from these constants, so a tag carries no number of its own.
const (
	// MaxIDLength bounds trackingId, sessionId, userId, eventId, eventType,
	// itemId and each impression item, in characters (the model's
	// StringType, UserId and ItemId: min 1, max 256).
	MaxIDLength = 256
	// MaxRecommendationIDLength bounds recommendationId (the model's
	// RecommendationId: min 1, max 40).
	MaxRecommendationIDLength = 40
	// MaxPropertiesLength bounds the JSON-encoded properties string
	// (EventPropertiesJSON: min 1, max 1024).
	MaxPropertiesLength = 1024
	// MaxEvents is the most events one request may carry (EventList).
	MaxEvents = 10
	// MaxImpressions is the most item ids one impression list may carry
	// (Impression).
	MaxImpressions = 25
	// MaxAttributionSourceLength bounds metricAttribution.eventAttributionSource
	// (EventAttributionSource: max 1024).
	MaxAttributionSourceLength = 1024
	// AttributionSourcePattern is EventAttributionSource's pattern, verbatim:
	// printable ASCII with at least one character that is not a space.
	AttributionSourcePattern = `^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$`
	// MaxEventValue is the largest magnitude of eventValue, which the model
	// types as a 32-bit float (FloatType). A number that would round to
	// it still fits (see FitsFloat32); one that would round to infinity
	// has no float form, and SDKs refuse it or make it infinite.
	MaxEventValue = math.MaxFloat32
	// float32Overflow is the smallest magnitude that rounds to infinity as
	// a float32: MaxFloat32 plus half its last step (2^128 - 2^103).
	float32Overflow = 1<<128 - 1<<103
	// MaxSentAt bounds sentAt, in seconds since 1970: it is the first second
	// of the year 10000. Later times cannot be written as RFC 3339 and are
	// certainly a unit mistake (microseconds sent as seconds).
	MaxSentAt = 253402300800
)

// ReservedPropertyKeys are the keys the model's Event.properties
// documentation says "can't be included as a keyword for properties (case
// insensitive)": they name the event's own members and Interactions
// columns.
var ReservedPropertyKeys = []string{"userId", "sessionId", "eventType", "timestamp", "recommendationId", "impression"}

// Request is the body of a PutEvents call: the events of one session of one
// tracker, for at most one user.
type Request struct {
	TrackingID string  `json:"trackingId" validate:"required,id"`
	SessionID  string  `json:"sessionId" validate:"required,id"`
	UserID     *string `json:"userId,omitempty" validate:"omitempty,id"`
	EventList  []Event `json:"eventList" validate:"required,eventList,dive"`
}

// Event is one user interaction, as in PutEvents' Event. Optional members are
// pointers or nil slices so that "absent" and "present but empty" stay
// distinct: the API rejects the second.
type Event struct {
	// EventID distinguishes events; only the first event of an id counts.
	EventID *string `json:"eventId,omitempty" validate:"omitempty,id"`
	// EventType names the interaction, e.g. "MovieRating".
	EventType string `json:"eventType" validate:"required,id"`
	// EventValue is the interaction's value, e.g. a rating.
	EventValue *float64 `json:"eventValue,omitempty" validate:"omitempty,finite,float32"`
	// ItemID is the item interacted with.
	ItemID *string `json:"itemId,omitempty" validate:"omitempty,id"`
	// Impression lists the item ids that were shown, in order.
	Impression []string `json:"impression,omitempty" validate:"omitempty,impression,dive,required,id"`
	// RecommendationID names the recommendation list the item came from.
	RecommendationID *string `json:"recommendationId,omitempty" validate:"omitempty,recommendationId"`
	// MetricAttribution names the source of the event for metrics.
	MetricAttribution *MetricAttribution `json:"metricAttribution,omitempty"`
	// Properties is a JSON object encoded as a string, as on the wire:
	// camelCase keys with string, number or boolean values. Build it with
	// EncodeProperties.
	Properties *string `json:"properties,omitempty" validate:"omitempty,properties"`
	// SentAt is when the event occurred, on the client's clock.
	SentAt Timestamp `json:"sentAt" validate:"required,sentAt"`
}

// MetricAttribution is PutEvents' metricAttribution member.
type MetricAttribution struct {
	EventAttributionSource string `json:"eventAttributionSource" validate:"required,attributionSource"`
}

// FitsFloat32 reports whether f is a number a 32-bit float holds: finite,
// and rounding to at most MaxEventValue in magnitude.
func FitsFloat32(f float64) bool {
	return math.Abs(f) < float32Overflow
}

// String returns a pointer to s, for the optional members of Event.
func String(s string) *string { return &s }

// Float returns a pointer to f, for Event.EventValue.
func Float(f float64) *float64 { return &f }
