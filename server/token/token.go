// Package token makes the random names and secrets the collector hands
// out: trackingIds, admin tokens and AWS-style access keys. They are
// different things with different jobs (a trackingId is public, sits in
// every page and only names a tracker; an admin token and a secret access
// key are credentials), so each has its own function, even where two are
// built alike.
//
// Every value comes from crypto/rand, which never fails (it panics on a
// broken source), and is made of characters safe in URLs, HTML attributes,
// shell arguments and HTTP headers.
package token

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"strings"

	"github.com/tracklet/tracklet/server"
)

// lowerBase32 is RFC 4648 base32 without padding, in lower case:
// a-z and 2-7.
func lowerBase32(b []byte) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// TrackingIDPrefix starts every trackingId NewTrackingID makes, so that
// one is told from other ids at a glance.
const TrackingIDPrefix = "tk_"

// NewTrackingID returns a fresh random trackingId: TrackingIDPrefix and
// 20 base32 characters (100 bits), unguessable enough that trackingIds
// cannot be enumerated.
func NewTrackingID() string {
	var b [13]byte // 104 bits; 20 characters keep 100 of them
	rand.Read(b[:])
	return TrackingIDPrefix + lowerBase32(b[:])[:20]
}

// AdminTokenLength is how many characters NewAdminToken returns.
const AdminTokenLength = 40

// NewAdminToken returns a fresh random bearer token for the admin API:
// AdminTokenLength base32 characters (200 bits).
func NewAdminToken() string {
	var b [25]byte // 200 bits: exactly 40 base32 characters
	rand.Read(b[:])
	return lowerBase32(b[:])
}

// NewAccessKey returns a fresh random access key in AWS's shape: an id of
// "AKTK" and 16 base32 characters (80 bits, 20 characters as AWS's), and a
// 40-character secret of 240 bits. It passes server.NewAccessKey's checks.
func NewAccessKey() *server.AccessKey {
	var id [10]byte
	var secret [30]byte
	rand.Read(id[:])
	rand.Read(secret[:])
	return &server.AccessKey{
		ID:     "AKTK" + base32.StdEncoding.EncodeToString(id[:])[:16],
		Secret: base64.StdEncoding.EncodeToString(secret[:]),
	}
}
