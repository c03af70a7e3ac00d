package clienttest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

// corpusMessage is a generated message together with what a client must
// find in it: its envelope fields and its leaf parts, encoded as sent and
// decoded.
type corpusMessage struct {
	Raw       []byte
	MessageID string // without angle brackets
	Subject   string // decoded
	From      person
	To        []person
	Cc        []person
	Date      time.Time
	InReplyTo string
	Parts     []corpusPart
	// Keyword is a word that occurs only in this message's text.
	Keyword string
}

// corpusPart is one leaf (or encapsulated message) of a message.
type corpusPart struct {
	Path      []int // BODY[...] part numbers; nil for a single-part message
	Type      string
	Subtype   string
	Params    map[string]string
	Encoding  string // as in Content-Transfer-Encoding, lower case; "" for 7bit
	Encoded   []byte // the part's body as it is in the message
	Decoded   []byte // the part's body after Content-Transfer-Encoding
	Filename  string // from Content-Disposition, for attachments
	Inner     *corpusMessage
	Lines     int
	IsMessage bool
}

type person struct {
	Name, Mailbox, Host string
}

func (p person) addr() string { return p.Mailbox + "@" + p.Host }

func (p person) header() string {
	if p.Name == "" {
		return p.addr()
	}
	name := p.Name
	for _, r := range name {
		if r >= 0x80 {
			name = mime.QEncoding.Encode("utf-8", p.Name)
			break
		}
	}
	if strings.ContainsAny(name, `.,"`) {
		name = `"` + name + `"`
	}
	return name + " <" + p.addr() + ">"
}

var people = []person{
	{"Alice Example", "alice", "example.org"},
	{"Bob Example", "bob", "example.org"},
	{"Carol Jones", "carol", "example.net"},
	{"Dave O. Miller", "dave", "lists.example.com"},
	{"Jürgen Müller", "juergen", "example.de"},
	{"Émilie Dubois", "emilie", "example.fr"},
	{"Ops Team", "ops", "example.org"},
	{"", "noreply", "notifications.example.com"},
	{"Søren Ødegaard", "soren", "example.dk"},
	{"李雷", "li.lei", "example.cn"},
}

var subjects = []string{
	"Quarterly report",
	"Re: Dinner on Friday?",
	"Invoice %d for March",
	"Grüße aus Köln",
	"[ops] Disk usage above 80%% on db%d",
	"Meeting notes — planning",
	"Fwd: Flight itinerary",
	"Your weekly digest",
	"Photos from the trip ☀",
	"Build #%d failed",
	"Réunion de lundi",
	"Contract draft v%d",
}

var words = strings.Fields(`the of and to in is that for it as was with be by on not he this
are or his from at which but have an they you were her she there one all we their can has
been more if will would who so no said what up its about into than them only other new some
could time these two may first then do any like my now over such our man me even most made
after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see
budget quarter invoice server backup meeting release schedule garden weekend train report`)

