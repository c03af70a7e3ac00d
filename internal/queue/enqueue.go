package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"postfach/internal/blob"
)

// message is a messages row.
type message struct {
	id      int64
	qid     string
	spool   string
	size    int64
	sender  string
	account string
	ret     string
	envid   string
	// requireTLS: REQUIRETLS (RFC 8689). smtputf8: the envelope needs
	// SMTPUTF8 (RFC 6531). eightBit: the content has octets above 127
	// (RFC 6152 8BITMIME). tlsOptional: "TLS-Required: No" (RFC 8689
	// section 5) asks us to ignore MTA-STS. dsn: we generated it.
	requireTLS, smtputf8, eightBit, tlsOptional, dsn bool
	created                                          time.Time
}

// recipient is a recipients row.
type recipient struct {
	id            int64
	msgID         int64
	addr          string
	domain        string
	notify        Notify
	orcptType     string
	orcpt         string
	attempts      int
	nextAttempt   time.Time
	lastAttempt   time.Time
	lastError     string
	lastStatus    string
	remoteMTA     string
	delayNotified bool
}

// Enqueue stores a message for delivery to env.To and returns its queue
// ID. msg holds size octets of the message with CRLF line endings, as it
// is to be sent (trace and DKIM header fields already prepended). Enqueue
// returns only once the message and its envelope are durable: the spool
// file and its directory entry are fsynced before the database commit
// that refers to them, so that a crash at any instant leaves either the
// whole message queued or nothing visible (at most an orphan file, which
// Start removes). Concurrent Enqueues share their commits.
func (q *Queue) Enqueue(ctx context.Context, env Envelope, msg io.ReaderAt, size int64) (string, error) {
	env, err := env.check()
	if err != nil {
		return "", err
	}
	if size < 0 {
		return "", errors.New("queue: negative size")
	}
	m, err := q.writeSpool(ctx, msg, size)
	if err != nil {
		return "", err
	}
	m.sender = env.From
	m.account = env.Account
	m.ret = env.RET
	m.envid = env.ENVID
	m.requireTLS = env.RequireTLS
	m.smtputf8 = env.SMTPUTF8 || !isASCII(env.From)
	m.created = q.now()
	if m.requireTLS {
		// RFC 8689 section 5: REQUIRETLS wins over the header field.
		m.tlsOptional = false
	}
	rcpts := make([]recipient, len(env.To))
	for i, r := range env.To {
		if !isASCII(r.Addr) {
			m.smtputf8 = true
		}
		rcpts[i] = recipient{addr: r.Addr, domain: domainOf(r.Addr), notify: r.Notify, orcptType: r.ORCPTType, orcpt: r.ORCPT, nextAttempt: m.created}
	}
	err = q.w.do(ctx, []string{m.spool}, func(t *wtx) error {
		return insertMessage(t, m, rcpts)
	})
	if err != nil {
		if !errors.Is(err, errUncertain) {
			q.spool.Delete(bg, m.spool)
		}
		return "", err
	}
	q.log.Info("queued", "qid", m.qid, "from", m.sender, "rcpts", len(rcpts), "size", m.size, "account", m.account)
	q.Kick()
	return m.qid, nil
}

// insertMessage inserts the rows of a message whose spool file is
// written; it fills in m.id, m.qid and the recipients' ids.
func insertMessage(t *wtx, m *message, rcpts []recipient) error {
	if m.qid == "" {
		m.qid = newQID()
	}
	res, err := t.exec(`INSERT INTO messages (qid, spool, size, sender, account, ret, envid, requiretls, smtputf8, eightbit, tls_optional, dsn, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.qid, m.spool, m.size, m.sender, m.account, m.ret, m.envid, m.requireTLS, m.smtputf8, m.eightBit, m.tlsOptional, m.dsn, ms(m.created))
	if err != nil {
		return fmt.Errorf("queue: inserting message: %w", err)
	}
	if m.id, err = res.LastInsertId(); err != nil {
		return err
	}
	for i := range rcpts {
		r := &rcpts[i]
		r.msgID = m.id
		res, err := t.exec(`INSERT INTO recipients (message_id, addr, domain, notify, orcpt_type, orcpt, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.id, r.addr, r.domain, int(r.notify), r.orcptType, r.orcpt, ms(r.nextAttempt))
		if err != nil {
			return fmt.Errorf("queue: inserting recipient: %w", err)
		}
		if r.id, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

var qidEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newQID returns a queue ID: 80 random bits in 16 characters of
// Crockford's base32 alphabet (no i, l, o, u to misread). Random rather
// than the row id, so that an ID from an old listing never names a later
// message.
func newQID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return qidEncoding.EncodeToString(b)
}

// validQID reports whether s has the shape of a queue ID.
func validQID(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := qidEncoding.DecodeString(s)
	return err == nil
}

// writeSpool copies the message into a new spool file and notes what
// delivery must know about its content. The file is committed (closed)
// but not yet synced: the writer syncs it with its batch.
func (q *Queue) writeSpool(ctx context.Context, msg io.ReaderAt, size int64) (*message, error) {
	w, err := q.spool.Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	sc := newContentScanner()
	n, err := io.Copy(io.MultiWriter(w, sc), io.NewSectionReader(msg, 0, size))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("queue: spooling message: %w", err)
	}
	if err := w.Commit(); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	return &message{spool: w.Name(), size: size, eightBit: sc.eightBit, tlsOptional: sc.tlsOptional()}, nil
}

// spoolBlob opens a message's spool file.
func (q *Queue) spoolBlob(ctx context.Context, m *message) (blob.Reader, error) {
	r, err := q.spool.Open(ctx, m.spool)
	if err != nil {
		return nil, fmt.Errorf("queue: spool file of %s: %w", m.qid, err)
	}
	return r, nil
}

// contentScanner watches a message go by: whether any octet is above 127
// (8BITMIME needed, RFC 6152), and the header section, kept up to a bound
// for the TLS-Required field (RFC 8689 section 5).
type contentScanner struct {
	n        int64
	eightBit bool
	header   []byte
	inHeader bool
}

// maxScannedHeader bounds the header section the scanner keeps.
const maxScannedHeader = 256 << 10

func newContentScanner() *contentScanner { return &contentScanner{inHeader: true} }

func (s *contentScanner) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if !s.eightBit {
		for _, c := range p {
			if c >= 0x80 {
				s.eightBit = true
				break
			}
		}
	}
	if s.inHeader {
		s.header = append(s.header, p...)
		if i := bytes.Index(s.header, []byte("\r\n\r\n")); i >= 0 {
			s.header = s.header[:i+2]
			s.inHeader = false
		} else if len(s.header) > maxScannedHeader {
			s.header = s.header[:maxScannedHeader]
			s.inHeader = false
		}
	}
	return len(p), nil
}

// tlsOptional reports whether the header has "TLS-Required: No".
func (s *contentScanner) tlsOptional() bool {
	v, ok := headerValue(s.header, "TLS-Required")
	return ok && strings.EqualFold(v, "no")
}

// headerValue returns the unfolded, trimmed value of the first field
// named name in a header section.
func headerValue(header []byte, name string) (string, bool) {
	lines := strings.Split(string(header), "\r\n")
	for i := 0; i < len(lines); i++ {
		field, value, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(strings.TrimRight(field, " \t"), name) {
			continue
		}
		for i+1 < len(lines) && len(lines[i+1]) > 0 && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			value += lines[i]
		}
		return strings.TrimSpace(value), true
	}
	return "", false
}
