package queue

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"postfach/internal/mailauth"
)

// dsnEntry is one recipient's part of a delivery status notification.
type dsnEntry struct {
	rcpt   *recipient
	action string // failed, delayed, delivered, relayed (RFC 3464 2.3.3)
	status string // RFC 3463 code
	// diag is the SMTP reply (or our own words in SMTP form) behind the
	// status; remoteMTA the host that gave it.
	diag       string
	remoteMTA  string
	last       time.Time
	retryUntil time.Time // delayed: when we give up
	expired    bool
}

// maxImplicitFull bounds the original message a failure DSN returns
// whole when the sender gave no RET (RFC 3461 section 4.3 leaves it to
// us): larger ones come back as header fields only.
const maxImplicitFull = 10 << 20

// maxHeaderReturn bounds the header section returned.
const maxHeaderReturn = 1 << 20

// buildDSN writes a multipart/report (RFC 3464, RFC 6522) about entries
// to a new spool file and returns the message and its recipient (the
// original sender), ready for insertMessage: the caller queues it in the
// same transaction that records the outcomes it reports. It is sent from
// the null sender (RFC 3461 section 6.2), so it never causes a DSN of its
// own.
func (q *Queue) buildDSN(ctx context.Context, m *message, entries []dsnEntry) (*message, []recipient, error) {
	now := q.now()
	// RFC 6533: for internationalized mail, the report's parts are the
	// "global" types, which may carry UTF-8.
	global := m.smtputf8 || !isASCII(m.sender)
	failed, delayed := false, false
	for _, e := range entries {
		failed = failed || e.action == "failed"
		delayed = delayed || e.action == "delayed"
	}
	// What of the original comes back: the whole message only with a
	// failure, as RET asks (RFC 3461 section 4.3), never for a REQUIRETLS
	// message (RFC 8689 section 5 keeps its body off paths that may lack
	// TLS); the header otherwise.
	full := failed && !m.requireTLS && (m.ret == "FULL" || (m.ret == "" && m.size <= maxImplicitFull))

	orig, err := q.spoolBlob(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	defer orig.Close()
	header, err := readHeader(io.NewSectionReader(orig, 0, m.size))
	if err != nil {
		return nil, nil, err
	}

	w, err := q.spool.Create(ctx)
	if err != nil {
		return nil, nil, err
	}
	sc := newContentScanner()
	bw := bufio.NewWriter(io.MultiWriter(w, sc))
	boundary := "=_" + randomHex(12)
	host := q.opts.Hostname
	var subject string
	switch {
	case failed:
		subject = "Undelivered Mail Returned to Sender"
	case delayed:
		subject = "Delayed Mail (still being retried)"
	default:
		subject = "Successful Mail Delivery Report"
	}
	crlf := func(format string, args ...any) { fmt.Fprintf(bw, format+"\r\n", args...) }

	crlf("From: Mail Delivery System <MAILER-DAEMON@%s>", host)
	crlf("To: <%s>", m.sender)
	crlf("Subject: %s", subject)
	crlf("Date: %s", now.Format(time.RFC1123Z))
	crlf("Message-ID: <%s.%s@%s>", m.qid, randomHex(8), host)
	crlf("Auto-Submitted: auto-replied") // RFC 3834 section 5
	crlf("MIME-Version: 1.0")
	reportType := "delivery-status"
	if global {
		// RFC 6533 section 6.
		reportType = "global-delivery-status"
	}
	crlf("Content-Type: multipart/report; report-type=%s;", reportType)
	crlf("\tboundary=\"%s\"", boundary)
	crlf("")
	crlf("This is a MIME-encapsulated delivery status notification.")

	// The human-readable part.
	crlf("")
	crlf("--%s", boundary)
	text := dsnText(host, m, entries, full)
	if isASCII(text) {
		crlf("Content-Type: text/plain; charset=us-ascii")
		crlf("Content-Transfer-Encoding: 7bit")
	} else {
		crlf("Content-Type: text/plain; charset=utf-8")
		crlf("Content-Transfer-Encoding: 8bit")
	}
	crlf("")
	bw.WriteString(text)

	// The machine-readable part (RFC 3464 section 2).
	crlf("")
	crlf("--%s", boundary)
	if global {
		crlf("Content-Type: message/global-delivery-status")
		crlf("Content-Transfer-Encoding: 8bit")
	} else {
		crlf("Content-Type: message/delivery-status")
	}
	crlf("")
	crlf("Reporting-MTA: dns; %s", host)
	if m.envid != "" {
		crlf("Original-Envelope-Id: %s", m.envid)
	}
	crlf("Arrival-Date: %s", m.created.Format(time.RFC1123Z))
	for _, e := range entries {
		crlf("")
		crlf("Final-Recipient: %s", addrType(e.rcpt.addr, global))
		if e.rcpt.orcpt != "" {
			crlf("Original-Recipient: %s", origRecipient(e.rcpt, global))
		}
		crlf("Action: %s", e.action)
		crlf("Status: %s", e.status)
		if e.remoteMTA != "" {
			crlf("Remote-MTA: dns; %s", e.remoteMTA)
		}
		if e.diag != "" {
			crlf("Diagnostic-Code: smtp; %s", fieldValue(e.diag, global))
		}
		crlf("Last-Attempt-Date: %s", e.last.Format(time.RFC1123Z))
		if e.action == "delayed" {
			crlf("Will-Retry-Until: %s", e.retryUntil.Format(time.RFC1123Z))
		}
	}

	// The original, or its header (RFC 3462 text/rfc822-headers, RFC 6533
	// message/global-headers).
	crlf("")
	crlf("--%s", boundary)
	switch {
	case full && global:
		crlf("Content-Type: message/global")
	case full:
		crlf("Content-Type: message/rfc822")
	case global:
		crlf("Content-Type: message/global-headers")
	default:
		crlf("Content-Type: text/rfc822-headers")
	}
	if (full && m.eightBit) || (!isASCII(string(header))) {
		crlf("Content-Transfer-Encoding: 8bit")
	}
	crlf("")
	if full {
		if _, err := io.Copy(bw, io.NewSectionReader(orig, 0, m.size)); err != nil {
			w.Abort()
			return nil, nil, fmt.Errorf("queue: copying the original into a DSN: %w", err)
		}
		if m.size > 0 && !endsWithCRLF(orig, m.size) {
			crlf("")
		}
	} else {
		bw.Write(header)
	}
	crlf("")
	crlf("--%s--", boundary)
	if err := bw.Flush(); err != nil {
		w.Abort()
		return nil, nil, fmt.Errorf("queue: writing DSN: %w", err)
	}
	if err := w.Commit(); err != nil {
		return nil, nil, fmt.Errorf("queue: writing DSN: %w", err)
	}
	name, size := w.Name(), sc.n
	if q.opts.Signer != nil {
		if signed, ssize, err := q.signDSN(ctx, name, size); err != nil {
			q.log.Warn("queue: DKIM-signing a DSN; it goes unsigned", "qid", m.qid, "err", err)
		} else if signed != "" {
			q.spool.Delete(bg, name)
			name, size = signed, ssize
		}
	}
	dsn := &message{
		spool:      name,
		size:       size,
		sender:     "",
		ret:        "",
		requireTLS: m.requireTLS,
		smtputf8:   !isASCII(m.sender),
		eightBit:   sc.eightBit,
		dsn:        true,
		created:    now,
	}
	// NOTIFY=NEVER: nobody is to hear about the fate of a notice.
	rcpt := recipient{addr: m.sender, domain: domainOf(m.sender), notify: NotifyNever, nextAttempt: now}
	return dsn, []recipient{rcpt}, nil
}

// dsnText is the human-readable part.
func dsnText(host string, m *message, entries []dsnEntry, full bool) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	line("This is the mail system at %s.", host)
	line("")
	var failed, delayed, relayed []dsnEntry
	for _, e := range entries {
		switch e.action {
		case "failed":
			failed = append(failed, e)
		case "delayed":
			delayed = append(delayed, e)
		default:
			relayed = append(relayed, e)
		}
	}
	if len(failed) > 0 {
		line("Your message could not be delivered to the following recipients.")
		line("")
		for _, e := range failed {
			line("<%s>:", e.rcpt.addr)
			if e.expired {
				line("    Delivery was attempted until %s without success.", e.last.Format(time.RFC1123Z))
			}
			line("    %s", textValue(e.diag))
		}
		line("")
	}
	if len(delayed) > 0 {
		line("Your message has not been delivered yet to the following recipients.")
		line("The mail system will keep trying; this is only a warning.")
		line("")
		for _, e := range delayed {
			line("<%s>:", e.rcpt.addr)
			line("    %s", textValue(e.diag))
			line("    Delivery will be attempted until %s.", e.retryUntil.Format(time.RFC1123Z))
		}
		line("")
	}
	if len(relayed) > 0 {
		line("Your message was delivered to the following recipients' mail servers,")
		line("which will not confirm delivery themselves.")
		line("")
		for _, e := range relayed {
			line("<%s>: relayed to %s", e.rcpt.addr, e.remoteMTA)
		}
		line("")
	}
	if len(failed) > 0 {
		if full {
			line("Your message is attached.")
		} else {
			line("The header of your message is attached.")
		}
	}
	return b.String()
}

