package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// bearerToken returns the credentials of an Authorization header in the
// Bearer scheme (RFC 6750 §2.1). The scheme is matched case-insensitively,
// as RFC 7235 §2.1 says of every auth-scheme, and may be followed by any
// number of spaces; the token itself is not otherwise interpreted.
func bearerToken(header string) (string, bool) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token := strings.Trim(rest, " \t")
	return token, token != ""
}

// tokenMatches compares a presented token with the configured one in time
// that depends on neither: both are hashed first, so that not even the
// length of the admin token leaks. An empty configured token matches
// nothing.
func tokenMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// requireAdmin wraps next with the admin-token check: next sees only
// requests that carry token as a Bearer credential; the others get the one
// 401 of every admin route. The admin API's mux is its only caller (see
// newMux), so every admin route, the Worker's included, is checked alike.
func requireAdmin(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || !tokenMatches(got, token) {
			unauthorized(w, token)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unauthorized answers 401 with the challenge RFC 6750 §3 asks for, and a
// message saying how to get in: with the token, or, when the collector has
// none, how to configure one.
func unauthorized(w http.ResponseWriter, token string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="tracklet"`)
	msg := "this API needs the admin token: send Authorization: Bearer <admin token>"
	if token == "" {
		msg = "the admin API is off: start the collector with --admin-token (TRACKLET_ADMIN_TOKEN)"
	}
	WriteError(w, http.StatusUnauthorized, CodeUnauthorized, msg)
}
