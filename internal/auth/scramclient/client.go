// Package scramclient is a SCRAM-SHA-256 and SCRAM-SHA-256-PLUS client
// (RFC 5802, RFC 7677, channel bindings of RFC 5929 and RFC 9266) for
// tests: of the auth package, and of IMAP, POP3 and SMTP servers through
// any client library that takes a go-sasl Client (go-imap's imapclient,
// go-smtp's client).
//
// It is written apart from the server side in internal/auth and shares no
// code with it, so that the two check each other; RFC 7677's test vector
// checks both. It can also misbehave on purpose (Tamper) to test the
// server's refusals.
package scramclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Binding names a channel binding type.
type Binding string

const (
	// None: no channel binding; the client says "n" (or "y" with
	// ClaimSupport).
	None              Binding = ""
	TLSExporter       Binding = "tls-exporter"
	TLSServerEndPoint Binding = "tls-server-end-point"
)

// Client is one SCRAM authentication. It implements go-sasl's Client
// interface (Start, Next).
type Client struct {
	User, Password string
	// Authzid, when set, is sent as the authorization identity.
	Authzid string
	// Binding selects SCRAM-SHA-256-PLUS with that channel binding; TLS
	// is then required.
	Binding Binding
	// TLS is the client's view of the connection (for the binding).
	TLS *tls.ConnectionState
	// ClaimSupport sends the "y" flag: the client could bind but thinks
	// the server cannot (what a client does when -PLUS is not offered).
	ClaimSupport bool
	// Nonce is the client nonce; default 24 random octets in base64.
	Nonce string
	// Tamper, when set, may change the client-final message before it is
	// sent (tests of the server's checks).
	Tamper func(clientFinal string) string

	step            int
	gs2Header       string
	clientFirstBare string
	serverSignature []byte
	// Verified is set once the server proved it knows the password's
	// keys (a valid server signature).
	Verified bool
}

// Start implements sasl.Client.
func (c *Client) Start() (mech string, ir []byte, err error) {
	mech = "SCRAM-SHA-256"
	flag := "n"
	switch {
	case c.Binding != None:
		mech += "-PLUS"
		flag = "p=" + string(c.Binding)
	case c.ClaimSupport:
		flag = "y"
	}
	if c.Nonce == "" {
		b := make([]byte, 24)
		rand.Read(b)
		c.Nonce = base64.RawStdEncoding.EncodeToString(b)
	}
	authz := ""
	if c.Authzid != "" {
		authz = "a=" + escape(c.Authzid)
	}
	c.gs2Header = flag + "," + authz + ","
	c.clientFirstBare = "n=" + escape(c.User) + ",r=" + c.Nonce
	c.step = 1
	return mech, []byte(c.gs2Header + c.clientFirstBare), nil
}

// Next implements sasl.Client.
func (c *Client) Next(challenge []byte) ([]byte, error) {
	switch c.step {
	case 0:
		// The server asked for the initial response after all.
		_, ir, err := c.Start()
		return ir, err
	case 1:
		c.step = 2
		return c.final(string(challenge))
	case 2:
		c.step = 3
		v, ok := strings.CutPrefix(string(challenge), "v=")
		if !ok {
			return nil, fmt.Errorf("scramclient: server-final %q", challenge)
		}
		sig, err := base64.StdEncoding.DecodeString(v)
		if err != nil || !hmac.Equal(sig, c.serverSignature) {
			return nil, errors.New("scramclient: the server's signature is wrong")
		}
		c.Verified = true
		return []byte{}, nil
	}
	return nil, errors.New("scramclient: unexpected challenge")
}

// final answers the server-first message: r=<nonce>,s=<salt>,i=<count>.
func (c *Client) final(serverFirst string) ([]byte, error) {
	fields := map[string]string{}
	for _, f := range strings.Split(serverFirst, ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("scramclient: server-first %q", serverFirst)
		}
		fields[k] = v
	}
	nonce := fields["r"]
	if !strings.HasPrefix(nonce, c.Nonce) || len(nonce) == len(c.Nonce) {
		return nil, fmt.Errorf("scramclient: server nonce %q does not extend ours", nonce)
	}
	salt, err := base64.StdEncoding.DecodeString(fields["s"])
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("scramclient: salt %q", fields["s"])
	}
	iterations, err := strconv.Atoi(fields["i"])
	if err != nil || iterations < 1 {
		return nil, fmt.Errorf("scramclient: iteration count %q", fields["i"])
	}
	cb := []byte(c.gs2Header)
	if c.Binding != None {
		data, err := BindingData(c.TLS, c.Binding)
		if err != nil {
			return nil, err
		}
		cb = append(cb, data...)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString(cb) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + serverFirst + "," + withoutProof

	salted := hi([]byte(c.Password), salt, iterations)
	clientKey := mac(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	clientSignature := mac(storedKey[:], authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSignature[i]
	}
	c.serverSignature = mac(mac(salted, "Server Key"), authMessage)
	msg := withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
	if c.Tamper != nil {
		msg = c.Tamper(msg)
	}
	return []byte(msg), nil
}

// hi is RFC 5802 section 2.2's Hi(): PBKDF2 with HMAC-SHA-256 and one
// output block, written out as the RFC states it.
func hi(password, salt []byte, iterations int) []byte {
	u := mac(password, string(append(append([]byte{}, salt...), 0, 0, 0, 1)))
	out := bytes.Clone(u)
	for i := 1; i < iterations; i++ {
		u = mac(password, string(u))
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// escape is RFC 5802 section 5.1's saslname escaping.
func escape(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// BindingData is the channel binding data the client side sees.
func BindingData(st *tls.ConnectionState, b Binding) ([]byte, error) {
	if st == nil {
		return nil, errors.New("scramclient: channel binding needs TLS")
	}
	switch b {
	case TLSExporter:
		return st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	case TLSServerEndPoint:
		if len(st.PeerCertificates) == 0 {
			return nil, errors.New("scramclient: no server certificate")
		}
		cert := st.PeerCertificates[0]
		var h hash.Hash
		switch cert.SignatureAlgorithm {
		case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
			h = sha512.New384()
		case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
			h = sha512.New()
		default:
			h = sha256.New()
		}
		h.Write(cert.Raw)
		return h.Sum(nil), nil
	}
	return nil, fmt.Errorf("scramclient: unknown binding %q", b)
}
