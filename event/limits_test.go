package event

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-playground/validator/v10"
)

// TestTagsNameRules keeps every number out of the validator tags: a tag
// names a rule of ruleAliases, which is built from the limit constants, so
// a limit is written once. A tag with a parameter (max=256) would be a
// second home for its number.
func TestTagsNameRules(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[Request](), reflect.TypeFor[Event](), reflect.TypeFor[MetricAttribution]()} {
		for f := range typ.Fields() {
			for _, rule := range strings.Split(f.Tag.Get("validate"), ",") {
				if strings.Contains(rule, "=") {
					t.Errorf("%s.%s: tag rule %q has a parameter; name a rule of ruleAliases instead", typ.Name(), f.Name, rule)
				}
			}
		}
	}
}

// validateVar checks value against the rules of a validator tag, naming
// it field in the errors.
func validateVar(field string, value any, tag string) error {
	err := validatorInstance().Var(value, tag)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	out := Errors{}
	for _, fe := range verrs {
		out = append(out, &FieldError{Field: field, Rule: ruleFor(fe)})
	}
	return out
}

// TestRulesAtTheirLimits checks each named rule at the edge of the
// constant it is built from, in the units the model counts: characters
// (not bytes) for strings, items for lists, seconds for sentAt.
func TestRulesAtTheirLimits(t *testing.T) {
	text := func(n int) any { return strings.Repeat("é", n) }
	list := func(n int) any { return make([]string, n) }
	tests := []struct {
		rule  string
		limit int
		make  func(n int) any
		over  string // the rule's wording one past the limit
		empty string // and for none at all
	}{
		{"id", MaxIDLength, text, "longer than " + strconv.Itoa(MaxIDLength) + " characters", "empty"},
		{"recommendationId", MaxRecommendationIDLength, text,
			"longer than " + strconv.Itoa(MaxRecommendationIDLength) + " characters", "empty"},
		{"attributionSource", MaxAttributionSourceLength, func(n int) any { return strings.Repeat("a", n) },
			"longer than " + strconv.Itoa(MaxAttributionSourceLength) + " characters", ruleText["attributionPattern"]},
		{"eventList", MaxEvents, func(n int) any { return events(n) }, "more than " + strconv.Itoa(MaxEvents) + " items", "empty list"},
		{"impression", MaxImpressions, list, "more than " + strconv.Itoa(MaxImpressions) + " items", "empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if err := validateVar("f", tt.make(tt.limit), tt.rule); err != nil {
				t.Errorf("at its limit %d: %v", tt.limit, err)
			}
			checkErr(t, validateVar("f", tt.make(tt.limit+1), tt.rule), "f: "+tt.over)
			checkErr(t, validateVar("f", tt.make(0), tt.rule), "f: "+tt.empty)
		})
	}
	if err := validateVar("f", Timestamp(MaxSentAt-0.001), "sentAt"); err != nil {
		t.Errorf("sentAt just before MaxSentAt: %v", err)
	}
	checkErr(t, validateVar("f", Timestamp(MaxSentAt), "sentAt"), "f: after the year 9999 (send seconds, not microseconds)")
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
