package clienttest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"postfach/internal/imaptest"
)

// wireLog keeps the tail of a client's conversation, shown when a test
// fails so that the server's exact words are at hand.
type wireLog struct {
	mu  sync.Mutex
	buf []byte
}

const wireLogMax = 32 << 10

func (l *wireLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*wireLogMax {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-wireLogMax:]...)
	}
	return len(p), nil
}

func (l *wireLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if len(b) > wireLogMax {
		b = b[len(b)-wireLogMax:]
	}
	return string(b)
}

// pinnedTLS trusts exactly the server's certificate and checks the name,
// as a careful client does: the self-signed one the server made, whose
// names include 127.0.0.1, or the configured one, for the host name.
func pinnedTLS(t testing.TB, env *imaptest.Env) *tls.Config {
	t.Helper()
	file, name := env.CertFile(), "127.0.0.1"
	if env.Config.TLS.Cert != "" {
		file, name = env.Config.TLS.Cert, env.Config.Hostname
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(imaptest.MustRead(t, file)) {
		t.Fatal("no certificate in " + file)
	}
	return &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}
}

type dialMode int

const (
	implicitTLS dialMode = iota
	startTLS
)

// goClient connects with go-imap's client; its wire log is printed if the
// test fails.
func goClient(t testing.TB, env *imaptest.Env, mode dialMode, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	log := &wireLog{}
	opts := &imapclient.Options{
		TLSConfig:             pinnedTLS(t, env),
		DebugWriter:           log,
		UnilateralDataHandler: h,
		Dialer:                &net.Dialer{Timeout: 10 * time.Second},
	}
	var c *imapclient.Client
	var err error
	switch mode {
	case implicitTLS:
		c, err = imapclient.DialTLS(env.IMAPS, opts)
	case startTLS:
		c, err = imapclient.DialStartTLS(env.IMAP, opts)
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("client conversation (tail):\n%s", log.String())
		}
	})
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return c
}