// corpus generates n distinct, realistic messages from seed: plain text,
// quoted-printable UTF-8, multipart/alternative, attachments in base64,
// forwarded messages (message/rfc822), encoded words in headers, long
// lines, threads. The same seed always gives the same messages.
func corpus(seed uint64, n int) []*corpusMessage {
	r := rand.New(rand.NewPCG(seed, 0x706f737466616368))
	base := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	out := make([]*corpusMessage, n)
	for i := range out {
		out[i] = genMessage(r, seed, i, base.Add(time.Duration(i)*97*time.Minute))
		if i > 0 && r.IntN(4) == 0 {
			prev := out[r.IntN(i)]
			out[i] = genReply(r, seed, i, out[i].Date, prev)
		}
	}
	return out
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func paragraph(r *rand.Rand, nwords int) string {
	var b strings.Builder
	col := 0
	for i := 0; i < nwords; i++ {
		w := pick(r, words)
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		if col+len(w)+1 > 72 {
			b.WriteString("\r\n")
			col = 0
		} else if i > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteString(".\r\n")
	return b.String()
}

func textBody(r *rand.Rand, keyword string) string {
	var b strings.Builder
	b.WriteString("Hello,\r\n\r\n")
	for p := 0; p < 1+r.IntN(4); p++ {
		b.WriteString(paragraph(r, 10+r.IntN(60)))
		b.WriteString("\r\n")
	}
	b.WriteString("Reference: " + keyword + "\r\n\r\n-- \r\nSent from postfach tests\r\n")
	return b.String()
}

func genSubject(seed uint64, i int) string {
	// Cycling through the subjects (and senders) guarantees that even a
	// small corpus has each of them.
	s := subjects[(5*i+int(seed%12))%len(subjects)]
	if strings.Contains(s, "%d") {
		s = fmt.Sprintf(s, 100+i)
	}
	return s
}

func encodeHeader(s string) string {
	for _, c := range s {
		if c >= 0x80 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func genMessage(r *rand.Rand, seed uint64, i int, date time.Time) *corpusMessage {
	m := &corpusMessage{
		MessageID: fmt.Sprintf("%d.%d.%x@gen.example.org", seed, i, r.Uint32()),
		Subject:   genSubject(seed, i),
		From:      people[(i+int(seed%10))%len(people)],
		To:        []person{people[0]},
		Date:      date.In(time.FixedZone("", (r.IntN(25)-12)*3600)),
		Keyword:   fmt.Sprintf("kw%dx%d", seed, i),
	}
	if r.IntN(3) == 0 {
		m.Cc = []person{pick(r, people), pick(r, people)}
	}
	m.build(r, i%6)
	return m
}

func genReply(r *rand.Rand, seed uint64, i int, date time.Time, to *corpusMessage) *corpusMessage {
	m := genMessage(r, seed, i, date)
	m.InReplyTo = to.MessageID
	if !strings.HasPrefix(to.Subject, "Re: ") {
		m.Subject = "Re: " + to.Subject
	} else {
		m.Subject = to.Subject
	}
	if to.From != people[0] {
		m.To = []person{people[0], to.From}
	}
	m.build(r, r.IntN(3))
	return m
}

// build writes Raw and Parts for one of the structures.
func (m *corpusMessage) build(r *rand.Rand, kind int) {
	m.Parts = nil
	var h bytes.Buffer
	fmt.Fprintf(&h, "Return-Path: <%s>\r\n", m.From.addr())
	fmt.Fprintf(&h, "Received: from mx.example.net (mx.example.net [192.0.2.%d])\r\n\tby mail.example.org with ESMTPS id %X\r\n\tfor <alice@example.org>; %s\r\n",
		1+r.IntN(250), r.Uint64(), m.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&h, "From: %s\r\n", m.From.header())
	var tos []string
	for _, p := range m.To {
		tos = append(tos, p.header())
	}
	fmt.Fprintf(&h, "To: %s\r\n", strings.Join(tos, ", "))
	if len(m.Cc) > 0 {
		var cc []string
		for _, p := range m.Cc {
			cc = append(cc, p.header())
		}
		fmt.Fprintf(&h, "Cc: %s\r\n", strings.Join(cc, ",\r\n "))
	}
	fmt.Fprintf(&h, "Subject: %s\r\n", encodeHeader(m.Subject))
	fmt.Fprintf(&h, "Date: %s\r\n", m.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&h, "Message-ID: <%s>\r\n", m.MessageID)
	if m.InReplyTo != "" {
		fmt.Fprintf(&h, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", m.InReplyTo, m.InReplyTo)
	}
	h.WriteString("MIME-Version: 1.0\r\n")
	text := textBody(r, m.Keyword)
	switch kind {
	case 0: // plain ASCII
		h.WriteString("Content-Type: text/plain; charset=us-ascii\r\n")
		m.single(&h, leaf("text", "plain", map[string]string{"charset": "us-ascii"}, "", []byte(text)))
	case 1: // UTF-8, quoted-printable, with a long line
		long := strings.Repeat("Überlänge äöü ", 12)
		body := "Grüße,\r\n\r\n" + text + long + "\r\n"
		p := leaf("text", "plain", map[string]string{"charset": "utf-8", "format": "flowed"}, "quoted-printable", []byte(body))
		h.WriteString("Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n")
		m.single(&h, p)
	case 2: // multipart/alternative
		html := "<html><body><p>" + strings.ReplaceAll(text, "\r\n", "<br>\r\n") + "</p></body></html>\r\n"
		m.multipart(&h, "alternative", []corpusPart{
			leaf("text", "plain", map[string]string{"charset": "us-ascii"}, "7bit", []byte(text)),
			leaf("text", "html", map[string]string{"charset": "utf-8"}, "quoted-printable", []byte(html)),
		})
	case 3, 4: // text and one or two binary attachments
		parts := []corpusPart{leaf("text", "plain", map[string]string{"charset": "utf-8"}, "8bit", []byte("Anbei die Unterlagen. Schöne Grüße\r\n\r\n"+text))}
		for a := 0; a < kind-2; a++ {
			data := make([]byte, 200+r.IntN(6000))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			typ, sub, name := "application", "pdf", fmt.Sprintf("scan-%d.pdf", a+1)
			if r.IntN(2) == 0 {
				typ, sub, name = "image", "png", fmt.Sprintf("Foto %d.png", a+1)
			}
			p := leaf(typ, sub, map[string]string{"name": name}, "base64", data)
			p.Filename = name
			parts = append(parts, p)
		}
		m.multipart(&h, "mixed", parts)
	case 5: // a forwarded message
		inner := &corpusMessage{
			MessageID: m.MessageID + ".inner",
			Subject:   "Flight itinerary",
			From:      people[2],
			To:        []person{people[1]},
			Date:      m.Date.Add(-48 * time.Hour),
			Keyword:   m.Keyword + "inner",
		}
		inner.build(r, 0)
		fwd := corpusPart{Type: "message", Subtype: "rfc822", Encoded: inner.Raw, Decoded: inner.Raw, Inner: inner, IsMessage: true, Lines: bytes.Count(inner.Raw, []byte("\n"))}
		m.multipart(&h, "mixed", []corpusPart{
			leaf("text", "plain", map[string]string{"charset": "us-ascii"}, "", []byte("See the forwarded message below.\r\n\r\n"+text)),
			fwd,
		})
	}
	m.Raw = h.Bytes()
}

// leaf encodes decoded content with enc.
func leaf(typ, sub string, params map[string]string, enc string, decoded []byte) corpusPart {
	p := corpusPart{Type: typ, Subtype: sub, Params: params, Encoding: enc, Decoded: decoded}
	switch enc {
	case "base64":
		s := base64.StdEncoding.EncodeToString(decoded)
		var b strings.Builder
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		b.WriteString(s + "\r\n")
		p.Encoded = []byte(b.String())
	case "quoted-printable":
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write(decoded)
		w.Close()
		p.Encoded = bytes.ReplaceAll(bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	default:
		p.Encoded = decoded
	}
	p.Lines = bytes.Count(p.Encoded, []byte("\n"))
	return p
}

func (p *corpusPart) headers() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: %s/%s", p.Type, p.Subtype)
	for _, k := range slices.Sorted(maps.Keys(p.Params)) {
		v := p.Params[k]
		if strings.ContainsAny(v, " ()<>@,;:\\\"/[]?=") {
			v = `"` + v + `"`
		}
		fmt.Fprintf(&b, "; %s=%s", k, v)
	}
	b.WriteString("\r\n")
	if p.Encoding != "" {
		fmt.Fprintf(&b, "Content-Transfer-Encoding: %s\r\n", p.Encoding)
	}
	if p.Filename != "" {
		fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\n", p.Filename)
	}
	return b.String()
}

func (m *corpusMessage) single(h *bytes.Buffer, p corpusPart) {
	if p.Encoding != "" && !strings.Contains(h.String(), "Content-Transfer-Encoding") {
		fmt.Fprintf(h, "Content-Transfer-Encoding: %s\r\n", p.Encoding)
	}
	h.WriteString("\r\n")
	h.Write(p.Encoded)
	m.Parts = []corpusPart{p}
}

func (m *corpusMessage) multipart(h *bytes.Buffer, sub string, parts []corpusPart) {
	boundary := "=_" + strings.ReplaceAll(m.MessageID, "@", "_") + "_" + sub
	fmt.Fprintf(h, "Content-Type: multipart/%s; boundary=\"%s\"\r\n\r\n", sub, boundary)
	h.WriteString("This is a multi-part message in MIME format.\r\n")
	for i := range parts {
		p := &parts[i]
		p.Path = []int{i + 1}
		fmt.Fprintf(h, "--%s\r\n%s\r\n", boundary, p.headers())
		h.Write(p.Encoded)
		// The line break before the delimiter belongs to the delimiter
		// (RFC 2046 section 5.1.1), so the part's body ends before it.
		h.WriteString("\r\n")
	}
	fmt.Fprintf(h, "--%s--\r\n", boundary)
	m.Parts = parts
}

// TestCorpus checks the generator against Go's own mail parsers, so that
// the expectations the client tests compare the server with are right:
// messages are deterministic and distinct, and each part decodes, with
// net/mail and mime/multipart, to what the corpus says.
func TestCorpus(t *testing.T) {
	a, b := corpus(42, 60), corpus(42, 60)
	ids := map[string]bool{}
	kinds := map[string]bool{}
	for i, m := range a {
		if !bytes.Equal(m.Raw, b[i].Raw) {
			t.Fatalf("message %d differs between two runs with the same seed", i)
		}
		if ids[m.MessageID] {
			t.Fatalf("Message-ID %s twice", m.MessageID)
		}
		ids[m.MessageID] = true
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		dec := new(mime.WordDecoder)
		if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || subj != m.Subject {
			t.Errorf("message %d: subject %q (%v), want %q", i, subj, err, m.Subject)
		}
		if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != m.From.addr() || from[0].Name != m.From.Name {
			t.Errorf("message %d: From %v (%v), want %v", i, from, err, m.From)
		}
		if d, err := msg.Header.Date(); err != nil || !d.Equal(m.Date) {
			t.Errorf("message %d: Date %v (%v), want %v", i, d, err, m.Date)
		}
		mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		kinds[mediaType] = true
		if m.Parts[0].Path == nil {
			checkCorpusPart(t, fmt.Sprint(i), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m.Parts[0])
			continue
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for j := range m.Parts {
			p, err := mr.NextRawPart()
			if err != nil {
				t.Fatalf("message %d part %d: %v", i, j+1, err)
			}
			kinds[p.Header.Get("Content-Type")[:strings.IndexAny(p.Header.Get("Content-Type")+";", ";")]] = true
			checkCorpusPart(t, fmt.Sprintf("%d.%d", i, j+1), p.Header.Get("Content-Transfer-Encoding"), p, &m.Parts[j])
		}
		if _, err := mr.NextRawPart(); err != io.EOF {
			t.Errorf("message %d: more parts than the corpus lists", i)
		}
		if !bytes.Contains(m.Raw, []byte(m.Keyword+"\r\n")) {
			t.Errorf("message %d lacks its keyword", i)
		}
	}
	for _, k := range []string{"text/plain", "multipart/alternative", "multipart/mixed", "text/html", "application/pdf", "image/png", "message/rfc822"} {
		if !kinds[k] {
			t.Errorf("no %s in 60 messages", k)
		}
	}
}

func checkCorpusPart(t *testing.T, where, cte string, r io.Reader, p *corpusPart) {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// multipart.Reader leaves out the CRLF before the delimiter; a part
	// that ends in a line break keeps one.
	if !bytes.Equal(raw, p.Encoded) && !bytes.Equal(append(raw, "\r\n"...), p.Encoded) {
		t.Errorf("part %s: encoded body differs", where)
		return
	}
	var dec []byte
	switch strings.ToLower(cte) {
	case "base64":
		dec, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(p.Encoded, []byte("\r\n"), nil))))
	case "quoted-printable":
		dec, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(p.Encoded)))
	default:
		dec = p.Encoded
	}
	if err != nil || !bytes.Equal(dec, p.Decoded) {
		t.Errorf("part %s (%s): decodes to %d bytes (%v), want %d", where, cte, len(dec), err, len(p.Decoded))
	}
}
