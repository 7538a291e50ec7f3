package event

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Validate checks r against every PutEvents rule. The error, if any, is an
// Errors listing each broken rule with the member's wire path.
func (r *Request) Validate() error {
	return validateStruct(r)
}

// Validate checks one event on its own; paths start at the event's members
// ("properties", not "eventList[0].properties").
func (e *Event) Validate() error {
	return validateStruct(e)
}

// ruleAliases names the rules of the model's types for the validator tags
// in event.go, spelled out with the limit constants: struct tags cannot
// name a constant, so a tag names the rule ("required,id") and the number
// is written only in the constant. TestTagsNameRules keeps numbers out of
// the tags. A broken rule reports the alias as its Tag and the rule inside
// it (max, min, ...) as its ActualTag, which ruleFor words.
var ruleAliases = map[string]string{
	// id is the model's StringType, UserId and ItemId: trackingId,
	// sessionId, userId, eventId, eventType, itemId, each impression item.
	"id":                "min=1,max=" + strconv.Itoa(MaxIDLength),
	"recommendationId":  "min=1,max=" + strconv.Itoa(MaxRecommendationIDLength),
	"eventList":         "min=1,max=" + strconv.Itoa(MaxEvents),
	"impression":        "min=1,max=" + strconv.Itoa(MaxImpressions),
	"attributionSource": "max=" + strconv.Itoa(MaxAttributionSourceLength) + ",attributionPattern",
	"sentAt":            "finite,gt=0,lt=" + strconv.FormatInt(MaxSentAt, 10),
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// validatorInstance builds the validator on first use. It caches per-type
// reflection data, so one instance serves the whole process.
func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		// Report members by their JSON names, as a client sees them.
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			return name
		})
		must(v.RegisterValidation("finite", func(fl validator.FieldLevel) bool {
			f := fl.Field().Float()
			return !math.IsNaN(f) && !math.IsInf(f, 0)
		}))
		must(v.RegisterValidation("float32", func(fl validator.FieldLevel) bool {
			return FitsFloat32(fl.Field().Float())
		}))
		must(v.RegisterValidation("attributionPattern", func(fl validator.FieldLevel) bool {
			return matchesAttributionSource(fl.Field().String())
		}))
		must(v.RegisterValidation("properties", func(fl validator.FieldLevel) bool {
			return checkProperties(fl.Field().String(), nil) == ""
		}))
		for name, rules := range ruleAliases {
			v.RegisterAlias(name, rules)
		}
		validate = v
	})
	return validate
}

// matchesAttributionSource reports whether s matches
// AttributionSourcePattern: only printable ASCII (0x20-0x7E), at least one
// of it not a space. Written out rather than compiled with package regexp,
// which would add 6 KB to the browser module; TestAttributionSourceRule
// holds the two to the same answers.
func matchesAttributionSource(s string) bool {
	visible := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7E:
			return false
		case c != ' ':
			visible = true
		}
	}
	return visible
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func validateStruct(s any) error {
	err := validatorInstance().Struct(s)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err // a programming error, such as a nil pointer
	}
	out := make(Errors, 0, len(verrs))
	for _, fe := range verrs {
		// The namespace starts with the Go type's name ("Request."); the
		// wire path is what follows it.
		_, path, _ := strings.Cut(fe.Namespace(), ".")
		out = append(out, &FieldError{Field: path, Rule: ruleFor(fe)})
	}
	return out
}

// CheckID checks an id given on its own, such as a tracker's trackingId or
// the userId of an identify call, by the rule of Request's ids. The error
// is a *FieldError naming field.
func CheckID(field, id string) error {
	if err := validateStruct(&loneID{id}); err != nil {
		return &FieldError{Field: field, Rule: err.(Errors)[0].Rule}
	}
	return nil
}

// loneID holds an id for CheckID. Checked as a struct, it keeps validator's
// Var, which nothing else calls, out of the browser module.
type loneID struct {
	ID string `validate:"required,id"`
}

// ruleText words the rules that read the same whatever the member.
var ruleText = map[string]string{
	"required":           "missing or empty",
	"finite":             "not a finite number",
	"float32":            "outside a 32-bit float's range (magnitude at most " + strconv.FormatFloat(MaxEventValue, 'g', -1, 32) + ")",
	"attributionPattern": "must be printable ASCII and not only spaces (pattern " + AttributionSourcePattern + ")",
}

// ruleFor words one broken validator rule the way a site owner reads it.
func ruleFor(fe validator.FieldError) string {
	tag, param := fe.ActualTag(), fe.Param()
	if text, ok := ruleText[tag]; ok {
		return text
	}
	isList := fe.Kind() == reflect.Slice
	switch tag {
	case "max":
		if isList {
			return "more than " + param + " items"
		}
		return "longer than " + param + " characters"
	case "min":
		if isList {
			return "empty list"
		}
		return "empty"
	case "gt":
		return "must be a positive number of seconds since 1970"
	case "lt":
		return "after the year 9999 (send seconds, not microseconds)"
	case "properties":
		s, _ := fe.Value().(string)
		if p, ok := fe.Value().(*string); ok && p != nil {
			s = *p
		}
		return checkProperties(s, nil)
	}
	return "breaks rule " + strconv.Quote(tag)
}
