package smtpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Mail is the reverse-path and the MAIL parameters of a transaction.
type Mail struct {
	// From is the reverse-path without brackets; "" for the null sender.
	From string
	// Size is the content size, sent as SIZE= when the server has SIZE.
	Size int64
	// EightBit sends BODY=8BITMIME (RFC 6152); the server must have
	// 8BITMIME.
	EightBit bool
	// SMTPUTF8 sends SMTPUTF8 (RFC 6531 section 3.4); the server must
	// have it.
	SMTPUTF8 bool
	// RequireTLS sends REQUIRETLS (RFC 8689 section 4.2); the server must
	// have it, and the session must be under TLS.
	RequireTLS bool
	// RET and ENVID are the DSN parameters (RFC 3461 section 4.3, 4.4),
	// sent when the server has DSN and they are not empty.
	RET   string
	ENVID string
}

// Rcpt is a forward-path and its RCPT parameters.
type Rcpt struct {
	Addr string
	// Notify are NOTIFY keywords (RFC 3461 section 4.1), sent when the
	// server has DSN.
	Notify []string
	// ORCPTType ("rfc822" or "utf-8") and ORCPT are sent as ORCPT= (RFC
	// 3461 section 4.2, RFC 6533 section 3) when the server has DSN.
	ORCPTType string
	ORCPT     string
}

// Result holds every reply of a transaction. A nil reply means the
// command was not sent or its reply never came.
type Result struct {
	Mail  *Reply
	Rcpts []*Reply // one per recipient, in order
	Data  *Reply   // the reply to DATA: 354, or a refusal
	Final *Reply   // the reply to the content's final dot
	// BodySent is true once the final dot was written. If Final is nil
	// then, the server may or may not have taken the message.
	BodySent bool
}

// Accepted returns the indexes of the recipients the server took.
func (r *Result) Accepted() []int {
	var out []int
	for i, rr := range r.Rcpts {
		if rr != nil && rr.Code/100 == 2 {
			out = append(out, i)
		}
	}
	return out
}

// ErrUnsupported is returned by Send for a parameter the server did not
// announce; callers check the extensions first and fail with a proper
// status, so this is a guard.
var ErrUnsupported = errors.New("smtpclient: extension not supported by the server")

// Send runs one mail transaction: MAIL, RCPT for each recipient, DATA
// and the content from body, pipelined when the server has PIPELINING
// (RFC 2920). The content is sent with dot-stuffing and CRLF endings. The
// error is non-nil when the session broke (I/O, timeout, a malformed
// reply); the Result then holds the replies received so far.
func (c *Client) Send(ctx context.Context, m Mail, rcpts []Rcpt, body io.Reader) (*Result, error) {
	mail, err := c.mailLine(m)
	if err != nil {
		return nil, err
	}
	lines := []string{mail}
	for _, r := range rcpts {
		l, err := c.rcptLine(r, m.SMTPUTF8)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	res := &Result{Rcpts: make([]*Reply, len(rcpts))}
	if _, ok := c.ext["PIPELINING"]; ok {
		err = c.pipelined(ctx, lines, res)
	} else {
		err = c.stepwise(ctx, lines, res)
	}
	if err != nil || res.Data == nil || res.Data.Code != 354 {
		return res, err
	}
	if len(res.Accepted()) == 0 {
		// RFC 2920 section 3.1: DATA was accepted although every
		// recipient failed: end it with an empty content.
		res.BodySent = true
		res.Final, err = c.finish(ctx, nil)
		return res, err
	}
	res.Final, err = c.finish(ctx, body)
	res.BodySent = err == nil || res.Final != nil || errors.Is(err, errNoFinalReply)
	if errors.Is(err, errNoFinalReply) {
		err = errors.Unwrap(err)
	}
	return res, err
}

// pipelined writes MAIL, the RCPTs and DATA at once and reads the replies
// in order.
func (c *Client) pipelined(ctx context.Context, lines []string, res *Result) error {
	stop := c.deadline(ctx, c.timeouts.Command)
	defer func() { stop() }()
	for _, l := range lines {
		c.bw.WriteString(l + "\r\n")
	}
	c.bw.WriteString("DATA\r\n")
	if err := c.bw.Flush(); err != nil {
		return ctxErr(ctx, err)
	}
	var err error
	if res.Mail, err = readReply(c.br); err != nil {
		return ctxErr(ctx, err)
	}
	for i := range res.Rcpts {
		if res.Rcpts[i], err = readReply(c.br); err != nil {
			return ctxErr(ctx, err)
		}
	}
	stop()
	stop = c.deadline(ctx, c.timeouts.DataStart)
	if res.Data, err = readReply(c.br); err != nil {
		return ctxErr(ctx, err)
	}
	return nil
}

// stepwise sends one command at a time, stopping where the transaction
// cannot go on.
func (c *Client) stepwise(ctx context.Context, lines []string, res *Result) error {
	var err error
	if res.Mail, err = c.cmd(ctx, c.timeouts.Command, lines[0]); err != nil {
		return err
	}
	if res.Mail.Code/100 != 2 {
		return nil
	}
	for i, l := range lines[1:] {
		if res.Rcpts[i], err = c.cmd(ctx, c.timeouts.Command, l); err != nil {
			return err
		}
		if res.Rcpts[i].Code == 421 {
			// The server is closing the session (RFC 5321 section 3.8).
			return nil
		}
	}
	if len(res.Accepted()) == 0 {
		return nil
	}
	res.Data, err = c.cmd(ctx, c.timeouts.DataStart, "DATA")
	return err
}

// errNoFinalReply wraps an error that came after the final dot was
// written.
var errNoFinalReply = errors.New("smtpclient: no reply to the end of data")

// finish sends the content (none if body is nil) and the final dot, and
// reads the reply.
func (c *Client) finish(ctx context.Context, body io.Reader) (*Reply, error) {
	stop := c.deadline(ctx, c.timeouts.DataBlock)
	// Each write to the connection gets the block timeout afresh.
	c.bw.Reset(&blockWriter{ctx: ctx, c: c})
	dw := newDotWriter(c.bw)
	var err error
	if body != nil {
		_, err = io.Copy(dw, body)
	}
	if err == nil {
		err = dw.Close()
	}
	c.bw.Reset(c.conn)
	stop()
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	defer c.deadline(ctx, c.timeouts.DataEnd)()
	r, err := readReply(c.br)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoFinalReply, ctxErr(ctx, err))
	}
	return r, nil
}

