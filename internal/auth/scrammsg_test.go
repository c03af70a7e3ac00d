package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"postfach/internal/auth/scramclient"
	"postfach/internal/store"
)

// vectorStore serves RFC 7677 section 3's test vector: user "user",
// password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. The
// embedded interface panics on any method the exchange should not call.
type vectorStore struct {
	store.Credentials
	keys store.SCRAMKeys
}

func (v *vectorStore) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	if address != "user" {
		return store.Account{}, store.ErrNotFound
	}
	return store.Account{ID: 1, Address: "user", PasswordHash: "$argon2id$not-used"}, nil
}

func (v *vectorStore) SetPasswordHash(ctx context.Context, address, hash string) error {
	return errors.New("not used")
}

func (v *vectorStore) SCRAMKeys(ctx context.Context, id store.AccountID) (store.SCRAMKeys, error) {
	if id != 1 {
		return store.SCRAMKeys{}, store.ErrNotFound
	}
	return v.keys, nil
}

func (v *vectorStore) AppPasswords(ctx context.Context, id store.AccountID) ([]store.AppPassword, error) {
	return nil, nil
}

func (v *vectorStore) CredentialSecret(ctx context.Context, name string) ([]byte, error) {
	return bytes.Repeat([]byte{7}, 32), nil
}

func (v *vectorStore) CredentialGeneration(ctx context.Context) (int64, error) { return 0, nil }

func (v *vectorStore) TOTP(ctx context.Context, id store.AccountID) (store.TOTP, error) {
	return store.TOTP{}, store.ErrNotFound
}

