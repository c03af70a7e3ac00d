package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedHash: a stored hash is not an argon2id PHC string this
// package accepts.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding.Strict()

// phc is a decoded argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

// encode writes the PHC string format
// (https://github.com/P-H-C/phc-string-format):
//
//	$argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash>
func (h *phc) encode() string {
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(h.salt)) + b64.EncodedLen(len(h.key)))
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(h.params.MemoryKiB), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.key))
	return b.String()
}

// decodePHC parses an argon2id PHC string. It accepts exactly what encode
// writes, version 19 (0x13, RFC 9106) with the parameters in the order
// m, t, p, so that every accepted string has one spelling.
func decodePHC(s string) (*phc, error) {
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return nil, fmt.Errorf("%w: want $argon2id$v=19$m=..,t=..,p=..$salt$hash", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return nil, fmt.Errorf("%w: algorithm %.20q is not argon2id", ErrMalformedHash, fields[1])
	}
	if fields[2] != "v=19" {
		return nil, fmt.Errorf("%w: version %.20q is not v=19", ErrMalformedHash, fields[2])
	}
	var h phc
	ps := strings.Split(fields[3], ",")
	if len(ps) != 3 {
		return nil, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	m, err := phcParam(ps[0], "m", maxMemoryKiB)
	if err != nil {
		return nil, err
	}
	t, err := phcParam(ps[1], "t", maxTime)
	if err != nil {
		return nil, err
	}
	p, err := phcParam(ps[2], "p", 255)
	if err != nil {
		return nil, err
	}
	h.params = Params{Time: t, MemoryKiB: m, Threads: uint8(p)}
	if err := h.params.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if h.salt, err = decodeB64(fields[4]); err != nil || len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return nil, fmt.Errorf("%w: salt must be %d to %d octets of unpadded base64", ErrMalformedHash, minSaltLen, maxSaltLen)
	}
	if h.key, err = decodeB64(fields[5]); err != nil || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
		return nil, fmt.Errorf("%w: hash must be %d to %d octets of unpadded base64", ErrMalformedHash, minKeyLen, maxKeyLen)
	}
	return &h, nil
}

// decodeB64 decodes unpadded base64 in its one canonical spelling: the
// decoder alone would skip CR and LF.
func decodeB64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodedLen(len(b)) != len(s) {
		return nil, ErrMalformedHash
	}
	return b, nil
}

// phcParam parses "name=decimal", a canonical decimal (no sign, no leading
// zero) of at most limit.
func phcParam(s, name string, limit uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok || v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: want parameter %s=<number>", ErrMalformedHash, name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: want parameter %s=<number>", ErrMalformedHash, name)
		}
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > uint64(limit) {
		return 0, fmt.Errorf("%w: parameter %s out of range", ErrMalformedHash, name)
	}
	return uint32(n), nil
}
