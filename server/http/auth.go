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

// adminAuthorized reports whether r carries token as a Bearer credential.
// Every admin route of the collector and of the dashboard asks this, and
// only this.
func adminAuthorized(r *http.Request, token string) bool {
	got, ok := bearerToken(r.Header.Get("Authorization"))
	return ok && tokenMatches(got, token)
}

// requireAdmin wraps next with the admin-token check: without the token,
// the one 401 answer of every admin route.
func requireAdmin(token string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !adminAuthorized(r, token) {
			unauthorized(w, token)
			return
		}
		next(w, r)
	}
}

// RequireAdmin is requireAdmin for admin routes served outside this package
// (the Worker's archive API): the same check and the same 401.
func RequireAdmin(token string, next http.Handler) http.Handler {
	return requireAdmin(token, next.ServeHTTP)
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
	writeError(w, http.StatusUnauthorized, "UnauthorizedException", msg)
}
