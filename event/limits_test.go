package event

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTagsMatchLimits holds every number in a validator tag to the limit
// constant it stands for: struct tags cannot name constants, so this is
// what keeps the two from drifting apart. A numeric parameter not listed
// here fails too, so a new limit must get its constant.
func TestTagsMatchLimits(t *testing.T) {
	want := map[string]map[string]int{ // Go field path -> tag parameter -> constant
		"Request.TrackingID":                       {"max": MaxIDLength},
		"Request.SessionID":                        {"max": MaxIDLength},
		"Request.UserID":                           {"min": 1, "max": MaxIDLength},
		"Request.EventList":                        {"min": 1, "max": MaxEvents},
		"Event.EventID":                            {"min": 1, "max": MaxIDLength},
		"Event.EventType":                          {"max": MaxIDLength},
		"Event.ItemID":                             {"min": 1, "max": MaxIDLength},
		"Event.Impression":                         {"min": 1, "max": MaxImpressions},
		"Event.Impression[]":                       {"max": MaxIDLength}, // after dive
		"Event.RecommendationID":                   {"min": 1, "max": MaxRecommendationIDLength},
		"Event.SentAt":                             {"gt": 0, "lt": maxSentAt},
		"MetricAttribution.EventAttributionSource": {"max": MaxAttributionSourceLength},
	}
	seen := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeFor[Request](), reflect.TypeFor[Event](), reflect.TypeFor[MetricAttribution]()} {
		for f := range typ.Fields() {
			path := typ.Name() + "." + f.Name
			// Rules after "dive" apply to each item of a list.
			own, items, dived := strings.Cut(f.Tag.Get("validate"), ",dive")
			checkTag(t, path, own, want[path], seen)
			if dived {
				checkTag(t, path+"[]", items, want[path+"[]"], seen)
			}
		}
	}
	for path, rules := range want {
		for name := range rules {
			if !seen[path+" "+name] {
				t.Errorf("%s: no %s= tag for its limit", path, name)
			}
		}
	}
}

// checkTag compares the numeric parameters of one field's rules with
// limits, noting in seen which it found.
func checkTag(t *testing.T, path, rules string, limits map[string]int, seen map[string]bool) {
	t.Helper()
	for _, rule := range strings.Split(rules, ",") {
		name, param, ok := strings.Cut(rule, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(param)
		if err != nil {
			t.Errorf("%s: tag %q has a parameter that is not a number", path, rule)
			continue
		}
		seen[path+" "+name] = true
		if limit, listed := limits[name]; !listed {
			t.Errorf("%s: tag %q has no limit constant in this test's table", path, rule)
		} else if n != limit {
			t.Errorf("%s: tag %q, but its constant is %d", path, rule, limit)
		}
	}
}

// TestAttributionSourceRule compares the validator's verdict with the
// model's pattern, compiled here on its own, over every single byte and
// the edges around spaces.
func TestAttributionSourceRule(t *testing.T) {
	pattern := regexp.MustCompile(`^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$`)
	if pattern.String() != AttributionSourcePattern {
		t.Fatalf("AttributionSourcePattern %q is not the model's", AttributionSourcePattern)
	}
	inputs := []string{"", " ", "  ", " a", "a ", " a ", "a b", "\t", "a\t", "\u00a0a", "a\u2028", "~", "\x7f"}
	for c := range 256 {
		inputs = append(inputs, string([]byte{byte(c)}), " "+string([]byte{byte(c)})+" ")
	}
	for _, src := range inputs {
		e := validEvent()
		e.MetricAttribution = &MetricAttribution{EventAttributionSource: src}
		err := e.Validate()
		if ok := pattern.MatchString(src); ok != (err == nil) {
			t.Errorf("source %q: pattern says %v, Validate says %v", src, ok, err)
		}
	}
}