// addrType is the "type; address" of Final-Recipient (RFC 3464 section
// 2.3.2; RFC 6533 section 3 for non-ASCII addresses).
func addrType(addr string, global bool) string {
	if isASCII(addr) {
		return "rfc822; " + addr
	}
	if global {
		return "utf-8; " + addr
	}
	return "utf-8; " + utf8AddrXtext(addr)
}

// origRecipient is the Original-Recipient value: the ORCPT as given.
func origRecipient(r *recipient, global bool) string {
	if r.orcptType == "utf-8" || !isASCII(r.orcpt) {
		if global {
			return "utf-8; " + r.orcpt
		}
		return "utf-8; " + utf8AddrXtext(r.orcpt)
	}
	return "rfc822; " + r.orcpt
}

// utf8AddrXtext writes non-ASCII as \x{HEX} (RFC 6533 section 3), for
// ASCII-only reports.
func utf8AddrXtext(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && r > 0x20 && r != '\\' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\x{%X}`, r)
		}
	}
	return b.String()
}

// fieldValue makes a remote's text safe as a header field value: no line
// breaks or controls, and ASCII only unless the report is global.
func fieldValue(s string, global bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		case r >= 0x80 && !global:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// textValue makes a remote's text safe for the text part.
func textValue(s string) string { return fieldValue(s, true) }

// readHeader returns the header section of a message, through the empty
// line that ends it, bounded by maxHeaderReturn (a message without body
// is all header).
func readHeader(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, maxHeaderReturn))
	var out bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		out.Write(line)
		if len(bytes.TrimRight(line, "\r\n")) == 0 && len(line) > 0 {
			break
		}
		if err == io.EOF {
			if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
				out.WriteString("\r\n")
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

func endsWithCRLF(r io.ReaderAt, size int64) bool {
	b := make([]byte, 1)
	if _, err := r.ReadAt(b, size-1); err != nil {
		return false
	}
	return b[0] == '\n'
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signDSN DKIM-signs a DSN we wrote (From: MAILER-DAEMON@Hostname) with
// the keys of the host name's domain or, failing that, of the nearest
// parent domain that has keys, which DMARC's relaxed alignment accepts
// (RFC 7489 section 3.1.1). It returns the name and size of a new spool
// file holding the signature and the DSN, or "" when no domain has keys.
func (q *Queue) signDSN(ctx context.Context, name string, size int64) (string, int64, error) {
	r, err := q.spool.Open(ctx, name)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	var sig string
	labels := strings.Split(q.opts.Hostname, ".")
	for i := 0; i+1 < len(labels) && sig == ""; i++ {
		domain := strings.Join(labels[i:], ".")
		sig, err = q.opts.Signer.Sign(ctx, domain, r, size)
		if errors.Is(err, mailauth.ErrNoKeys) {
			sig, err = "", nil
			continue
		}
		if err != nil {
			return "", 0, err
		}
	}
	if sig == "" {
		return "", 0, nil
	}
	w, err := q.spool.Create(ctx)
	if err != nil {
		return "", 0, err
	}
	if _, err := io.WriteString(w, sig); err != nil {
		w.Abort()
		return "", 0, err
	}
	if _, err := io.Copy(w, io.NewSectionReader(r, 0, size)); err != nil {
		w.Abort()
		return "", 0, err
	}
	if err := w.Commit(); err != nil {
		return "", 0, err
	}
	return w.Name(), int64(len(sig)) + size, nil
}