// TestSCRAMRFC7677 runs the exchange of RFC 7677 section 3 byte for byte,
// with the server nonce fixed to the RFC's.
func TestSCRAMRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	keys, err := SCRAMKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	vs := &vectorStore{keys: keys}
	s := newTestService(t, vs, Options{Credentials: vs, SCRAMIterations: 4096})
	s.scramNonce = func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }
	ex, err := s.Start(tlsConn, "SCRAM-SHA-256")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	serverFirst, done, err := ex.Next(ctx, []byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
	if err != nil || done {
		t.Fatalf("client-first: %v, done=%v", err, done)
	}
	if want := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"; string(serverFirst) != want {
		t.Fatalf("server-first = %q\nwant          %q", serverFirst, want)
	}
	serverFinal, done, err := ex.Next(ctx, []byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || done {
		t.Fatalf("client-final: %v, done=%v", err, done)
	}
	if want := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; string(serverFinal) != want {
		t.Fatalf("server-final = %q, want %q", serverFinal, want)
	}
	if _, done, err = ex.Next(ctx, []byte{}); err != nil || !done {
		t.Fatalf("final empty response: %v, done=%v", err, done)
	}
	sess := ex.Session()
	if sess.Account.Address != "user" || sess.Credential != "password" || sess.Revoked == nil {
		t.Errorf("session = %+v", sess)
	}
	sess.Close()

	// The test client computes the same proof on its own.
	c := &scramclient.Client{User: "user", Password: "pencil", Nonce: "rOprNGfwEbeRWgbNEkqO"}
	_, ir, _ := c.Start()
	if string(ir) != "n,,n=user,r=rOprNGfwEbeRWgbNEkqO" {
		t.Errorf("client-first = %q", ir)
	}
	final, err := c.Next([]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	if err != nil || !strings.HasSuffix(string(final), ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=") {
		t.Errorf("test client's client-final = %q, %v", final, err)
	}
	if _, err := c.Next([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); err != nil || !c.Verified {
		t.Errorf("test client does not verify the RFC's server signature: %v", err)
	}
}

// vectorService is a service over the RFC 7677 vector's one user.
func vectorService(t testing.TB) *Service {
	t.Helper()
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	keys, err := SCRAMKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	vs := &vectorStore{keys: keys}
	return newTestService(t, vs, Options{Credentials: vs, SCRAMIterations: 4096})
}

func TestSCRAMMalformed(t *testing.T) {
	s := vectorService(t)
	ctx := context.Background()
	for _, first := range []string{
		"", "n", "n,", "n,,", "x,,n=a,r=b", "p,,n=a,r=b", "p=,,n=a,r=b", "p=tls exporter,,n=a,r=b",
		"n,b=x,n=a,r=b", "n,a=,n=a,r=b", "n,,r=b,n=a", "n,,n=a", "n,,n=,r=b", "n,,n=a=2X,r=b",
		"n,,n=a,r=", "n,,n=a,r=b c", "n,,n=a,r=b,1=x", "n,,n=a,r=b,x", "m=ext,n=a,r=b", "n,,m=ext,n=a,r=b",
		"n,,n=a\x00,r=b", "n,,n=\xff,r=b", strings.Repeat("x", 5000),
	} {
		ex, _ := s.Start(tlsConn, "SCRAM-SHA-256")
		if _, done, err := ex.Next(ctx, []byte(first)); !errors.Is(err, ErrMalformed) || !done {
			t.Errorf("client-first %q: %v, done=%v", first, err, done)
		}
	}
	for _, final := range []string{
		"", "c=biws", "c=biws,r=NONCE", "r=NONCE,c=biws,p=" + strings.Repeat("A", 43) + "=",
		"c=biws,r=NONCE,p=short", "c=biws,r=NONCE,p=" + strings.Repeat("A", 43) + "=,x=1",
		"c=!!!,r=NONCE,p=" + strings.Repeat("A", 43) + "=", "c=,r=NONCE,p=" + strings.Repeat("A", 43) + "=",
		"c=biws,r=WRONG,p=" + strings.Repeat("A", 43) + "=",
	} {
		ex, _ := s.Start(tlsConn, "SCRAM-SHA-256")
		sf, _, err := ex.Next(ctx, []byte("n,,n=tim@example.org,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := strings.TrimPrefix(strings.Split(string(sf), ",")[0], "r=")
		if _, done, err := ex.Next(ctx, []byte(strings.ReplaceAll(final, "NONCE", nonce))); !errors.Is(err, ErrMalformed) || !done {
			t.Errorf("client-final %q: %v, done=%v", final, err, done)
		}
	}
	// The mechanisms and flags must agree (RFC 5802 section 6).
	for _, tc := range []struct{ mech, first string }{
		{"SCRAM-SHA-256", "p=tls-exporter,,n=tim@example.org,r=abc"},
		{"SCRAM-SHA-256-PLUS", "n,,n=tim@example.org,r=abc"},
		{"SCRAM-SHA-256-PLUS", "y,,n=tim@example.org,r=abc"},
	} {
		conn := Handshake(t, SelfSigned(t), tls.VersionTLS13).Server
		ex, err := s.Start(conn, tc.mech)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ex.Next(ctx, []byte(tc.first)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %q: %v", tc.mech, tc.first, err)
		}
	}
	// Without an initial response the server asks with an empty
	// challenge; the final response must be empty.
	c := &scramclient.Client{User: "user", Password: "pencil"}
	ex, _ := s.Start(tlsConn, "SCRAM-SHA-256")
	ch, done, err := ex.Next(ctx, nil)
	if err != nil || done || len(ch) != 0 {
		t.Fatalf("no initial response: %q, %v, %v", ch, done, err)
	}
	_, ir, _ := c.Start()
	sf, _, _ := ex.Next(ctx, ir)
	cf, _ := c.Next(sf)
	if _, _, err := ex.Next(ctx, cf); err != nil {
		t.Fatal(err)
	}
	if _, done, err := ex.Next(ctx, []byte("extra")); !errors.Is(err, ErrMalformed) || !done {
		t.Errorf("non-empty final response: %v", err)
	}
}

func TestDecodeSASLName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user", "user"}, {"a=2Cb", "a,b"}, {"a=3Db=3D", "a=b="}, {"=2C=3D", ",="},
	} {
		if got, err := decodeSASLName(tc.in); err != nil || got != tc.want {
			t.Errorf("decodeSASLName(%q) = %q, %v", tc.in, got, err)
		}
	}
	for _, in := range []string{"", "a=", "a=2", "a=2c", "a=41"} {
		if _, err := decodeSASLName(in); err == nil {
			t.Errorf("decodeSASLName(%q) accepted", in)
		}
	}
}

func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "p=tls-exporter,a=x=2Cy,n=a=3Db,r=x,e=f", "y,,n=a,r=b", "m=x,n=a,r=b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseClientFirst(b)
		if err != nil {
			return
		}
		// What parses was sent as gs2-header + bare.
		if m.gs2Header+m.bare != string(b) || m.user == "" || !validNonce(m.nonce) {
			t.Fatalf("parse(%q) = %+v", b, m)
		}
		if m.flag == 'p' && !validCBName(m.cbName) {
			t.Fatalf("parse(%q): bad cb-name accepted", b)
		}
	})
}

func FuzzParseClientFinal(f *testing.F) {
	f.Add([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("c=biws,r=a,x=y,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseClientFinal(b)
		if err != nil {
			return
		}
		if len(m.proof) != 32 || !strings.HasPrefix(string(b), m.withoutProof+",p=") || len(m.cbind) == 0 {
			t.Fatalf("parse(%q) = %+v", b, m)
		}
	})
}

// BenchmarkSCRAMKeys is the PBKDF2 a client runs per login (and the
// server when a password is set) at the default iteration count.
func BenchmarkSCRAMKeys(b *testing.B) {
	salt := []byte("0123456789abcdef")
	for b.Loop() {
		SCRAMKeys("correct horse battery staple", salt, DefaultSCRAMIterations)
	}
}