// goLogin connects over implicit TLS and logs in as user.
func goLogin(t testing.TB, env *imaptest.Env, user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c := goClient(t, env, implicitTLS, h)
	if err := c.Login(user, imaptest.Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	return c
}

// must unwraps a (value, error) result, failing the test on an error:
// must[T](t, "what")(cmd.Wait()).
func must[T any](t testing.TB, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// mustOK fails the test on an error.
func mustOK(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// imapCode is the response code of a NO or BAD, or "".
func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// TestGoIMAPConnect logs in over implicit TLS and over STARTTLS, with
// LOGIN and with AUTHENTICATE PLAIN, and checks that a plaintext login is
// refused with PRIVACYREQUIRED.
func TestGoIMAPConnect(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	for _, tc := range []struct {
		name string
		mode dialMode
		sasl bool
	}{
		{"implicit TLS, LOGIN", implicitTLS, false},
		{"implicit TLS, AUTHENTICATE PLAIN", implicitTLS, true},
		{"STARTTLS, LOGIN", startTLS, false},
		{"STARTTLS, AUTHENTICATE PLAIN", startTLS, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := goClient(t, env, tc.mode, nil)
			caps := c.Caps()
			if !caps.Has(imap.CapIMAP4rev2) || !caps.Has("AUTH=PLAIN") || caps.Has(imap.CapStartTLS) || caps.Has(imap.CapLoginDisabled) {
				t.Fatalf("capabilities under TLS: %v", caps)
			}
			if tc.sasl {
				mustOK(t, "AUTHENTICATE", c.Authenticate(sasl.NewPlainClient("", "bob@example.org", imaptest.Password)))
			} else {
				mustOK(t, "LOGIN", c.Login("bob@example.org", imaptest.Password).Wait())
			}
			ns := must[*imap.NamespaceData](t, "NAMESPACE")(c.Namespace().Wait())
			if len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' || ns.Personal[0].Prefix != "" {
				t.Errorf("NAMESPACE personal: %+v", ns.Personal)
			}
			// The client updates its state after Wait returns; a second
			// command's answer orders the two.
			if c.State() != imap.ConnStateAuthenticated {
				t.Fatalf("state after login: %v", c.State())
			}
			for _, cp := range []imap.Cap{imap.CapUIDPlus, imap.CapMove, imap.CapIdle, imap.CapLiteralPlus, imap.CapListStatus, imap.CapSpecialUse, imap.CapESearch} {
				if !c.Caps().Has(cp) {
					t.Errorf("authenticated capabilities lack %s: %v", cp, c.Caps())
				}
			}
			mustOK(t, "LOGOUT", c.Logout().Wait())
		})
	}

	t.Run("plaintext LOGIN refused", func(t *testing.T) {
		log := &wireLog{}
		c, err := imapclient.DialInsecure(env.IMAP, &imapclient.Options{DebugWriter: log})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustOK(t, "greeting", c.WaitGreeting())
		if !c.Caps().Has(imap.CapStartTLS) || !c.Caps().Has(imap.CapLoginDisabled) {
			t.Fatalf("plaintext capabilities: %v", c.Caps())
		}
		err = c.Login("alice@example.org", imaptest.Password).Wait()
		if imapCode(err) != imap.ResponseCodePrivacyRequired {
			t.Fatalf("LOGIN without TLS: %v\n%s", err, log)
		}
		if c.State() != imap.ConnStateNotAuthenticated {
			t.Fatalf("state after refused LOGIN: %v", c.State())
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c := goClient(t, env, implicitTLS, nil)
		err := c.Login("alice@example.org", "wrong").Wait()
		if imapCode(err) != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("LOGIN with a wrong password: %v", err)
		}
	})
}

// TestGoIMAPMailboxes covers LIST (with RETURN STATUS and special-use),
// CREATE, RENAME, DELETE, SUBSCRIBE and STATUS.
func TestGoIMAPMailboxes(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	c := goLogin(t, env, "alice@example.org", nil)

	for _, name := range []string{"Projects/2026/Q1", "Receipts", "Lists/golang-nuts"} {
		mustOK(t, "CREATE "+name, c.Create(name, nil).Wait())
	}
	err := c.Create("Receipts", nil).Wait()
	if imapCode(err) != imap.ResponseCodeAlreadyExists {
		t.Errorf("CREATE of an existing mailbox: %v", err)
	}
	mustOK(t, "SUBSCRIBE", c.Subscribe("Receipts").Wait())
	appendMessages(t, c, "Receipts", corpus(1, 3), nil)

	list := must[[]*imap.ListData](t, "LIST")(c.List("", "*", &imap.ListOptions{
		ReturnStatus:     &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true},
		ReturnSubscribed: true,
		ReturnSpecialUse: true,
	}).Collect())
	byName := map[string]*imap.ListData{}
	var names []string
	for _, l := range list {
		byName[l.Mailbox] = l
		names = append(names, l.Mailbox)
		if l.Delim != '/' {
			t.Errorf("%s: delimiter %q", l.Mailbox, l.Delim)
		}
	}
	want := []string{"INBOX", "Archive", "Drafts", "Junk", "Lists", "Lists/golang-nuts", "Projects", "Projects/2026", "Projects/2026/Q1", "Receipts", "Sent", "Trash"}
	if !equalSets(names, want) {
		t.Fatalf("LIST names %q, want %q", names, want)
	}
	if names[0] != "INBOX" {
		t.Errorf("INBOX is not listed first: %q", names)
	}
	for name, attr := range map[string]imap.MailboxAttr{"Sent": imap.MailboxAttrSent, "Trash": imap.MailboxAttrTrash, "Drafts": imap.MailboxAttrDrafts, "Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive} {
		if !slices.Contains(byName[name].Attrs, attr) {
			t.Errorf("%s attributes %v lack %s", name, byName[name].Attrs, attr)
		}
	}
	if a := byName["Projects/2026"].Attrs; !slices.Contains(a, imap.MailboxAttrHasChildren) {
		t.Errorf("Projects/2026 attributes %v", a)
	}
	if a := byName["Receipts"].Attrs; !slices.Contains(a, imap.MailboxAttrSubscribed) || !slices.Contains(a, imap.MailboxAttrHasNoChildren) {
		t.Errorf("Receipts attributes %v", a)
	}
	validities := map[uint32]string{}
	for _, l := range list {
		st := l.Status
		if st == nil {
			t.Errorf("%s: no STATUS in LIST-STATUS", l.Mailbox)
			continue
		}
		if st.UIDValidity == 0 || st.UIDNext == 0 || st.NumMessages == nil || st.NumUnseen == nil || st.Size == nil {
			t.Errorf("%s: incomplete STATUS %+v", l.Mailbox, st)
			continue
		}
		if other, dup := validities[st.UIDValidity]; dup {
			t.Errorf("%s and %s share UIDVALIDITY %d", l.Mailbox, other, st.UIDValidity)
		}
		validities[st.UIDValidity] = l.Mailbox
	}
	if st := byName["Receipts"].Status; st != nil && (*st.NumMessages != 3 || st.UIDNext != 4 || *st.NumUnseen != 3 || *st.Size == 0) {
		t.Errorf("Receipts STATUS: messages %d uidnext %d unseen %d size %d", *st.NumMessages, st.UIDNext, *st.NumUnseen, *st.Size)
	}

	// LIST with patterns, SUBSCRIBED selection.
	got := listNames(t, c, "", "Projects/%", nil)
	if !equalSets(got, []string{"Projects/2026"}) {
		t.Errorf(`LIST "" Projects/%%: %q`, got)
	}
	got = listNames(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})
	// The special-use mailboxes made at account creation are subscribed.
	if !equalSets(got, []string{"INBOX", "Archive", "Drafts", "Junk", "Receipts", "Sent", "Trash"}) {
		t.Errorf("LIST (SUBSCRIBED): %q", got)
	}

	// RENAME keeps the messages, their UIDs and UIDVALIDITY, and moves
	// the inferiors along.
	before := must[*imap.StatusData](t, "STATUS")(c.Status("Projects/2026/Q1", &imap.StatusOptions{UIDValidity: true}).Wait())
	mustOK(t, "RENAME", c.Rename("Projects/2026", "Projects/Done", nil).Wait())
	got = listNames(t, c, "", "Projects*", nil)
	if !equalSets(got, []string{"Projects", "Projects/Done", "Projects/Done/Q1"}) {
		t.Errorf("after RENAME: %q", got)
	}
	after := must[*imap.StatusData](t, "STATUS")(c.Status("Projects/Done/Q1", &imap.StatusOptions{UIDValidity: true}).Wait())
	if after.UIDValidity != before.UIDValidity {
		t.Errorf("an inferior moved by RENAME changed UIDVALIDITY: %d -> %d", before.UIDValidity, after.UIDValidity)
	}
	mustOK(t, "RENAME Receipts", c.Rename("Receipts", "Paid", nil).Wait())
	st := must[*imap.StatusData](t, "STATUS Paid")(c.Status("Paid", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait())
	if *st.NumMessages != 3 || st.UIDNext != 4 {
		t.Errorf("renamed mailbox: %d messages, UIDNEXT %d", *st.NumMessages, st.UIDNext)
	}
	if _, err := c.Status("Receipts", &imap.StatusOptions{NumMessages: true}).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("STATUS of the old name: %v", err)
	}

	// DELETE, then CREATE again: the new mailbox must not reuse UIDs
	// under the old UIDVALIDITY (RFC 9051 section 2.3.1.1).
	old := must[*imap.StatusData](t, "STATUS")(c.Status("Paid", &imap.StatusOptions{UIDValidity: true, UIDNext: true}).Wait())
	mustOK(t, "DELETE", c.Delete("Paid").Wait())
	mustOK(t, "CREATE again", c.Create("Paid", nil).Wait())
	fresh := must[*imap.StatusData](t, "STATUS")(c.Status("Paid", &imap.StatusOptions{UIDValidity: true, UIDNext: true, NumMessages: true}).Wait())
	if *fresh.NumMessages != 0 || (fresh.UIDValidity == old.UIDValidity && fresh.UIDNext < old.UIDNext) {
		t.Errorf("recreated mailbox: UIDVALIDITY %d UIDNEXT %d, before %d %d", fresh.UIDValidity, fresh.UIDNext, old.UIDValidity, old.UIDNext)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("DELETE INBOX succeeded")
	}
	if _, err := c.Select("Nowhere", nil).Wait(); imapCode(err) != imap.ResponseCodeNonExistent {
		t.Errorf("SELECT of a missing mailbox: %v", err)
	}
	if _, err := appendOne(c, "Nowhere", []byte("Subject: x\r\n\r\nx\r\n"), nil); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("APPEND to a missing mailbox: %v", err)
	}
}

