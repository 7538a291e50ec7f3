package export_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tracklet/tracklet/server/export"
)

func TestParseColumns(t *testing.T) {
	reservedByPutEvents := func(key string) string {
		return `column "` + key + `": key "` + key + `" is reserved by PutEvents (userId, sessionId, eventType, timestamp, recommendationId, impression, in any case)`
	}
	const fixed = "USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE, IMPRESSION, RECOMMENDATION_ID"
	tests := []struct {
		spec    string
		want    []export.Column
		wantErr string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"genre", []export.Column{{Key: "genre", Name: "GENRE"}}, ""},
		{"genre, numberOfRatings:int", []export.Column{{Key: "genre", Name: "GENRE"}, {Key: "numberOfRatings", Name: "NUMBER_OF_RATINGS", Type: export.TypeInt}}, ""},
		{"a:STRING,b:long,c:float,d:double,e:boolean", []export.Column{{"a", "A", export.TypeString}, {"b", "B", export.TypeLong},
			{"c", "C", export.TypeFloat}, {"d", "D", export.TypeDouble}, {"e", "E", export.TypeBoolean}}, ""},
		{"a,b,c,d,e,f", nil, "6 columns: Personalize allows at most 5 metadata columns in an Interactions dataset"},
		{"genre:text", nil, `column "genre": type "text": want one of string, int, long, float, double, boolean`},
		{"item_id", nil, `column "item_id": key "item_id" is not camelCase`},
		{"genre,", nil, `column "": key "" is not camelCase`},
		{"itemId", nil, `column "itemId" would be ITEM_ID, which Personalize counts as its own field ITEM_ID (reserved: ` + fixed + `)`},
		{"itemid", nil, `column "itemid" would be ITEMID, which Personalize counts as its own field ITEM_ID (reserved: ` + fixed + `)`},
		{"eventValue", nil, `column "eventValue" would be EVENT_VALUE, which Personalize counts as its own field EVENT_VALUE (reserved: ` + fixed + `)`},
		{"eventvalue", nil, `column "eventvalue" would be EVENTVALUE, which Personalize counts as its own field EVENT_VALUE (reserved: ` + fixed + `)`},
		{"userId", nil, reservedByPutEvents("userId")},
		{"timestamp", nil, reservedByPutEvents("timestamp")},
		{"impression", nil, reservedByPutEvents("impression")},
		{"recommendationID", nil, reservedByPutEvents("recommendationID")},
		{"myUrl,myURL", nil, `columns "myUrl" and "myURL" would be MY_URL and MY_URL, one name to Personalize (field names must differ in more than case and underscores)`},
		{"fooBar,fooBAr", nil, `columns "fooBar" and "fooBAr" would be FOO_BAR and FOO_BAR, one name to Personalize (field names must differ in more than case and underscores)`},
		{"genresField1,genresfield1", nil, `columns "genresField1" and "genresfield1" would be GENRES_FIELD1 and GENRESFIELD1, one name to Personalize (field names must differ in more than case and underscores)`},
		{"genre,genre:int", nil, `columns "genre" and "genre" would be GENRE and GENRE, one name to Personalize (field names must differ in more than case and underscores)`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := export.ParseColumns(tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n  %v\nwant\n  %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// Five is allowed, the sixth is not.
	if _, err := export.ParseColumns(strings.Repeat("a,", 4) + "b"); err == nil || !strings.Contains(err.Error(), "would be") {
		t.Errorf("five columns named alike: %v", err)
	}
	if cols, err := export.ParseColumns("a,b,c,d,e"); err != nil || len(cols) != export.MaxMetadataColumns {
		t.Errorf("five columns: %v, %v", cols, err)
	}
}
