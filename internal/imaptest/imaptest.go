// Package imaptest starts a complete postfach server for tests, in the
// spirit of net/http/httptest: real listeners on 127.0.0.1 with ephemeral
// ports, real TLS, a real store in a temporary data directory, and
// accounts ready to log in. It also offers a raw IMAP client that reads
// like a transcript.
package imaptest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/auth"
	"postfach/internal/config"
	"postfach/internal/server"
	"postfach/internal/store"
)

// Password is the password of every account Start creates.
const Password = "secret"

// Options tune Start.
type Options struct {
	// Users are created (with Password) in their domains; default
	// alice@example.org and bob@example.org.
	Users []string
	// Configure may change the configuration before the server starts.
	Configure func(*config.Config)
	// Sync keeps fsync on (crash and durability tests); default off.
	Sync bool
	// DataDir reuses a data directory (restart tests); default a new
	// temporary one.
	DataDir string
	// Logger receives the server's logs; default: discarded unless
	// POSTFACH_TEST_LOG is set.
	Logger *slog.Logger
}

// Env is a running server.
type Env struct {
	Server *server.Server
	Config *config.Config
	// IMAP and IMAPS are the listeners' addresses.
	IMAP, IMAPS string
}

// CheapParams makes argon2id fast enough for tests that log in often.
var CheapParams = auth.Params{Time: 1, MemoryKiB: 1024, Threads: 1}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = "mail.example.org"
	cfg.DataDir = opts.DataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Listen = config.Listen{IMAP: "127.0.0.1:0", IMAPS: "127.0.0.1:0"}
	cfg.Auth.Time, cfg.Auth.MemoryKiB, cfg.Auth.Threads = CheapParams.Time, CheapParams.MemoryKiB, CheapParams.Threads
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
		if os.Getenv("POSTFACH_TEST_LOG") != "" {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	srv, err := server.New(cfg, server.Options{Logger: logger, NoSync: !opts.Sync})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx := context.Background()
	users := opts.Users
	if users == nil {
		users = []string{"alice@example.org", "bob@example.org"}
	}
	for _, u := range users {
		if err := AddUser(ctx, srv.Store, u, Password); err != nil {
			srv.Close()
			t.Fatal(err)
		}
	}
	if err := srv.Start(ctx); err != nil {
		srv.Close()
		t.Fatalf("server.Start: %v", err)
	}
	env := &Env{Server: srv, Config: cfg}
	if a := srv.Addr("imap"); a != nil {
		env.IMAP = a.String()
	}
	if a := srv.Addr("imaps"); a != nil {
		env.IMAPS = a.String()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return env
}

// AddUser creates an account, and its domain when needed.
func AddUser(ctx context.Context, st store.Store, address, password string) error {
	domain := address[strings.LastIndexByte(address, '@')+1:]
	if _, err := st.AddDomain(ctx, domain); err != nil && !isExists(err) {
		return err
	}
	hash, err := auth.Hash(password, CheapParams)
	if err != nil {
		return err
	}
	_, err = st.AddAccount(ctx, address, hash)
	return err
}

func isExists(err error) bool {
	return err != nil && strings.Contains(err.Error(), store.ErrExists.Error())
}

// ClientTLS is the TLS configuration clients use against the test server's
// self-signed certificate.
func ClientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"}
}

// CertFile is the path of the self-signed certificate (for clients such as
// mbsync that pin it).
func (e *Env) CertFile() string {
	return filepath.Join(e.Config.DataDir, "tls", "cert.pem")
}

// MustRead reads a file or fails the test.
func MustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Message builds a small RFC 5322 message.
func Message(subject, body string) string {
	return fmt.Sprintf("From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\nMessage-ID: <%d@example.org>\r\n\r\n%s\r\n",
		subject, time.Now().UnixNano(), body)
}

var _ io.Writer = (*strings.Builder)(nil)
