package auth_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/auth/scramclient"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

func TestSCRAMExchanges(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	cert := auth.SelfSigned(t)
	tls13 := auth.Handshake(t, cert, tls.VersionTLS13)
	tls12 := auth.Handshake(t, cert, tls.VersionTLS12)
	other := auth.Handshake(t, cert, tls.VersionTLS13)
	noCert := tls13
	noCert.Server.ServerCertificate = nil
	loopback := auth.Conn{Protocol: "imap", Remote: netip.MustParseAddr("127.0.0.1")}
	lax := e.service(auth.Options{AllowPlaintextLoopback: true})

	const user = "tim@example.org"
	for _, tc := range []struct {
		name   string
		svc    *auth.Service
		conn   auth.Conn
		client scramclient.Client
		err    error  // errors.Is
		text   string // or an *Error with this text
	}{
		{"scram over tls 1.3", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword}, nil, ""},
		{"user name case and spaces", nil, tls13.Server, scramclient.Client{User: " Tim@Example.ORG", Password: strongPassword}, nil, ""},
		{"own authzid", nil, tls13.Server, scramclient.Client{User: user, Authzid: user, Password: strongPassword}, nil, ""},
		{"plus tls-exporter", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSExporter, TLS: tls13.ClientTLS}, nil, ""},
		{"plus tls-server-end-point tls 1.3", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSServerEndPoint, TLS: tls13.ClientTLS}, nil, ""},
		{"plus tls-server-end-point tls 1.2", nil, tls12.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSServerEndPoint, TLS: tls12.ClientTLS}, nil, ""},
		{"plus tls-exporter on tls 1.2", nil, tls12.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSExporter, TLS: tls12.ClientTLS}, nil,
			`Channel binding type "tls-exporter" is not available on this connection; use tls-exporter on TLS 1.3, tls-server-end-point on TLS 1.2`},
		{"plus end-point without the certificate", nil, noCert.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSServerEndPoint, TLS: tls13.ClientTLS}, nil,
			`Channel binding type "tls-server-end-point" is not available on this connection; use tls-exporter on TLS 1.3, tls-server-end-point on TLS 1.2`},
		{"plus binding of another connection", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSExporter, TLS: other.ClientTLS}, auth.ErrInvalidCredentials, ""},
		{"plus binding data dropped", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword, Binding: scramclient.TLSExporter, TLS: tls13.ClientTLS,
			Tamper: func(m string) string {
				_, rest, _ := strings.Cut(m, ",")
				return "c=" + base64.StdEncoding.EncodeToString([]byte("p=tls-exporter,,")) + "," + rest
			}}, auth.ErrInvalidCredentials, ""},
		{"downgrade: y while plus is offered", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword, ClaimSupport: true}, nil, auth.DowngradeText},
		{"y where plus is not offered", lax, loopback, scramclient.Client{User: user, Password: strongPassword, ClaimSupport: true}, nil, ""},
		{"wrong password", nil, tls13.Server, scramclient.Client{User: user, Password: "wrong password, really"}, auth.ErrInvalidCredentials, ""},
		{"unknown user", nil, tls13.Server, scramclient.Client{User: "nobody@example.org", Password: strongPassword}, auth.ErrInvalidCredentials, ""},
		{"not an address", nil, tls13.Server, scramclient.Client{User: "nobody", Password: strongPassword}, auth.ErrInvalidCredentials, ""},
		{"other authzid", nil, tls13.Server, scramclient.Client{User: user, Authzid: "bob@example.org", Password: strongPassword}, auth.ErrAuthzid, ""},
		{"nonce changed", nil, tls13.Server, scramclient.Client{User: user, Password: strongPassword,
			Tamper: func(m string) string { return strings.Replace(m, ",r=", ",r=x", 1) }}, auth.ErrMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.svc
			if svc == nil {
				svc = e.svc
			}
			c := tc.client
			sess, err := runSASL(t, svc, tc.conn, &c)
			switch {
			case tc.text != "":
				if !isError(err, tc.text) {
					t.Fatalf("err = %v, want *Error %q", err, tc.text)
				}
			case !errors.Is(err, tc.err):
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil {
				if sess.Account.Address != user || sess.Credential != "password" || sess.Revoked == nil {
					t.Errorf("session = %+v", sess)
				}
				if !c.Verified {
					t.Error("the client did not verify the server's signature")
				}
				sess.Close()
			}
		})
	}
}

