package wire

// parseAppend reads APPEND's arguments: SP mailbox 1*append-message, where
// append-message = [SP flag-list] [SP date-time] SP append-data (RFC 9051
// section 6.3.12; RFC 3502's formal syntax for several messages; RFC 4466
// section 2.7). append-data is a literal, a literal8 (RFC 3516 section 4.4),
// "UTF8" SP "(" literal8 ")" (RFC 6855 section 4) or "CATENATE" SP "("
// cat-part *(SP cat-part) ")" (RFC 4469 section 5).
//
// Each message's literal ends a line; the next line is empty at the end of
// the command, or starts with SP and the next message.
func (r *Reader) parseAppend() *AppendArgs {
	r.sp()
	a := &AppendArgs{Mailbox: r.mailbox()}
	catParts := 0
	for {
		r.sp()
		var m AppendMessage
		if r.peek() == '(' {
			m.Flags = r.flagList()
			r.sp()
		}
		if r.peek() == '"' {
			m.Date = r.dateTime()
			m.HasDate = true
			r.sp()
		}
		if len(a.Messages) >= r.opts.MaxAppendMessages {
			r.refuse("LIMIT", "too many messages in APPEND")
		}
		if r.takeKeyword("CATENATE") {
			r.sp()
			m.Catenate = r.catenateParts(&catParts)
		} else if r.takeKeyword("UTF8") {
			r.sp()
			r.expect('(')
			m.UTF8, m.Binary = true, true
			m.Data = r.messageLiteral(true)
			r.expect(')')
		} else {
			m.Binary = r.peek() == '~'
			m.Data = r.messageLiteral(false)
		}
		a.Messages = append(a.Messages, m)
		if !r.more() {
			return a
		}
	}
}

// parseReplace reads REPLACE's arguments (RFC 8508 section 6): SP
// seq-number SP mailbox SP append-message. The number is a sequence
// number, or a UID for UID REPLACE; "*" is 0.
func (r *Reader) parseReplace() *ReplaceArgs {
	r.sp()
	a := &ReplaceArgs{}
	if !r.takeIf('*') {
		a.Number = r.number()
		if a.Number == 0 {
			r.fail("message number must not be 0")
		}
	}
	app := r.parseAppend()
	if len(app.Messages) != 1 {
		for _, m := range app.Messages {
			m.Close()
		}
		r.fail("REPLACE takes one message")
	}
	a.Mailbox, a.Message = app.Mailbox, app.Messages[0]
	return a
}
