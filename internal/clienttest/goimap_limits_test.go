package clienttest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// bigMessage builds a message with one base64 attachment of n random
// octets.
func bigMessage(id string, n int) (raw, data []byte) {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	data = make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: Disk image\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n", id)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--xx--\r\n")
	return b.Bytes(), data
}

// TestGoIMAPMessageSizeLimit appends large messages with go-imap (which
// sends literals over 4 KiB synchronizing, waiting for "+"): one under the
// configured limit round-trips byte for byte, one over it is refused with
// NO [TOOBIG] instead of the continuation and the connection stays in
// step, and the limit is announced as APPENDLIMIT.
func TestGoIMAPMessageSizeLimit(t *testing.T) {
	const limit = 4 << 20
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxMessageSize = limit
	}})
	c := goLogin(t, env, "alice@example.org", nil)
	if !c.Caps().Has(imap.Cap("APPENDLIMIT=" + strconv.Itoa(limit))) {
		t.Errorf("capabilities lack APPENDLIMIT=%d: %v", limit, c.Caps())
	}

	raw, data := bigMessage("big@example.org", 5<<19) // 2.5 MiB, 3.4 MiB in base64
	if len(raw) > limit {
		t.Fatalf("test message of %d octets is over the limit", len(raw))
	}
	res := must[*imap.AppendData](t, "APPEND under the limit")(appendOne(c, "INBOX", raw, nil))
	tooBig, _ := bigMessage("toobig@example.org", 13<<18) // 3.25 MiB, 4.4 MiB in base64
	if _, err := appendOne(c, "INBOX", tooBig, nil); imapCode(err) != imap.ResponseCodeTooBig {
		t.Fatalf("APPEND of %d octets over a limit of %d: %v", len(tooBig), limit, err)
	}
	// go-imap cannot take back a command whose literal was refused: it
	// closes the connection itself (imapwire keeps the encoder error). A
	// new connection goes on; limits.py checks, with imaplib, that the
	// server's side of the connection stays usable.
	c = goLogin(t, env, "alice@example.org", nil)
	small := corpus(9, 1)[0]
	res2 := must[*imap.AppendData](t, "APPEND after a refused one")(appendOne(c, "INBOX", small.Raw, nil))
	if res2.UID != res.UID+1 {
		t.Errorf("UIDs %d then %d: the refused message took a UID", res.UID, res2.UID)
	}

	must[*imap.SelectData](t, "SELECT")(c.Select("INBOX", nil).Wait())
	whole := &imap.FetchItemBodySection{Peek: true}
	tail := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: int64(len(raw) - 1000), Size: 5000}}
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	bufs := must[[]*imapclient.FetchMessageBuffer](t, "FETCH")(c.Fetch(imap.UIDSetNum(res.UID), &imap.FetchOptions{
		RFC822Size: true, BodySection: []*imap.FetchItemBodySection{whole, tail}, BinarySection: []*imap.FetchItemBinarySection{bin},
	}).Collect())
	if len(bufs) != 1 {
		t.Fatalf("FETCH: %d messages", len(bufs))
	}
	b := bufs[0]
	if b.RFC822Size != int64(len(raw)) || !bytes.Equal(b.FindBodySection(whole), raw) {
		t.Errorf("BODY[] of the large message differs (RFC822.SIZE %d, want %d)", b.RFC822Size, len(raw))
	}
	if got := b.FindBodySection(tail); !bytes.Equal(got, raw[len(raw)-1000:]) {
		t.Errorf("BODY[]<%d.5000> is %d octets, want the last 1000", len(raw)-1000, len(got))
	}
	if !bytes.Equal(b.FindBinarySection(bin), data) {
		t.Errorf("BINARY[2] does not decode to the attachment")
	}

	st := must[*imap.StatusData](t, "STATUS")(c.Status("INBOX", &imap.StatusOptions{NumMessages: true, AppendLimit: true}).Wait())
	if *st.NumMessages != 2 || st.AppendLimit == nil || *st.AppendLimit != limit {
		t.Errorf("STATUS: %d messages, APPENDLIMIT %v", *st.NumMessages, st.AppendLimit)
	}
}
