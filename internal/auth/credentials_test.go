package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/auth/scramclient"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// Helpers of the credential tests: a real SQLite store, real TLS
// connection states, and the test SCRAM client driving exchanges.

// strongPassword passes the default password policy.
const strongPassword = "correct horse battery staple"

// cheap argon2id parameters, for tests not about cost.
var cheap = auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}

var remoteAddr = netip.MustParseAddr("192.0.2.7")

// connFor is a TLS connection of a protocol, without channel binding.
func connFor(proto string) auth.Conn {
	return auth.Conn{Protocol: proto, Remote: remoteAddr, TLS: &tls.ConnectionState{}}
}

// credEnv is a Service over a real store with one account.
type credEnv struct {
	t     testing.TB
	dir   string
	store *sqlite.Store
	svc   *auth.Service
	acct  store.Account
}

func newCredEnv(t testing.TB, opts auth.Options) *credEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	e := &credEnv{t: t, dir: dir, store: st}
	e.svc = e.service(opts)
	e.acct = e.addUser("tim@example.org", strongPassword)
	return e
}

// service makes another Service over the same store.
func (e *credEnv) service(opts auth.Options) *auth.Service {
	e.t.Helper()
	if opts.Params == (auth.Params{}) {
		opts.Params = cheap
	}
	if opts.SCRAMIterations == 0 {
		opts.SCRAMIterations = auth.MinSCRAMIterations
	}
	svc, err := auth.NewService(e.store, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// addUser creates an account as `postfach user add` does.
func (e *credEnv) addUser(address, password string) store.Account {
	e.t.Helper()
	ctx := context.Background()
	hash, err := e.svc.HashNewPassword(ctx, address, password)
	if err != nil {
		e.t.Fatal(err)
	}
	acct, err := e.store.AddAccount(ctx, address, hash)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.StoreSCRAMKeys(ctx, acct, password); err != nil {
		e.t.Fatal(err)
	}
	return acct
}

// other opens a second handle on the store, as an admin command in
// another process does.
func (e *credEnv) other() *sqlite.Store {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: e.dir, NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

// runSASL drives a server exchange with a go-sasl style client and
// returns the outcome (client errors fail the test).
func runSASL(t testing.TB, svc *auth.Service, conn auth.Conn, c *scramclient.Client) (auth.Session, error) {
	t.Helper()
	mech, ir, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	ex, err := svc.Start(conn, mech)
	if err != nil {
		return auth.Session{}, err
	}
	ctx := context.Background()
	resp := ir
	for {
		challenge, done, err := ex.Next(ctx, resp)
		if err != nil {
			return auth.Session{}, err
		}
		if done {
			return ex.Session(), nil
		}
		if resp, err = c.Next(challenge); err != nil {
			t.Fatalf("client: %v", err)
		}
	}
}

// plain runs a SASL PLAIN exchange.
func plain(svc *auth.Service, conn auth.Conn, user, pass string) (auth.Session, error) {
	ex, err := svc.Start(conn, "PLAIN")
	if err != nil {
		return auth.Session{}, err
	}
	_, _, err = ex.Next(context.Background(), []byte("\x00"+user+"\x00"+pass))
	return ex.Session(), err
}

func isError(err error, text string) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Text == text
}
