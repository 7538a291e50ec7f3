package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracklet/tracklet/event"
)

// Amazon Personalize's rules for an Item interactions dataset, quoted from
// its developer guide: "Amazon Personalize endpoints and quotas"
// (https://docs.aws.amazon.com/personalize/latest/dg/limits.html) and
// "Item interactions dataset schema requirements (custom)"
// (https://docs.aws.amazon.com/personalize/latest/dg/interactions-dataset-requirements.html).
const (
	// MaxMetadataColumns: "Maximum number of metadata columns, excluding
	// reserved fields, in an Item interactions dataset: 5".
	MaxMetadataColumns = 5
	// MaxCategoricalLength: "Maximum number of characters for categorical
	// data and impression values: 1000"; "If you have an interaction with a
	// categorical value with more than 1000, your dataset import job will
	// fail."
	MaxCategoricalLength = 1000
	// MaxTypesAndMetadata: "The maximum total number of optional metadata
	// fields you can add to an Item interactions dataset, combined with total
	// number of distinct event types in your Item interaction data, is 10.
	// The metadata fields included in this count are EVENT_TYPE, EVENT_VALUE
	// fields along with any custom metadata fields".
	MaxTypesAndMetadata = 10
	// MinInteractions: "Minimum number of unique item interactions required
	// to create a solution version or recommender: 1000", and the same
	// minimum of records for each dataset import job.
	MinInteractions = 1000
	// MinRepeatUsers: "At minimum 25 unique user IDs with at least two item
	// interactions for each" (also in the quotas table).
	MinRepeatUsers = 25
)

// The Interactions schema's own fields, in the order the export writes
// them. USER_ID, ITEM_ID and TIMESTAMP are required; the others are the
// reserved keywords Personalize recognizes.
var fixedFields = []field{
	{Name: "USER_ID", Type: "string"},
	{Name: "ITEM_ID", Type: "string"},
	{Name: "TIMESTAMP", Type: "long"},
	{Name: "EVENT_TYPE", Type: "string"},
	{Name: "EVENT_VALUE", Type: []string{"null", "float"}},
	{Name: "IMPRESSION", Type: []string{"null", "string"}},
	{Name: "RECOMMENDATION_ID", Type: []string{"null", "string"}},
}

// ColumnType is the Avro type of a metadata column, one of the schema data
// types Personalize accepts.
type ColumnType string

// Column types. TypeInfer lets the export choose from the values it sees.
const (
	TypeInfer   ColumnType = ""
	TypeString  ColumnType = "string" // written with "categorical": true
	TypeInt     ColumnType = "int"
	TypeLong    ColumnType = "long"
	TypeFloat   ColumnType = "float"
	TypeDouble  ColumnType = "double"
	TypeBoolean ColumnType = "boolean"
)

var columnTypes = []ColumnType{TypeString, TypeInt, TypeLong, TypeFloat, TypeDouble, TypeBoolean}

// Column is a metadata column of an Interactions export: one properties
// key, under its schema field name.
type Column struct {
	// Key is the properties key, e.g. numberOfRatings.
	Key string
	// Name is the schema field, e.g. NUMBER_OF_RATINGS.
	Name string
	// Type is the column's type; TypeInfer decides it from the values.
	Type ColumnType
}

// ParseColumns reads a list of metadata columns as users write it:
// properties keys separated by commas, each optionally typed
// ("genre,numberOfRatings:int"). It refuses, before anything is written,
// what Personalize would refuse: more than MaxMetadataColumns, a key that
// is not a valid properties key, and names that collide with each other
// or with the schema's own fields once underscores and case are ignored
// ("Schema fields must have unique alphanumeric names. For example, you
// can't add both a GENRES_FIELD_1 field and a GENRESFIELD1 field").
func ParseColumns(spec string) ([]Column, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	parts := strings.Split(spec, ",")
	if len(parts) > MaxMetadataColumns {
		return nil, fmt.Errorf("%d columns: Personalize allows at most %d metadata columns in an Interactions dataset", len(parts), MaxMetadataColumns)
	}
	taken := make(map[string]string) // alphanumeric form -> who has it
	for _, f := range fixedFields {
		taken[alphanumeric(f.Name)] = f.Name
	}
	cols := make([]Column, 0, len(parts))
	for _, part := range parts {
		key, typ, _ := strings.Cut(strings.TrimSpace(part), ":")
		c := Column{Key: key, Name: ColumnName(key), Type: ColumnType(strings.ToLower(typ))}
		if err := event.CheckPropertyKey(key); err != nil {
			var fe *event.FieldError
			if errors.As(err, &fe) {
				return nil, fmt.Errorf("column %q: %s", key, fe.Rule)
			}
			return nil, err
		}
		if typ != "" && !validType(c.Type) {
			return nil, fmt.Errorf("column %q: type %q: want one of %s", key, typ, typeList())
		}
		if other, ok := taken[alphanumeric(c.Name)]; ok {
			if isFixedField(other) {
				return nil, fmt.Errorf("column %q would be %s, which Personalize counts as its own field %s (reserved: %s)",
					key, c.Name, other, fixedFieldList())
			}
			return nil, fmt.Errorf("columns %q and %q would be %s and %s, one name to Personalize (field names must differ in more than case and underscores)",
				other, key, ColumnName(other), c.Name)
		}
		taken[alphanumeric(c.Name)] = key
		cols = append(cols, c)
	}
	return cols, nil
}

