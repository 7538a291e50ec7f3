package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// TestAWSSDKUnsupportedOperations calls PutUsers, PutItems, PutActions and
// PutActionInteractions with the official AWS SDK: each must fail with an
// error the SDK names UnknownOperationException, saying the operation is
// not supported, and store nothing.
func TestAWSSDKUnsupportedOperations(t *testing.T) {
	needAWSSDK(t)
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "unsupported.mjs", e.url)
	cmd.Dir = awsSDKDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node unsupported.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	got := map[string]sdkOutcome{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var o sdkOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %q of unsupported.mjs: %v", sc.Bytes(), err)
		}
		got[o.Call] = o
	}
	for _, op := range []string{"PutUsers", "PutItems", "PutActions", "PutActionInteractions"} {
		want := sdkOutcome{Call: op, Name: "UnknownOperationException", Status: 400,
			Message: op + " is not supported: this collector implements only PutEvents (POST /events)"}
		if o := got[op]; o != want {
			t.Errorf("%s: got %+v, want %+v", op, o, want)
		}
	}
	if len(got) != 4 {
		t.Errorf("unsupported.mjs reported %d calls, want 4:\n%s", len(got), out)
	}
	if rows := e.rows(); len(rows) != 0 {
		t.Errorf("stored %d rows", len(rows))
	}
}
