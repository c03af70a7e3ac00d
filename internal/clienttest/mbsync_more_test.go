package clienttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// writeSelfSigned writes a self-signed certificate for names only (no IP
// addresses) and its key, and returns their paths.
func writeSelfSigned(t *testing.T, dir, name string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestMbsyncPinnedCertificate answers how a user points mbsync at a
// server with a self-signed certificate: listing the certificate in
// CertificateFile pins it, and mbsync then accepts it although its name
// (mail.example.org) does not match the host it connects to (127.0.0.1),
// over implicit TLS and over STARTTLS. A different certificate in
// CertificateFile makes mbsync refuse the server: the pin is checked.
func TestMbsyncPinnedCertificate(t *testing.T) {
	requireClient(t, mbsyncPath, "isync")
	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir, "server", "mail.example.org")
	other, _ := writeSelfSigned(t, dir, "other", "mail.example.org")
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.TLS.Cert, cfg.TLS.Key = cert, key
	}})
	c := goLogin(t, env, "alice@example.org", nil)
	appendMessages(t, c, "INBOX", corpus(5005, 2), nil)

	for _, tc := range []struct {
		name     string
		startTLS bool
	}{{"IMAPS", false}, {"STARTTLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMbsyncSetup(t, env, mbsyncOptions{StartTLS: tc.startTLS, CertFile: cert})
			st := s.sync("pinned " + tc.name)
			if st.Near.New != 2 {
				t.Errorf("near side got %d new messages, want 2", st.Near.New)
			}
			if got := readMaildir(t, s.inbox); len(got) != 2 {
				t.Errorf("the Maildir has %d messages, want 2", len(got))
			}
		})
	}

	t.Run("wrong pin", func(t *testing.T) {
		s := newMbsyncSetup(t, env, mbsyncOptions{CertFile: other})
		tty, stderr, err := s.run()
		if err == nil {
			t.Fatalf("mbsync accepted a server whose certificate is not pinned:\n%s\n%s", tty, stderr)
		}
		if !strings.Contains(strings.ToLower(stderr+tty), "certificate") {
			t.Errorf("mbsync failed, but not over the certificate:\n%s\n%s", tty, stderr)
		}
		if got := readMaildir(t, s.inbox); len(got) != 0 {
			t.Errorf("the Maildir has %d messages after a refused connection", len(got))
		}
		t.Logf("mbsync refused: %s", strings.TrimSpace(stderr))
	})
}

// TestMbsyncMailboxNames syncs folders whose names need quoting or
// modified UTF-7: a space, an ampersand, a non-ASCII name made by an
// IMAP4rev2 client, and a local folder with a space. isync 1.4 keeps the
// names as they are on the wire, so the local directories carry modified
// UTF-7; what matters is that every folder arrives, with its messages,
// and that the next runs find nothing to do.
func TestMbsyncMailboxNames(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	s := newMbsyncSetup(t, env, mbsyncOptions{})
	c := goLogin(t, env, "alice@example.org", nil)
	for _, name := range []string{"Dateien & Co", "Old Projects"} {
		mustOK(t, "CREATE "+name, c.Create(name, nil).Wait())
		appendMessages(t, c, name, corpus(uint64(len(name)), 2), nil)
	}
	rev2 := goLogin(t, env, "alice@example.org", nil)
	must[*imapclient.EnableData](t, "ENABLE")(rev2.Enable(imap.CapIMAP4rev2).Wait())
	mustOK(t, "CREATE", rev2.Create("Reisen/Köln", nil).Wait())
	appendMessages(t, rev2, "Reisen/Köln", corpus(99, 2), nil)
	localDir := filepath.Join(s.mail, "Local Stuff")
	makeMaildir(t, localDir)
	local := corpus(77, 1)[0]
	deliverMaildir(t, localDir, 1, local.Raw, false, "", arrival(1))

	st := s.sync("first")
	if st.Far.New != 1 || st.Near.New != 6 {
		t.Errorf("first run: far %+v near %+v, want 1 and 6 new", st.Far, st.Near)
	}
	for dir, n := range map[string]int{"Dateien &- Co": 2, "Old Projects": 2, "Reisen/K&APY-ln": 2, "Local Stuff": 1} {
		if got := readMaildir(t, filepath.Join(s.mail, dir)); len(got) != n {
			t.Errorf("local %q has %d messages, want %d", dir, len(got), n)
		}
	}
	if got, _ := serverMailbox(t, c, "Local Stuff"); got[local.MessageID].UID == 0 {
		t.Errorf("the local folder's message is not on the server: %v", got)
	}
	// The parent of Reisen/Köln exists on the server (CREATE made it), so
	// the second run creates it locally; after that, nothing changes.
	s.sync("second")
	before, beforeLocal := serverState(t, env), treeSnapshot(t, s.dir)
	if st := s.sync("third"); st.Far != (mbsyncCounts{}) || st.Near != (mbsyncCounts{}) {
		t.Errorf("third run: far %+v near %+v", st.Far, st.Near)
	}
	if d := diffStates(before, serverState(t, env)); len(d) > 0 {
		t.Errorf("third run changed the server:\n%s", strings.Join(d, "\n"))
	}
	if d := diffStates(beforeLocal, treeSnapshot(t, s.dir)); len(d) > 0 {
		t.Errorf("third run changed the Maildirs:\n%s", strings.Join(d, "\n"))
	}
	want := []string{"INBOX", "Archive", "Dateien & Co", "Drafts", "Junk", "Local Stuff", "Old Projects", "Reisen", "Reisen/Köln", "Sent", "Trash"}
	if got := listNames(t, c, "", "*", nil); !equalSets(got, want) {
		t.Errorf("server folders %q, want %q", got, want)
	}
}

