package imap

import (
	"strings"

	"postfach/internal/mime"
)

// writeEnvelope renders ENVELOPE (RFC 9051 section 7.5.2).
func (c *session) writeEnvelope(e *mime.Envelope) {
	if e == nil {
		e = &mime.Envelope{}
	}
	c.w.Byte('(')
	c.w.NString(noNUL(e.Date))
	c.w.SP()
	c.w.NString(noNUL(e.Subject))
	for _, list := range [][]mime.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		c.w.SP()
		c.writeAddresses(list)
	}
	c.w.SP()
	c.w.NString(noNUL(e.InReplyTo))
	c.w.SP()
	c.w.NString(noNUL(e.MessageID))
	c.w.Byte(')')
}

func (c *session) writeAddresses(list []mime.Address) {
	if len(list) == 0 {
		c.w.Raw("NIL")
		return
	}
	c.w.Byte('(')
	for _, a := range list {
		c.w.Byte('(')
		if a.Group {
			// Group start: (NIL NIL "name" NIL); group end: all NIL.
			c.w.Raw("NIL NIL ")
			c.w.NString(noNUL(a.Mailbox))
			c.w.Raw(" NIL)")
			continue
		}
		// A missing mailbox or host is "", never NIL: NIL there would
		// read as a group marker (RFC 9051 section 7.5.2).
		c.w.NString(noNUL(a.Name))
		c.w.SP()
		c.w.NString(noNUL(a.Adl))
		c.w.SP()
		c.w.String(noNUL(a.Mailbox))
		c.w.SP()
		c.w.String(noNUL(a.Host))
		c.w.Byte(')')
	}
	c.w.Byte(')')
}

// writeBodyStructure renders BODYSTRUCTURE (ext) or BODY (RFC 9051
// section 7.5.2 and the body grammar of section 9).
func (c *session) writeBodyStructure(p *mime.Part, ext bool) {
	if p == nil {
		c.w.Raw(`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)`)
		return
	}
	c.w.Byte('(')
	if isMultipart(p) {
		if len(p.Parts) == 0 {
			// The grammar needs at least one part: show an empty text
			// part, as Dovecot does.
			c.w.Raw(`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)`)
		}
		for _, child := range p.Parts {
			c.writeBodyStructure(child, ext)
		}
		c.w.SP()
		c.w.String(noNUL(p.Subtype))
		if ext {
			// body-ext-mpart: parameters, then the fields every part has.
			c.w.SP()
			c.writeParams(p.Params)
			c.writeExtTail(p)
		}
		c.w.Byte(')')
		return
	}
	c.w.String(noNUL(p.Type))
	c.w.SP()
	c.w.String(noNUL(p.Subtype))
	c.w.SP()
	c.writeParams(p.Params)
	c.w.SP()
	c.w.NString(noNUL(p.ID))
	c.w.SP()
	c.w.NString(noNUL(p.Description))
	c.w.SP()
	enc := strings.ToUpper(p.Encoding)
	if enc == "" {
		enc = "7BIT"
	}
	c.w.String(enc)
	c.w.SP()
	c.w.Number(uint64(p.BodyEnd - p.BodyStart))
	switch {
	case isMessagePart(p):
		c.w.SP()
		c.writeEnvelope(p.Message.Envelope)
		c.w.SP()
		c.writeBodyStructure(p.Message, ext)
		c.w.SP()
		c.w.Number(uint64(p.Lines))
	case p.Type == "text":
		c.w.SP()
		c.w.Number(uint64(p.Lines))
	}
	if ext {
		// body-ext-1part: MD5, then the fields every part has.
		c.w.SP()
		c.w.NString(noNUL(p.MD5))
		c.writeExtTail(p)
	}
	c.w.Byte(')')
}

// writeExtTail writes the extension fields shared by multipart and
// single parts: disposition, language, location.
func (c *session) writeExtTail(p *mime.Part) {
	c.w.SP()
	c.writeDisposition(p)
	c.w.SP()
	c.writeLanguage(p.Language)
	c.w.SP()
	c.w.NString(noNUL(p.Location))
}

func (c *session) writeParams(ps []mime.Param) {
	if len(ps) == 0 {
		c.w.Raw("NIL")
		return
	}
	c.w.Byte('(')
	for i, p := range ps {
		if i > 0 {
			c.w.SP()
		}
		if !c.rev2 {
			// IMAP4rev1 clients expect ASCII: RFC 2231 form for the rest.
			p = p.ASCII()
		}
		c.w.String(noNUL(p.Name))
		c.w.SP()
		c.w.String(noNUL(p.Value))
	}
	c.w.Byte(')')
}

func (c *session) writeDisposition(p *mime.Part) {
	if p.Disposition == "" {
		c.w.Raw("NIL")
		return
	}
	c.w.Byte('(')
	c.w.String(noNUL(p.Disposition))
	c.w.SP()
	c.writeParams(p.DispParams)
	c.w.Byte(')')
}

func (c *session) writeLanguage(langs []string) {
	switch len(langs) {
	case 0:
		c.w.Raw("NIL")
	case 1:
		c.w.String(noNUL(langs[0]))
	default:
		c.w.Byte('(')
		for i, l := range langs {
			if i > 0 {
				c.w.SP()
			}
			c.w.String(noNUL(l))
		}
		c.w.Byte(')')
	}
}

// noNUL drops NUL octets: message headers may hold them, but no IMAP
// string can carry one (RFC 9051 section 4.3).
func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}
