package auth

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// Errors of ParsePlain.
var (
	// ErrMalformedPlain: the PLAIN message does not follow RFC 4616.
	ErrMalformedPlain = errors.New("auth: malformed SASL PLAIN message")
	// ErrAuthzid: the client asked to act as another identity (proxy
	// authorization), which this server does not grant.
	ErrAuthzid = errors.New("auth: authorization identity differs from authentication identity")
)

// maxPlainField is the length RFC 4616 section 2 requires servers to
// accept for each field; we accept no more, so that a PLAIN message is at
// most 3*255+2 octets.
const maxPlainField = 255

// ParsePlain decodes a SASL PLAIN message (RFC 4616 section 2), already
// base64-decoded:
//
//	message = [authzid] UTF8NUL authcid UTF8NUL passwd
//
// authcid and passwd must be non-empty; every field is valid UTF-8 of at
// most 255 octets without NUL. An authzid is accepted only when it names
// the authcid itself (compared as login names: case-insensitively, spaces
// trimmed), and is then returned as given.
func ParsePlain(b []byte) (authzid, authcid, password string, err error) {
	if len(b) > 3*maxPlainField+2 {
		return "", "", "", ErrMalformedPlain
	}
	zid, rest, ok := bytes.Cut(b, []byte{0})
	if !ok {
		return "", "", "", ErrMalformedPlain
	}
	cid, pw, ok := bytes.Cut(rest, []byte{0})
	if !ok || bytes.IndexByte(pw, 0) >= 0 {
		return "", "", "", ErrMalformedPlain
	}
	for _, f := range [][]byte{zid, cid, pw} {
		if len(f) > maxPlainField || !validField(f) {
			return "", "", "", ErrMalformedPlain
		}
	}
	if len(cid) == 0 || len(pw) == 0 {
		return "", "", "", ErrMalformedPlain
	}
	authzid, authcid, password = string(zid), string(cid), string(pw)
	if authzid != "" && NormalizeUsername(authzid) != NormalizeUsername(authcid) {
		return "", "", "", ErrAuthzid
	}
	return authzid, authcid, password, nil
}

// NormalizeUsername returns the form of a login name the store looks up:
// spaces around it trimmed, lower case (addresses are stored lower case).
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// validField reports whether a SASL field is valid UTF-8 without NUL.
func validField(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}
