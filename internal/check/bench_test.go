package check

import (
	"context"
	"testing"

	"postfach/internal/imaptest"
)

// The time a whole check takes, as a user waits for it: every port of
// postfach probed side by side (greeting, TLS, certificate,
// capabilities), then with an account (login, LIST, STAT, AUTH), then
// with the test message and its IDLE push; and the same against
// Dovecot (IMAP and POP3).

func benchCheck(b *testing.B, opts Options) {
	b.Helper()
	for b.Loop() {
		rep, err := Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Verdict == Fail {
			var buf testWriter
			rep.WriteText(&buf)
			b.Fatalf("check failed:\n%s", buf)
		}
	}
}

type testWriter []byte

func (w *testWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

func benchPostfach(b *testing.B, account, sendTest bool) {
	ca := newTestCA(b)
	cert, key := ca.issue(b, b.TempDir(), goodLeaf())
	_, ports := startPostfach(b, cert, key, nil)
	opts := postfachOptions(ports, ca)
	if account {
		opts.User, opts.Password, opts.SendTest = "alice@example.org", imaptest.Password, sendTest
	}
	benchCheck(b, opts)
}

func BenchmarkCheckPostfach(b *testing.B)         { benchPostfach(b, false, false) }
func BenchmarkCheckPostfachAccount(b *testing.B)  { benchPostfach(b, true, false) }
func BenchmarkCheckPostfachSendTest(b *testing.B) { benchPostfach(b, true, true) }

func BenchmarkCheckDovecot(b *testing.B) {
	ca := newTestCA(b)
	ports := startDovecot(b, ca, nil)
	opts := dovecotOptions(ports, ca)
	// The first connections wait for Dovecot to spawn its login
	// processes: warm up once.
	Run(context.Background(), opts)
	benchCheck(b, opts)
}

func BenchmarkCheckDovecotAccount(b *testing.B) {
	ca := newTestCA(b)
	ports := startDovecot(b, ca, nil)
	opts := dovecotOptions(ports, ca)
	opts.User, opts.Password = dovecotUser, dovecotPassword
	Run(context.Background(), opts)
	benchCheck(b, opts)
}