// TestSCRAMMechanisms: -PLUS is offered where a binding is available, and
// only there; SCRAM needs Credentials.
func TestSCRAMMechanisms(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	cert := auth.SelfSigned(t)
	tls13 := auth.Handshake(t, cert, tls.VersionTLS13)
	tls12 := auth.Handshake(t, cert, tls.VersionTLS12)
	tls12NoCert := tls12
	tls12NoCert.Server.ServerCertificate = nil
	plus := []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN"}
	noPlus := []string{"SCRAM-SHA-256", "PLAIN", "LOGIN"}
	for _, tc := range []struct {
		name string
		conn auth.Conn
		want []string
	}{
		{"tls 1.3", tls13.Server, plus},
		{"tls 1.2 with certificate", tls12.Server, plus},
		{"tls 1.2 without certificate", tls12NoCert.Server, noPlus},
		{"plaintext", auth.Conn{Protocol: "imap", Remote: remoteAddr}, nil},
	} {
		if got := e.svc.Mechanisms(tc.conn); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Mechanisms = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := e.svc.Start(tls12NoCert.Server, "SCRAM-SHA-256-PLUS"); !errors.Is(err, auth.ErrUnsupportedMechanism) {
		t.Errorf("Start(-PLUS) without a binding: %v", err)
	}
	without, err := auth.NewService(accountsOnly{e.store}, auth.Options{Params: cheap})
	if err != nil {
		t.Fatal(err)
	}
	if got := without.Mechanisms(tls13.Server); !slices.Equal(got, []string{"PLAIN", "LOGIN"}) {
		t.Errorf("without Credentials: %v", got)
	}
	if _, err := without.Start(tls13.Server, "SCRAM-SHA-256"); !errors.Is(err, auth.ErrUnsupportedMechanism) {
		t.Errorf("Start(SCRAM) without Credentials: %v", err)
	}
}

// TestSCRAMNoEnumeration: an unknown user, an account without SCRAM keys
// and a real one get server-first messages of the same shape, with a salt
// that does not change between attempts.
func TestSCRAMNoEnumeration(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	ctx := context.Background()
	hash, _ := e.svc.Hash(ctx, strongPassword)
	noKeys, err := e.store.AddAccount(ctx, "old@example.org", hash)
	if err != nil {
		t.Fatal(err)
	}
	first := func(user string) (salt, iterations string) {
		ex, err := e.svc.Start(connFor("imap"), "SCRAM-SHA-256")
		if err != nil {
			t.Fatal(err)
		}
		sf, _, err := ex.Next(ctx, []byte("n,,n="+user+",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(sf), ",")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "r=abc") || len(parts[0]) != len("r=abc")+24 {
			t.Fatalf("server-first = %q", sf)
		}
		return parts[1], parts[2]
	}
	realSalt, realIter := first("tim@example.org")
	for _, user := range []string{"nobody@example.org", "old@example.org"} {
		s1, i1 := first(user)
		s2, i2 := first(user)
		if s1 != s2 || i1 != i2 {
			t.Errorf("%s: salt changes between attempts: %s %s", user, s1, s2)
		}
		if len(s1) != len(realSalt) || i1 != realIter || s1 == realSalt {
			t.Errorf("%s: %s %s, real account %s %s", user, s1, i1, realSalt, realIter)
		}
	}
	// The account without keys gains them at its next PLAIN login, with
	// the salt it announced all along.
	oldSalt, _ := first("old@example.org")
	c := &scramclient.Client{User: "old@example.org", Password: strongPassword}
	if _, err := runSASL(t, e.svc, connFor("imap"), c); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("SCRAM before any PLAIN login: %v", err)
	}
	if _, err := e.svc.Password(ctx, connFor("imap"), "old@example.org", strongPassword); err != nil {
		t.Fatal(err)
	}
	if s, _ := first("old@example.org"); s != oldSalt {
		t.Errorf("salt changed when keys were stored: %s -> %s", oldSalt, s)
	}
	c = &scramclient.Client{User: "old@example.org", Password: strongPassword}
	sess, err := runSASL(t, e.svc, connFor("imap"), c)
	if err != nil || sess.Account.ID != noKeys.ID {
		t.Fatalf("SCRAM after a PLAIN login: %+v, %v", sess, err)
	}
	sess.Close()
}

// TestSCRAMIterationUpgrade: keys made with another iteration count are
// remade at the next PLAIN login, unless app passwords hold keys with the
// old count (they cannot be remade without the app passwords).
func TestSCRAMIterationUpgrade(t *testing.T) {
	e := newCredEnv(t, auth.Options{})
	ctx := context.Background()
	up := e.service(auth.Options{SCRAMIterations: 5000})
	if _, err := up.Password(ctx, connFor("imap"), "tim@example.org", strongPassword); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.store.SCRAMKeys(ctx, e.acct.ID); k.Iterations != 5000 {
		t.Fatalf("iterations after upgrade = %d", k.Iterations)
	}
	if _, _, err := up.AddAppPassword(ctx, e.acct, "phone", nil); err != nil {
		t.Fatal(err)
	}
	down := e.service(auth.Options{SCRAMIterations: 6000})
	down.Password(ctx, connFor("imap"), "tim@example.org", strongPassword)
	if k, _ := e.store.SCRAMKeys(ctx, e.acct.ID); k.Iterations != 5000 {
		t.Errorf("iterations with app passwords = %d, want 5000 kept", k.Iterations)
	}
	c := &scramclient.Client{User: "tim@example.org", Password: strongPassword}
	if sess, err := runSASL(t, down, connFor("imap"), c); err != nil {
		t.Errorf("SCRAM with kept count: %v", err)
	} else {
		sess.Close()
	}
}

// BenchmarkSCRAMExchange is a whole server-side SCRAM-SHA-256 login
// (client work excluded): two store reads, HMACs, no PBKDF2.
func BenchmarkSCRAMExchange(b *testing.B) {
	e := newCredEnv(b, auth.Options{SCRAMIterations: auth.DefaultSCRAMIterations})
	ctx := context.Background()
	// A client that knows the password precomputes its messages per
	// server nonce; fix the nonce so one client run serves every round.
	auth.SetSCRAMNonce(e.svc, func() string { return "fixed-server-nonce" })
	c := &scramclient.Client{User: "tim@example.org", Password: strongPassword, Nonce: "fixed-client-nonce"}
	_, ir, _ := c.Start()
	ex, _ := e.svc.Start(connFor("imap"), "SCRAM-SHA-256")
	sf, _, _ := ex.Next(ctx, ir)
	cf, err := c.Next(sf)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		ex, _ := e.svc.Start(connFor("imap"), "SCRAM-SHA-256")
		ex.Next(ctx, ir)
		if _, _, err := ex.Next(ctx, cf); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ex.Next(ctx, []byte{}); err != nil {
			b.Fatal(err)
		}
		ex.Session().Close()
	}
}

// accountsOnly hides the store's Credentials.
type accountsOnly struct{ st *sqlite.Store }

func (a accountsOnly) AccountByAddress(ctx context.Context, address string) (store.Account, error) {
	return a.st.AccountByAddress(ctx, address)
}

func (a accountsOnly) SetPasswordHash(ctx context.Context, address, hash string) error {
	return a.st.SetPasswordHash(ctx, address, hash)
}
