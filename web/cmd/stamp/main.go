// Command stamp prints the hash of the sources web/dist is built from
// (browsertest.SourcesSum), for `make build` to record in
// web/dist/.sources.sha256: the browser tests then refuse a stale build.
//
// Usage: go run ./web/cmd/stamp [ROOT]
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/tracklet/tracklet/web/browsertest"
)

func main() {
	log.SetFlags(0)
	root := "."
	switch len(os.Args) {
	case 1:
	case 2:
		root = os.Args[1]
	default:
		log.Fatal("usage: stamp [ROOT]")
	}
	sum, err := browsertest.SourcesSum(root)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)
}
