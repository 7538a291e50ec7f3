package http_test

import (
	"strings"
	"testing"

	"github.com/tracklet/tracklet/server"
	trackhttp "github.com/tracklet/tracklet/server/http"
)

// TestAdminPersonalizeExport reads the Personalize dataset through the
// admin API: the schema first, then the CSV pinned with through= to the
// same events, although more arrive in between.
func TestAdminPersonalizeExport(t *testing.T) {
	e := newEnv(t, func(c *trackhttp.Config) { c.AdminToken = "tok"; c.Admin = c.Store.(server.Admin) })
	tid := e.tracker()
	auth := map[string]string{"Authorization": "Bearer tok"}
	send := func(events ...string) {
		if r := e.post(strings.ReplaceAll(body("TID", events...), "TID", tid), nil); r.status != 200 {
			t.Fatalf("PutEvents: %d %s", r.status, r.message)
		}
	}
	send(`{"eventType":"Rate","itemId":"m1","sentAt":1714979289,"eventValue":4,"properties":"{\"genre\":\"noir\"}"}`,
		`{"eventType":"Impression","sentAt":1714979290,"impression":["m1"]}`)

	path := "/v1/events?trackingId=" + tid + "&columns=genre&format="
	r := e.do("GET", path+"personalize-schema", nil, auth)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" ||
		!strings.Contains(r.body, `"name": "GENRE"`) || !strings.Contains(r.body, `"categorical": true`) {
		t.Fatalf("schema: %d %s", r.status, r.body)
	}
	through := r.header.Get("X-Tracklet-Through-Seq")
	if r.header.Get("X-Tracklet-Rows") != "1" || through == "" || through == "0" {
		t.Errorf("schema headers %v", r.header)
	}
	if notes := r.header.Values("X-Tracklet-Note"); len(notes) != 3 ||
		notes[0] != `left out 1 "Impression" events without an itemId (Personalize requires ITEM_ID)` {
		t.Errorf("notes %q", notes)
	}

	send(`{"eventType":"Rate","itemId":"m2","sentAt":1714979291}`) // after the schema was read
	const header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,IMPRESSION,RECOMMENDATION_ID,GENRE\n"
	r = e.do("GET", path+"personalize&through="+through, nil, auth)
	if want := header + "s1,m1,1714979289,Rate,4,,,noir\n"; r.status != 200 || r.body != want ||
		r.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("CSV through %s: %d %q, want %q", through, r.status, r.body, want)
	}
	r = e.do("GET", path+"personalize", nil, auth)
	if want := header + "s1,m1,1714979289,Rate,4,,,noir\ns1,m2,1714979291,Rate,,,,\n"; r.body != want {
		t.Errorf("CSV of everything: %q, want %q", r.body, want)
	}

	for query, want := range map[string]string{
		"format=personalize&columns=myUrl,myURL": `columns: columns "myUrl" and "myURL" would be MY_URL and MY_URL`,
		"format=personalize&columns=itemId":      `columns: column "itemId" would be ITEM_ID`,
		"format=personalize-schema&through=x":    "through: not a non-negative whole number",
		"format=xml":                             "format: want json, ndjson, csv, personalize or personalize-schema",
	} {
		r := e.do("GET", "/v1/events?"+query, nil, auth)
		if r.status != 400 || !strings.HasPrefix(r.message, want) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q, want 400 %q", query, r.status, r.message, want)
		}
	}
}