// TestMbsyncWithIdleClient keeps a go-imap client in IDLE on INBOX while
// mbsync uploads 300 messages and, after another client flags every
// message, downloads the flag changes: the idling client must be told of
// each new message and each change, and its view must end up equal to
// the mailbox.
func TestMbsyncWithIdleClient(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	s := newMbsyncSetup(t, env, mbsyncOptions{})
	c := goLogin(t, env, "alice@example.org", nil)
	appendMessages(t, c, "INBOX", corpus(6006, 100), nil)
	h, pushes := pushRecorder()
	idler := goLogin(t, env, "alice@example.org", h)
	must[*imap.SelectData](t, "SELECT")(idler.Select("INBOX", nil).Wait())
	idle, err := idler.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	for j, m := range corpus(7007, 300) {
		deliverMaildir(t, s.inbox, j, m.Raw, j%2 == 0, "S", arrival(j))
	}
	if st := s.sync("upload while a client idles"); st.Far.New != 300 || st.Near.New != 100 {
		t.Errorf("first run: far %+v near %+v", st.Far, st.Near)
	}
	must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())
	mustOK(t, "STORE", c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close())
	if st := s.sync("flag changes while a client idles"); st.Near.Flags != 400 {
		t.Errorf("second run: near %+v, want 400 flag changes", st.Near)
	}
	mustOK(t, "DONE", idle.Close())
	mustOK(t, "IDLE", idle.Wait())
	mustOK(t, "NOOP", idler.Noop().Wait())

	var exists, fetches int
	var last uint32
	flagged := map[uint32]bool{}
	for len(pushes) > 0 {
		p := <-pushes
		switch p.kind {
		case "EXISTS":
			exists++
			last = p.num
		case "FETCH":
			fetches++
			if slices.Contains(p.flags, imap.FlagFlagged) {
				flagged[p.num] = true
			}
		case "EXPUNGE":
			t.Errorf("EXPUNGE %d pushed, but nothing was expunged", p.num)
		}
	}
	t.Logf("the idling client got %d EXISTS (last %d) and %d FETCH", exists, last, fetches)
	if exists == 0 || last != 400 || len(flagged) != 400 {
		t.Errorf("pushed: %d EXISTS, last %d; %d messages reported flagged; want up to 400 and 400", exists, last, len(flagged))
	}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH")(idler.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect())
	uids := must[*imap.SearchData](t, "UID SEARCH")(idler.UIDSearch(&imap.SearchCriteria{}, nil).Wait()).AllUIDs()
	if len(bufs) != 400 || len(uids) != 400 || idler.Mailbox().NumMessages != 400 {
		t.Fatalf("the idling client sees %d messages (counts %d), UID SEARCH %d; want 400", len(bufs), idler.Mailbox().NumMessages, len(uids))
	}
	for i, b := range bufs {
		if b.SeqNum != uint32(i+1) || b.UID != uids[i] || !slices.Contains(b.Flags, imap.FlagFlagged) {
			t.Fatalf("message %d: seq %d UID %d flags %v; UID SEARCH says %d", i+1, b.SeqNum, b.UID, b.Flags, uids[i])
		}
	}
}
