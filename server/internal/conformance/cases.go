package conformance

import "strings"

// event is a valid event; body wraps events in a valid request.
const event = `{"eventType":"View","sentAt":1714979289.123}`

func body(tracker string, events ...string) string {
	return `{"trackingId":"` + tracker + `","sessionId":"s1","eventList":[` + strings.Join(events, ",") + `]}`
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

var (
	s257      = strings.Repeat("x", 257)
	jsonType  = map[string]string{"Content-Type": "application/json"}
	fromShop  = map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": ShopOrigin}
	fromOther = map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": OtherOrigin}
)

// Rules as the collector words them (package event's wording, repeated
// here on purpose: a change of wording must show in this table).
const (
	float32Rule = "outside a 32-bit float's range (magnitude at most 3.4028235e+38)"
	sourceRule  = `must be printable ASCII and not only spaces (pattern ^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$)`
	textRule    = `not valid Unicode text (invalid UTF-8, or a \uD800-\uDFFF escape without its pair)`
)

func reservedRule(key string) string {
	return `eventList[0].properties: key "` + key + `" is reserved by PutEvents (userId, sessionId, eventType, timestamp, recommendationId, impression, in any case)`
}

// Refusals are requests the collector must refuse, storing nothing. Every
// PutEvents rule is broken once, at its edge where it has one.
var Refusals = []Case{
	// The body as a whole.
	{Name: "empty body", Header: jsonType, Body: ``, Status: 400, Type: "InvalidInputException", Message: "body: empty; expected a JSON object"},
	{Name: "not JSON", Header: jsonType, Body: `{"trackingId":`, Status: 400, Type: "InvalidInputException", Message: "body: not valid JSON (at byte 14)"},
	{Name: "array body", Header: jsonType, Body: `[1]`, Status: 400, Type: "InvalidInputException", Message: "body: must be a JSON object"},

	// Request members.
	{Name: "missing trackingId", Body: `{"sessionId":"s","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "trackingId: missing or empty"},
	{Name: "trackingId 257", Body: `{"trackingId":"` + s257 + `","sessionId":"s","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "trackingId: longer than 256 characters"},
	{Name: "missing sessionId", Body: `{"trackingId":"{open}","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "sessionId: missing or empty"},
	{Name: "sessionId 257", Body: `{"trackingId":"{open}","sessionId":"` + s257 + `","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "sessionId: longer than 256 characters"},
	{Name: "empty userId", Body: `{"trackingId":"{open}","sessionId":"s","userId":"","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "userId: empty"},
	{Name: "userId 257", Body: `{"trackingId":"{open}","sessionId":"s","userId":"` + s257 + `","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "userId: longer than 256 characters"},
	{Name: "no eventList", Body: `{"trackingId":"{open}","sessionId":"s"}`, Status: 400, Type: "InvalidInputException", Message: "eventList: missing or empty"},
	{Name: "empty eventList", Body: body("{open}"), Status: 400, Type: "InvalidInputException", Message: "eventList: empty list"},
	{Name: "11 events", Body: body("{open}", repeat(event, 11)...), Status: 400, Type: "InvalidInputException", Message: "eventList: more than 10 items"},

	// Event members; a valid event first shows a request is all or nothing.
	{Name: "empty eventType", Body: body("{open}", event, `{"eventType":"","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[1].eventType: missing or empty"},
	{Name: "eventType 257", Body: body("{open}", `{"eventType":"`+s257+`","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventType: longer than 256 characters"},
	{Name: "eventType number", Body: body("{open}", `{"eventType":5,"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventType: must be a string"},
	{Name: "empty eventId", Body: body("{open}", `{"eventType":"V","eventId":"","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventId: empty"},
	{Name: "eventId 257", Body: body("{open}", `{"eventType":"V","eventId":"`+s257+`","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventId: longer than 256 characters"},
	{Name: "empty itemId", Body: body("{open}", `{"eventType":"V","itemId":"","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].itemId: empty"},
	{Name: "itemId 257", Body: body("{open}", `{"eventType":"V","itemId":"`+s257+`","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].itemId: longer than 256 characters"},
	{Name: "recommendationId 41", Body: body("{open}", `{"eventType":"V","recommendationId":"`+strings.Repeat("r", 41)+`","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].recommendationId: longer than 40 characters"},
	{Name: "eventValue rounding to float32 infinity", Body: body("{open}", `{"eventType":"V","eventValue":3.4028235677973366e38,"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventValue: " + float32Rule},
	{Name: "eventValue 1e39", Body: body("{open}", `{"eventType":"V","eventValue":1e39,"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventValue: " + float32Rule},
	{Name: "eventValue -1e39", Body: body("{open}", `{"eventType":"V","eventValue":-1e39,"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventValue: " + float32Rule},
	{Name: "eventValue string", Body: body("{open}", `{"eventType":"V","eventValue":"4.5","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventValue: must be a number"},
	{Name: "empty impression", Body: body("{open}", `{"eventType":"V","impression":[],"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].impression: empty list"},
	{Name: "26 impressions", Body: body("{open}", `{"eventType":"V","impression":[`+strings.Join(repeat(`"m"`, 26), ",")+`],"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].impression: more than 25 items"},
	{Name: "impression item 257", Body: body("{open}", `{"eventType":"V","impression":["`+s257+`"],"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].impression[0]: longer than 256 characters"},
	{Name: "empty impression item", Body: body("{open}", `{"eventType":"V","impression":["a",""],"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].impression[1]: missing or empty"},
	{Name: "attribution 1025", Body: body("{open}", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"`+strings.Repeat("a", 1025)+`"}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].metricAttribution.eventAttributionSource: longer than 1024 characters"},
	{Name: "attribution only spaces", Body: body("{open}", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"   "}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].metricAttribution.eventAttributionSource: " + sourceRule},
	{Name: "attribution with a tab", Body: body("{open}", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"a\tb"}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].metricAttribution.eventAttributionSource: " + sourceRule},
	{Name: "attribution non-ASCII", Body: body("{open}", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"caf\u00e9"}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].metricAttribution.eventAttributionSource: " + sourceRule},
	{Name: "attribution without source", Body: body("{open}", `{"eventType":"V","sentAt":1,"metricAttribution":{}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].metricAttribution.eventAttributionSource: missing or empty"},
	{Name: "properties 1025", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{\"k\":\"`+strings.Repeat("p", 1025-8)+`\"}"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: longer than 1024 characters"},
	{Name: "empty properties", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":""}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: empty"},
	{Name: "properties not JSON", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{oops"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: not a JSON object (expected e.g. {\"itemId\":\"movie1\"})"},
	{Name: "properties not an object", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"[1]"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: not a JSON object (expected e.g. {\"itemId\":\"movie1\"})"},
	{Name: "properties as an object", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":{"a":1}}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: must be a string"},
	{Name: "properties snake_case", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{\"item_id\":\"a\"}"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: key \"item_id\" is not camelCase"},
	{Name: "properties nested", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{\"a\":{\"b\":1}}"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].properties: key \"a\" has a nested value; values must be strings, numbers or booleans"},
	{Name: "properties reserved userId", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{\"userId\":\"u\"}"}`), Status: 400, Type: "InvalidInputException", Message: reservedRule("userId")},
	{Name: "properties reserved Timestamp in other case", Body: body("{open}", `{"eventType":"V","sentAt":1,"properties":"{\"a\":1,\"timeStamp\":1}"}`), Status: 400, Type: "InvalidInputException", Message: reservedRule("timeStamp")},

	// Text that is not valid Unicode is refused, never repaired into
	// U+FFFD (which would make different ids equal).
	{Name: "eventId invalid UTF-8", Body: body("{open}", "{\"eventType\":\"V\",\"eventId\":\"e\xff1\",\"sentAt\":1}"), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventId: " + textRule},
	{Name: "sessionId truncated UTF-8", Body: "{\"trackingId\":\"{open}\",\"sessionId\":\"s\xc3\",\"eventList\":[" + event + "]}", Status: 400, Type: "InvalidInputException", Message: "sessionId: " + textRule},
	{Name: "itemId lone high surrogate", Body: body("{open}", `{"eventType":"V","itemId":"m\ud83d","sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].itemId: " + textRule},
	{Name: "userId lone low surrogate", Body: `{"trackingId":"{open}","sessionId":"s","userId":"\ude00","eventList":[` + event + `]}`, Status: 400, Type: "InvalidInputException", Message: "userId: " + textRule},
	{Name: "impression item reversed pair", Body: body("{open}", `{"eventType":"V","impression":["a","\ude00\ud83d"],"sentAt":1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].impression[1]: " + textRule},

	{Name: "missing sentAt", Body: body("{open}", `{"eventType":"V"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].sentAt: missing or empty"},
	{Name: "negative sentAt", Body: body("{open}", `{"eventType":"V","sentAt":-1}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].sentAt: must be a positive number of seconds since 1970"},
	{Name: "sentAt year 10000", Body: body("{open}", `{"eventType":"V","sentAt":253402300800000}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].sentAt: after the year 9999 (send seconds, not microseconds)"},
	{Name: "sentAt in microseconds", Body: body("{open}", `{"eventType":"V","sentAt":1714979289123456}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].sentAt: after the year 9999 (send seconds, not microseconds)"},
	{Name: "sentAt not a time", Body: body("{open}", `{"eventType":"V","sentAt":"yesterday"}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].sentAt: string is not an RFC 3339 time (e.g. 2024-05-06T07:08:09.123Z)"},
	{Name: "several rules", Body: body("{open}", `{"eventType":""}`, `{"eventType":"V","sentAt":1,"itemId":""}`), Status: 400, Type: "InvalidInputException", Message: "eventList[0].eventType: missing or empty; eventList[0].sentAt: missing or empty; eventList[1].itemId: empty"},
	{Name: "twelve broken events", Body: `{"sessionId":"","eventList":[` + strings.Join(repeat(`{"eventType":""}`, 12), ",") + `]}`, Status: 400, Type: "InvalidInputException", Message: "trackingId: missing or empty; sessionId: missing or empty; eventList: more than 10 items"},

	// Headers.
	{Name: "bad X-Tracklet-Sent-At", Header: map[string]string{"X-Tracklet-Sent-At": "soon"}, Body: body("{open}", event), Status: 400, Type: "InvalidInputException", Message: "header X-Tracklet-Sent-At: must be a positive whole number of milliseconds since 1970"},
	{Name: "Content-Type xml", Header: map[string]string{"Content-Type": "application/xml"}, Body: body("{open}", event), Status: 415, Type: "UnsupportedMediaTypeException", Message: "Content-Type application/xml: send application/json (or text/plain, as sendBeacon does)"},
	{Name: "Content-Encoding br", Header: map[string]string{"Content-Encoding": "br"}, Body: body("{open}", event), Status: 415, Type: "UnsupportedMediaTypeException", Message: "Content-Encoding br: send the body uncompressed or gzip"},
	{Name: "not gzip", Header: map[string]string{"Content-Encoding": "gzip"}, Body: body("{open}", event), Status: 400, Type: "InvalidInputException", Message: "body: not valid gzip"},

	// Size limits, at their edges.
	{Name: "body 1 byte over the limit", Header: jsonType, Body: body("{open}", event), PadTo: MaxBodyBytes + 1, Status: 413, Type: "PayloadTooLargeException", Message: "body: larger than 1048576 bytes"},
	{Name: "body at the limit", Header: jsonType, Body: body("{off}", event), PadTo: MaxBodyBytes, Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},
	{Name: "gzip 1 byte over the limit once decompressed", Gzip: true, Body: body("{open}", event), PadTo: MaxBodyBytes + 1, Status: 413, Type: "PayloadTooLargeException", Message: "body: larger than 1048576 bytes once decompressed"},
	{Name: "gzip at the limit once decompressed", Gzip: true, Body: body("{off}", event), PadTo: MaxBodyBytes, Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},

	// Limits met exactly pass validation: the disabled tracker's 404
	// comes after it.
	{Name: "recommendationId 40", Header: jsonType, Body: body("{off}", `{"eventType":"V","recommendationId":"`+strings.Repeat("r", 40)+`","sentAt":1}`), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},
	{Name: "eventValue rounding to the largest float32", Header: jsonType, Body: body("{off}", `{"eventType":"V","eventValue":-3.4028235677973362e38,"sentAt":1}`), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},
	{Name: "attribution one character among spaces", Header: jsonType, Body: body("{off}", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"  ~  "}}`), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},
	{Name: "eventId surrogate pair", Header: jsonType, Body: body("{off}", `{"eventType":"V","eventId":"\ud83d\ude00","sentAt":1}`), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},

	// Trackers and origins.
	{Name: "unknown tracker", Header: jsonType, Body: body("tk_nosuchtracker", event), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"tk_nosuchtracker\": no such tracker"},
	{Name: "disabled tracker", Header: jsonType, Body: body("{off}", event), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"{off}\": tracker is disabled"},
	{Name: "origin not allowed", Header: fromOther, Body: body("{shop}", event), Status: 403, Type: "AccessDeniedException", Message: "origin https://other.example may not send events for trackingId \"{shop}\"",
		WantHeader: map[string]string{"Access-Control-Allow-Origin": OtherOrigin}},
	{Name: "allowed origin, unknown tracker", Header: fromShop, Body: body("tk_nosuchtracker", event), Status: 404, Type: "ResourceNotFoundException", Message: "trackingId \"tk_nosuchtracker\": no such tracker",
		WantHeader: map[string]string{"Access-Control-Allow-Origin": ShopOrigin}},

	// Methods and paths.
	{Name: "GET /events", Method: "GET", Status: 405, Type: "MethodNotAllowedException", Message: "use POST to send events"},
	{Name: "PutUsers", Path: "/users", Header: jsonType, Body: `{"datasetArn":"arn:aws:personalize:us-east-1:1:dataset/d","users":[{"userId":"u"}]}`, Status: 400, Type: "UnknownOperationException", Message: "PutUsers is not supported: this collector implements only PutEvents (POST /events)"},
	{Name: "PutItems", Path: "/items", Header: jsonType, Body: `{}`, Status: 400, Type: "UnknownOperationException", Message: "PutItems is not supported: this collector implements only PutEvents (POST /events)"},
	{Name: "PutActions", Path: "/actions", Header: jsonType, Body: `{}`, Status: 400, Type: "UnknownOperationException", Message: "PutActions is not supported: this collector implements only PutEvents (POST /events)"},
	{Name: "PutActionInteractions", Path: "/action-interactions", Header: jsonType, Body: `{}`, Status: 400, Type: "UnknownOperationException", Message: "PutActionInteractions is not supported: this collector implements only PutEvents (POST /events)"},
	{Name: "PutUsers under a base path", Path: "/personalize/users", Header: jsonType, Body: `{}`, Status: 400, Type: "UnknownOperationException", Message: "PutUsers is not supported: this collector implements only PutEvents (POST /events)"},
	{Name: "unknown path", Method: "GET", Path: "/no-such-thing", Status: 404, Type: "NotFoundException", Message: "no such resource: /no-such-thing"},

	// CORS preflights.
	{Name: "preflight from an allowed origin", Method: "OPTIONS", Header: map[string]string{"Origin": ShopOrigin,
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-tracklet-sent-at"},
		Status: 204, WantHeader: map[string]string{"Access-Control-Allow-Origin": ShopOrigin,
			"Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": "content-type, x-tracklet-sent-at"}},
	{Name: "preflight for a tracker that refuses the origin", Method: "OPTIONS", Path: "/events?trackingId={shop}",
		Header: map[string]string{"Origin": OtherOrigin, "Access-Control-Request-Method": "POST"},
		Status: 403, Type: "AccessDeniedException", Message: "origin https://other.example may not send events here", WantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},
	{Name: "preflight asking for another header", Method: "OPTIONS", Header: map[string]string{"Origin": ShopOrigin,
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-secret"},
		Status: 403, Type: "AccessDeniedException", Message: "request headers not allowed: x-secret"},
}
