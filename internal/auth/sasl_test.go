package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

var (
	tlsConn       = Conn{Protocol: "imap", Remote: netip.MustParseAddr("192.0.2.7"), TLS: &tls.ConnectionState{}}
	plainConn     = Conn{Protocol: "imap", Remote: netip.MustParseAddr("192.0.2.7")}
	loopbackPlain = Conn{Protocol: "pop3", Remote: netip.MustParseAddr("127.0.0.1")}
)

// exchange runs a SASL exchange with scripted client responses and
// returns the challenges the server sent.
func exchange(t *testing.T, ex Exchange, initial []byte, responses ...string) ([]string, error) {
	t.Helper()
	var challenges []string
	resp := initial
	for i := 0; ; i++ {
		ch, done, err := ex.Next(context.Background(), resp)
		if done || err != nil {
			return challenges, err
		}
		challenges = append(challenges, string(ch))
		if i >= len(responses) {
			t.Fatalf("server sent challenge %q after the script ended", ch)
		}
		resp = []byte(responses[i])
	}
}

func TestSecureAndMechanisms(t *testing.T) {
	strict := newTestService(t, newFakeAccounts(), Options{})
	lax := newTestService(t, newFakeAccounts(), Options{AllowPlaintextLoopback: true})
	for _, tc := range []struct {
		name   string
		s      *Service
		conn   Conn
		secure bool
	}{
		{"tls", strict, tlsConn, true},
		{"plaintext", strict, plainConn, false},
		{"plaintext loopback, not allowed", strict, loopbackPlain, false},
		{"plaintext loopback, allowed", lax, loopbackPlain, true},
		{"plaintext remote, loopback allowed", lax, plainConn, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Secure(tc.conn); got != tc.secure {
				t.Errorf("Secure = %v, want %v", got, tc.secure)
			}
			mechs := tc.s.Mechanisms(tc.conn)
			if tc.secure != (len(mechs) > 0) {
				t.Errorf("Mechanisms = %v on a connection with secure=%v", mechs, tc.secure)
			}
			if tc.secure && (!slices.Contains(mechs, "PLAIN") || !slices.Contains(mechs, "LOGIN")) {
				t.Errorf("Mechanisms = %v, want PLAIN and LOGIN", mechs)
			}
			if !tc.secure {
				if _, err := tc.s.Start(tc.conn, "PLAIN"); !errors.Is(err, ErrPrivacyRequired) {
					t.Errorf("Start without TLS: %v", err)
				}
				if _, err := tc.s.Password(context.Background(), tc.conn, "a@example.org", "x"); !errors.Is(err, ErrPrivacyRequired) {
					t.Errorf("Password without TLS: %v", err)
				}
			}
		})
	}
}

func TestSASLPlainAndLogin(t *testing.T) {
	accts := newFakeAccounts()
	accts.add(t, "tim@example.org", "correct horse", testParams)
	s := newTestService(t, accts, Options{})
	if _, err := s.Start(tlsConn, "CRAM-MD5"); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("Start(CRAM-MD5) = %v", err)
	}
	for _, tc := range []struct {
		name       string
		mech       string
		initial    []byte
		responses  []string
		challenges []string
		err        error
	}{
		{"plain initial", "PLAIN", []byte("\x00tim@example.org\x00correct horse"), nil, nil, nil},
		{"plain lower-case mechanism", "plain", []byte("\x00tim@example.org\x00correct horse"), nil, nil, nil},
		{"plain after challenge", "PLAIN", nil, []string{"\x00Tim@Example.org\x00correct horse"}, []string{""}, nil},
		{"plain with own authzid", "PLAIN", []byte("tim@example.org\x00tim@example.org\x00correct horse"), nil, nil, nil},
		{"plain other authzid", "PLAIN", []byte("bob@example.org\x00tim@example.org\x00correct horse"), nil, nil, ErrAuthzid},
		{"plain wrong password", "PLAIN", []byte("\x00tim@example.org\x00wrong"), nil, nil, ErrInvalidCredentials},
		{"plain unknown user", "PLAIN", []byte("\x00nobody@example.org\x00correct horse"), nil, nil, ErrInvalidCredentials},
		{"plain malformed", "PLAIN", []byte("no nul"), nil, nil, ErrMalformed},
		{"plain empty initial", "PLAIN", []byte{}, nil, nil, ErrMalformed},
		{"login", "LOGIN", nil, []string{"tim@example.org", "correct horse"}, []string{"Username:", "Password:"}, nil},
		{"login initial user", "LOGIN", []byte("tim@example.org"), []string{"correct horse"}, []string{"Password:"}, nil},
		{"login wrong", "LOGIN", nil, []string{"tim@example.org", "nope"}, []string{"Username:", "Password:"}, ErrInvalidCredentials},
		{"login empty user", "LOGIN", nil, []string{""}, []string{"Username:"}, ErrMalformed},
		{"login nul in password", "LOGIN", nil, []string{"tim@example.org", "a\x00b"}, []string{"Username:", "Password:"}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := s.Start(tlsConn, tc.mech)
			if err != nil {
				t.Fatal(err)
			}
			challenges, err := exchange(t, ex, tc.initial, tc.responses...)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !slices.Equal(challenges, tc.challenges) {
				t.Errorf("challenges = %q, want %q", challenges, tc.challenges)
			}
			if err == nil {
				sess := ex.Session()
				if sess.Account.Address != "tim@example.org" || sess.Credential != "password" {
					t.Errorf("session = %+v", sess)
				}
			}
		})
	}
}