func listNames(t testing.TB, c *imapclient.Client, ref, pattern string, opts *imap.ListOptions) []string {
	t.Helper()
	list := must[[]*imap.ListData](t, "LIST")(c.List(ref, pattern, opts).Collect())
	var out []string
	for _, l := range list {
		out = append(out, l.Mailbox)
	}
	return out
}

func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// appendOpts gives each message of the go-imap scenarios its flags and
// internal date: message i has internal date 2025-01-(1+i) 12:00 UTC.
func appendOpts(i int) *imap.AppendOptions {
	flags := [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagFlagged, "$Label1"}, {imap.FlagAnswered, imap.FlagSeen, imap.FlagDraft}}[i%4]
	return &imap.AppendOptions{Flags: flags, Time: time.Date(2025, 1, 1+i, 12, 0, 0, 0, time.UTC)}
}

// appendOne appends one message. Close must run even when Write fails (a
// literal the server refused): it releases the client's command lock.
func appendOne(c *imapclient.Client, mailbox string, raw []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	_, werr := cmd.Write(raw)
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err == nil {
		err = errors.Join(werr, cerr)
	}
	return data, err
}

// appendMessages appends msgs, pipelined, and returns their APPENDUID
// data.
func appendMessages(t testing.TB, c *imapclient.Client, mailbox string, msgs []*corpusMessage, opts func(int) *imap.AppendOptions) []*imap.AppendData {
	t.Helper()
	cmds := make([]*imapclient.AppendCommand, len(msgs))
	for i, m := range msgs {
		var o *imap.AppendOptions
		if opts != nil {
			o = opts(i)
		}
		cmd := c.Append(mailbox, int64(len(m.Raw)), o)
		_, werr := cmd.Write(m.Raw)
		if err := errors.Join(werr, cmd.Close()); err != nil {
			_, why := cmd.Wait()
			t.Fatalf("APPEND %d: %v (%v)", i, err, why)
		}
		cmds[i] = cmd
	}
	out := make([]*imap.AppendData, len(msgs))
	for i, cmd := range cmds {
		out[i] = must[*imap.AppendData](t, fmt.Sprintf("APPEND %d", i))(cmd.Wait())
	}
	return out
}
