package main

import (
	"os"
	"runtime/debug"
)

// tuneGC trades memory the collector does not need for CPU it does: with
// Go's default GOGC=100 a collector under load spent about a tenth of its
// CPU collecting a heap of a few megabytes. GOGC=400 collects a quarter as
// often; the soft memory limit makes the collector work harder before the
// heap could outgrow a small container. GOGC and GOMEMLIMIT in the
// environment still win. tracklet-load applies the same settings.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
}