func validType(t ColumnType) bool {
	for _, v := range columnTypes {
		if t == v {
			return true
		}
	}
	return false
}

func typeList() string {
	s := make([]string, len(columnTypes))
	for i, t := range columnTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func isFixedField(name string) bool {
	for _, f := range fixedFields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func fixedFieldList() string {
	s := make([]string, len(fixedFields))
	for i, f := range fixedFields {
		s[i] = f.Name
	}
	return strings.Join(s, ", ")
}

// alphanumeric is a field name as Personalize compares names: letters and
// digits only, without regard to case.
func alphanumeric(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "_", ""))
}

// column is a Column being written: what its values looked like, for
// inferring its type and nullability once every row is out.
type column struct {
	Column
	// Kinds seen, for TypeInfer.
	sawString, sawBool, sawLong, sawInt, sawFraction bool
	// missing: some row has no value (absent, or left out).
	missing bool
	// leftOut counts values present but not written: not of the given
	// type, or a categorical value over MaxCategoricalLength.
	leftOut int64
}

// cell returns the CSV text of v, a properties value, for this column, or
// false if it cannot be written (the cell is then empty).
func (c *column) cell(v any) (string, bool) {
	text := scalar(v)
	switch c.Type {
	case TypeInfer:
		switch v := v.(type) {
		case bool:
			c.sawBool = true
		case json.Number:
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				if n == int64(int32(n)) {
					c.sawInt = true
				} else {
					c.sawLong = true
				}
			} else if f, err := strconv.ParseFloat(string(v), 64); err == nil && !math.IsInf(f, 0) {
				c.sawFraction = true
			} else {
				return "", false // beyond a double: no Avro number holds it
			}
		default:
			c.sawString = true
			if utf8.RuneCountInString(text) > MaxCategoricalLength {
				return "", false
			}
		}
		return text, true
	case TypeString:
		return text, utf8.RuneCountInString(text) <= MaxCategoricalLength
	case TypeInt, TypeLong:
		bits := 64
		if c.Type == TypeInt {
			bits = 32
		}
		n, err := strconv.ParseInt(text, 10, bits)
		return strconv.FormatInt(n, 10), err == nil
	case TypeFloat, TypeDouble:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || c.Type == TypeFloat && !event.FitsFloat32(f) {
			return "", false
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	case TypeBoolean:
		return text, text == "true" || text == "false"
	}
	return "", false
}

// avroType is the column's type once every value has been seen: the given
// one, or the narrowest that holds every value written.
func (c *column) avroType() ColumnType {
	if c.Type != TypeInfer {
		return c.Type
	}
	numbers := c.sawInt || c.sawLong || c.sawFraction
	switch {
	case c.sawString || c.sawBool && numbers || !c.sawBool && !numbers:
		return TypeString
	case c.sawBool:
		return TypeBoolean
	case c.sawFraction:
		return TypeDouble
	case c.sawLong:
		return TypeLong
	}
	return TypeInt
}

// field is one field of an Avro record schema as Personalize reads it.
type field struct {
	Name        string `json:"name"`
	Type        any    `json:"type"` // a type name, or a union such as ["null","string"]
	Categorical bool   `json:"categorical,omitempty"`
}

func (c *column) field() field {
	t := c.avroType()
	f := field{Name: c.Name, Type: string(t), Categorical: t == TypeString}
	if c.missing {
		f.Type = []string{"null", string(t)}
	}
	return f
}

// schema returns the Avro schema of an Interactions CSV with cols after
// the fixed fields, in the form CreateSchema takes.
func schema(cols []*column) ([]byte, error) {
	s := struct {
		Type      string  `json:"type"`
		Name      string  `json:"name"`
		Namespace string  `json:"namespace"`
		Fields    []field `json:"fields"`
		Version   string  `json:"version"`
	}{Type: "record", Name: "Interactions", Namespace: "com.amazonaws.personalize.schema", Version: "1.0"}
	s.Fields = append(s.Fields, fixedFields...)
	for _, c := range cols {
		s.Fields = append(s.Fields, c.field())
	}
	return json.MarshalIndent(s, "", "  ")
}
