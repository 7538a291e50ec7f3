package main

import (
	trackhttp "github.com/tracklet/tracklet/server/http"
)

// Connection bounds when --max-conns and --max-conns-per-ip are 0.
const (
	// reservedFDs are the descriptors kept for everything but client
	// connections: the database, its WAL, logs, the listener.
	reservedFDs = 128
	// maxAutoConns caps the automatic --max-conns: at ~20 KB a connection
	// (buffers, goroutine), 16,384 cost ~320 MB.
	maxAutoConns = 16384
	// minConns is the least the automatic --max-conns is.
	minConns = 16
	// perIPShare: one client address may hold 1/perIPShare of the
	// connections (a NAT's or a proxy's many visitors share one), at least
	// minPerIP.
	perIPShare = 8
	minPerIP   = 16
)

// connLimits turns --max-conns and --max-conns-per-ip into the guard's
// limits: 0 derives them from the descriptor limit, a negative per-IP
// bound switches it off.
func connLimits(maxConns, perIP int, proxies trackhttp.Proxies) trackhttp.ConnLimits {
	if maxConns <= 0 {
		maxConns = min(maxAutoConns, max(minConns, openFileLimit()-reservedFDs))
	}
	switch {
	case perIP == 0:
		perIP = max(minPerIP, maxConns/perIPShare)
	case perIP < 0:
		perIP = 0
	}
	return trackhttp.ConnLimits{Max: maxConns, PerIP: perIP, Proxies: proxies}
}
