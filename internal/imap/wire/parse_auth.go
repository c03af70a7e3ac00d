package wire

import (
	"encoding/base64"
)

// parseLogin reads LOGIN's arguments: SP userid SP password, both astrings
// (RFC 9051 section 6.2.3).
func (r *Reader) parseLogin() *LoginArgs {
	r.sp()
	user := r.astring()
	r.sp()
	return &LoginArgs{User: user, Password: r.astring()}
}

// parseAuthenticate reads AUTHENTICATE's arguments: SP auth-type
// [SP initial-resp], the initial response being base64 or "=" for an empty
// one (RFC 9051 section 6.2.2, RFC 4959 section 3).
func (r *Reader) parseAuthenticate() *AuthenticateArgs {
	r.sp()
	var buf [32]byte
	mech := r.keyword(buf[:])
	if mech == nil {
		r.fail("mechanism name too long")
	}
	a := &AuthenticateArgs{Mechanism: string(mech)}
	if !r.takeIf(' ') {
		return a
	}
	a.HasInitial = true
	if r.takeIf('=') {
		a.Initial = []byte{}
		return a
	}
	data := r.word(isBase64Char)
	if len(data) == 0 {
		r.fail("expected base64 initial response")
	}
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(dec, data)
	if err != nil {
		r.fail("invalid base64 in initial response")
	}
	a.Initial = dec[:n]
	return a
}

// isBase64Char reports whether c is a base64-char or the padding "=".
func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '='
}

// parseEnable reads ENABLE's arguments: 1*(SP capability) (RFC 5161 section
// 4, RFC 9051 section 6.3.1).
func (r *Reader) parseEnable() *EnableArgs {
	a := &EnableArgs{}
	var buf [64]byte
	for {
		r.sp()
		capa := r.keyword(buf[:])
		if capa == nil {
			r.fail("capability name too long")
		}
		a.Capabilities = append(a.Capabilities, string(capa))
		if r.peek() != ' ' {
			return a
		}
	}
}

// parseID reads ID's argument: SP ("(" [string SP nstring *(SP string SP
// nstring)] ")" / NIL) (RFC 2971 section 4). For lenience a key may also be
// an atom.
func (r *Reader) parseID() *IDArgs {
	r.sp()
	a := &IDArgs{}
	if r.takeKeyword("NIL") {
		return a
	}
	r.expect('(')
	a.Fields = []IDField{}
	if r.takeIf(')') {
		return a
	}
	for {
		key := r.astring()
		r.sp()
		f := IDField{Key: key}
		if v, ok := r.nstring(); ok {
			f.Value = &v
		}
		a.Fields = append(a.Fields, f)
		if r.takeIf(')') {
			return a
		}
		r.sp()
	}
}

// parseCompress reads COMPRESS's argument: SP algorithm, an atom
// (RFC 4978 section 4).
func (r *Reader) parseCompress() *CompressArgs {
	r.sp()
	var buf [32]byte
	mech := r.keyword(buf[:])
	if mech == nil {
		r.fail("compression mechanism name too long")
	}
	return &CompressArgs{Mechanism: string(mech)}
}