// blockWriter writes to the connection with a fresh DataBlock deadline
// for each write, unless ctx is done.
type blockWriter struct {
	ctx context.Context
	c   *Client
}

func (w *blockWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	w.c.conn.SetWriteDeadline(time.Now().Add(w.c.timeouts.DataBlock))
	if w.ctx.Err() != nil {
		// Cancelled between the check and the deadline: make sure the
		// cancellation's past deadline is the one that holds.
		w.c.conn.SetWriteDeadline(time.Unix(1, 0))
	}
	return w.c.conn.Write(p)
}

// mailLine builds MAIL FROM with the parameters the server supports.
func (c *Client) mailLine(m Mail) (string, error) {
	if strings.ContainsAny(m.From, "\r\n<> ") && !quotedLocal(m.From) {
		return "", fmt.Errorf("smtpclient: invalid reverse-path %q", m.From)
	}
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + m.From + ">")
	if m.EightBit {
		if _, ok := c.ext["8BITMIME"]; !ok {
			return "", fmt.Errorf("%w: 8BITMIME", ErrUnsupported)
		}
		b.WriteString(" BODY=8BITMIME")
	}
	if _, ok := c.ext["SIZE"]; ok && m.Size > 0 {
		b.WriteString(" SIZE=" + strconv.FormatInt(m.Size, 10))
	}
	if m.SMTPUTF8 {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return "", fmt.Errorf("%w: SMTPUTF8", ErrUnsupported)
		}
		b.WriteString(" SMTPUTF8")
	}
	if m.RequireTLS {
		if _, ok := c.ext["REQUIRETLS"]; !ok || c.tlsState == nil {
			return "", fmt.Errorf("%w: REQUIRETLS", ErrUnsupported)
		}
		b.WriteString(" REQUIRETLS")
	}
	if _, ok := c.ext["DSN"]; ok {
		if m.RET != "" {
			b.WriteString(" RET=" + m.RET)
		}
		if m.ENVID != "" {
			b.WriteString(" ENVID=" + EncodeXtext(m.ENVID))
		}
	}
	return b.String(), nil
}

// rcptLine builds RCPT TO with the DSN parameters when the server has DSN.
func (c *Client) rcptLine(r Rcpt, smtputf8 bool) (string, error) {
	if r.Addr == "" || strings.ContainsAny(r.Addr, "\r\n<>") || (strings.Contains(r.Addr, " ") && !quotedLocal(r.Addr)) {
		return "", fmt.Errorf("smtpclient: invalid forward-path %q", r.Addr)
	}
	var b strings.Builder
	b.WriteString("RCPT TO:<" + r.Addr + ">")
	if _, ok := c.ext["DSN"]; ok {
		if len(r.Notify) > 0 {
			b.WriteString(" NOTIFY=" + strings.Join(r.Notify, ","))
		}
		switch {
		case r.ORCPT == "":
		case strings.EqualFold(r.ORCPTType, "rfc822") && isASCII(r.ORCPT):
			b.WriteString(" ORCPT=rfc822;" + EncodeXtext(r.ORCPT))
		case strings.EqualFold(r.ORCPTType, "utf-8") || strings.EqualFold(r.ORCPTType, "rfc822"):
			// RFC 6533 section 3: a non-ASCII original address goes as
			// utf-8-addr; unitext only where the session is SMTPUTF8.
			b.WriteString(" ORCPT=utf-8;" + encodeUTF8Addr(r.ORCPT, smtputf8))
		}
	}
	return b.String(), nil
}

// quotedLocal reports an address whose local part is a quoted string,
// which may hold spaces (RFC 5321 section 4.1.2).
func quotedLocal(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at > 1 && addr[0] == '"' && addr[at-1] == '"' && !strings.ContainsAny(addr, "\r\n<>")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
