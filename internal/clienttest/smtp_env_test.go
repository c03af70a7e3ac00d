package clienttest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"postfach/internal/config"
	"postfach/internal/imaptest"
	"postfach/internal/store"
)

// smtpEnv is a server with every SMTP listener: smtp (MX), submission,
// submissions, and lmtp on TCP or on a unix socket. DNS answers from an
// empty zone file, so that nothing reaches the system resolver (the SPF
// check of a sender finds no record).
type smtpEnv struct {
	*imaptest.Env
	SMTP, Submission, Submissions, LMTP string
	// LMTPSocket is set when LMTP listens on a unix socket.
	LMTPSocket string
}

func startSMTP(t *testing.T, unixLMTP bool, configure func(*config.Config)) *smtpEnv {
	t.Helper()
	dir := t.TempDir()
	zone := filepath.Join(dir, "zone.txt")
	if err := os.WriteFile(zone, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lmtp.sock")
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Listen.SMTP = "127.0.0.1:0"
		cfg.Listen.Submission = "127.0.0.1:0"
		cfg.Listen.Submissions = "127.0.0.1:0"
		cfg.Listen.LMTP = "127.0.0.1:0"
		if unixLMTP {
			cfg.Listen.LMTP = "unix:" + sock
		}
		cfg.DNS.ZoneFile = zone
		if configure != nil {
			configure(cfg)
		}
	}})
	e := &smtpEnv{Env: env}
	e.SMTP = env.Server.Addr("smtp").String()
	e.Submission = env.Server.Addr("submission").String()
	e.Submissions = env.Server.Addr("submissions").String()
	if unixLMTP {
		e.LMTPSocket = sock
	} else {
		e.LMTP = env.Server.Addr("lmtp").String()
	}
	return e
}

// mailbox returns the messages in an account's mailbox, read from the
// store.
func (e *smtpEnv) mailbox(t *testing.T, address, name string) []string {
	t.Helper()
	ctx := context.Background()
	st := e.Server.Store
	acct, err := st.AccountByAddress(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	mail := st.Mail(acct.ID)
	mb, err := mail.Mailbox(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := mail.Snapshot(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.UIDs) == 0 {
		return nil
	}
	msgs, err := mail.Messages(ctx, mb.ID, store.UIDSetOf(snap.UIDs...), store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range msgs {
		b, err := mail.OpenBody(ctx, &msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}
