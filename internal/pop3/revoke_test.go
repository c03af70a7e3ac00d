package pop3_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"postfach/internal/auth"
	"postfach/internal/imaptest"
	"postfach/internal/pop3"
	"postfach/internal/pop3/pop3test"
	"postfach/internal/store"
	"postfach/internal/store/sqlite"
	"postfach/internal/tlsutil"
)

// revokingAuth logs everyone in as acct with a credential that the test
// revokes: what auth.Service does for an app password.
type revokingAuth struct {
	acct    store.Account
	revoked chan struct{}
}

func (a *revokingAuth) Secure(conn auth.Conn) bool    { return conn.TLS != nil }
func (a *revokingAuth) Mechanisms(auth.Conn) []string { return nil }
func (a *revokingAuth) Start(auth.Conn, string) (auth.Exchange, error) {
	return nil, auth.ErrUnsupportedMechanism
}

func (a *revokingAuth) Password(ctx context.Context, conn auth.Conn, user, pass string) (auth.Session, error) {
	if pass != imaptest.Password {
		return auth.Session{}, &auth.Error{Text: "Too many failures; wait a minute", Temporary: true}
	}
	return auth.Session{Account: a.acct, Credential: "app-password:phone", Revoked: a.revoked}, nil
}

// startBare serves a pop3.Server over a store of its own, with the given
// authenticator, on a 127.0.0.1 implicit-TLS listener.
func startBare(t *testing.T, authn func(store.Account) auth.Authenticator) (addr string, st *sqlite.Store, acct store.Account) {
	return startBareStore(t, authn, func(s store.Store) store.Store { return s })
}

// startBareStore is startBare with the store the POP3 server sees
// wrapped (fault injection).
func startBareStore(t *testing.T, authn func(store.Account) auth.Authenticator, wrap func(store.Store) store.Store) (addr string, st *sqlite.Store, acct store.Account) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := imaptest.AddUser(ctx, st, "alice@example.org", imaptest.Password); err != nil {
		t.Fatal(err)
	}
	if acct, err = st.AccountByAddress(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := tlsutil.SelfSigned(dir, "mail.example.org")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &pop3.Server{Store: wrap(st), Auth: authn(acct), TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { srv.ServeConn(ctx, conn, true) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		wg.Wait()
		st.Close()
	})
	return ln.Addr().String(), st, acct
}

// A revoked credential ends the session at once, and nothing it marked
// is applied.
func TestRevokedCredentialEndsSession(t *testing.T) {
	ra := &revokingAuth{revoked: make(chan struct{})}
	addr, st, acct := startBare(t, func(a store.Account) auth.Authenticator { ra.acct = a; return ra })
	m := st.Mail(acct.ID)
	mb, err := m.Mailbox(t.Context(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(t.Context(), mb.ID, []store.NewMessage{{Body: strings.NewReader(message("a"))}}); err != nil {
		t.Fatal(err)
	}
	c := pop3test.Dial(t, addr, true)
	c.OK("USER alice@example.org")
	// The auth layer's own words, with [SYS/TEMP] when trying later helps.
	if e := c.Err("PASS wrong"); e != "[SYS/TEMP] Too many failures; wait a minute" {
		t.Fatalf("throttled: %q", e)
	}
	c.OK("USER alice@example.org")
	c.OK("PASS " + imaptest.Password)
	c.OK("DELE 1")
	close(ra.revoked)
	if lines := c.ExpectClosed(); len(lines) != 1 || lines[0] != "-ERR [AUTH] The credential of this session was revoked; nothing was changed" {
		t.Fatalf("after revocation: %q", lines)
	}
	snap, err := m.Snapshot(t.Context(), mb.ID)
	if err != nil || len(snap.UIDs) != 1 {
		t.Fatalf("INBOX after a revoked session: %v, %v", snap.UIDs, err)
	}
}

// failingStore fails every POP3Update, as a full disk or a broken
// database would.
type failingStore struct{ store.Store }

func (f failingStore) Mail(id store.AccountID) store.Mail { return failingMail{f.Store.Mail(id)} }

type failingMail struct{ store.Mail }

func (failingMail) POP3Update(context.Context, store.MailboxID, store.POP3Update) (store.POP3UpdateResult, error) {
	return store.POP3UpdateResult{}, errors.New("injected failure: disk full")
}

// When the store cannot apply UPDATE, QUIT says so (RFC 1939 section 6),
// nothing changed, and the maildrop is free again.
func TestUpdateFailure(t *testing.T) {
	ra := &revokingAuth{}
	addr, st, acct := startBareStore(t, func(a store.Account) auth.Authenticator { ra.acct = a; return ra },
		func(s store.Store) store.Store { return failingStore{s} })
	m := st.Mail(acct.ID)
	mb, err := m.Mailbox(t.Context(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(t.Context(), mb.ID, []store.NewMessage{{Body: strings.NewReader(message("a"))}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c := pop3test.Dial(t, addr, true)
		c.OK("USER alice@example.org")
		c.OK("PASS " + imaptest.Password)
		c.OK("DELE 1")
		if e := c.Err("QUIT"); e != "[SYS/TEMP] Deleted messages were not removed; nothing was changed" {
			t.Fatalf("QUIT: %q", e)
		}
		c.ExpectClosed()
	}
	snap, err := m.Snapshot(t.Context(), mb.ID)
	if err != nil || len(snap.UIDs) != 1 {
		t.Fatalf("INBOX after failed updates: %v, %v", snap.UIDs, err)
	}
}
