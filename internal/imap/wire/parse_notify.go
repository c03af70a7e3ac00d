package wire

// NotifyArgs: NOTIFY SET [STATUS] event-groups / NOTIFY NONE (RFC 5465
// section 8).
type NotifyArgs struct {
	None   bool // NOTIFY NONE
	Status bool // the STATUS indicator
	Groups []NotifyGroup
}

// NotifyGroup is one event-group: which mailboxes, which events.
type NotifyGroup struct {
	// Filter is SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL,
	// SUBSCRIBED, SUBTREE or MAILBOXES (upper case).
	Filter string
	// Mailboxes are the names of SUBTREE and MAILBOXES, as sent.
	Mailboxes []string
	// Events are the event names as registered (MessageNew, ...); empty
	// for NONE.
	Events []string
	// FetchAtts are MessageNew's fetch attributes (SELECTED filters only).
	FetchAtts []FetchItem
}

// notifyEvents maps the upper-case event names to their registered
// spelling.
var notifyEvents = map[string]string{
	"MESSAGENEW": "MessageNew", "MESSAGEEXPUNGE": "MessageExpunge", "FLAGCHANGE": "FlagChange",
	"ANNOTATIONCHANGE": "AnnotationChange", "MAILBOXNAME": "MailboxName",
	"SUBSCRIPTIONCHANGE": "SubscriptionChange", "MAILBOXMETADATACHANGE": "MailboxMetadataChange",
	"SERVERMETADATACHANGE": "ServerMetadataChange",
}

// maxNotifyGroups bounds a NOTIFY command's size.
const maxNotifyGroups = 32

func (r *Reader) parseNotify() *NotifyArgs {
	r.sp()
	a := &NotifyArgs{}
	if r.takeKeyword("NONE") {
		a.None = true
		return a
	}
	if !r.takeKeyword("SET") {
		r.fail("expected SET or NONE")
	}
	r.sp()
	if r.takeKeyword("STATUS") {
		a.Status = true
		r.sp()
	}
	for {
		a.Groups = append(a.Groups, r.notifyGroup())
		if len(a.Groups) > maxNotifyGroups {
			r.fail("too many event groups")
		}
		if !r.takeIf(' ') {
			return a
		}
	}
}

func (r *Reader) notifyGroup() NotifyGroup {
	var g NotifyGroup
	r.expect('(')
	var buf [24]byte
	switch f := string(r.keyword(buf[:])); f {
	case "SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED":
		g.Filter = f
	case "SUBTREE", "MAILBOXES":
		g.Filter = f
		r.sp()
		if r.takeIf('(') {
			for {
				g.Mailboxes = append(g.Mailboxes, r.mailbox())
				if len(g.Mailboxes) > 1000 {
					r.fail("too many mailboxes")
				}
				if r.takeIf(')') {
					break
				}
				r.sp()
			}
		} else {
			g.Mailboxes = []string{r.mailbox()}
		}
	default:
		r.fail("unknown mailbox filter")
	}
	r.sp()
	if r.takeKeyword("NONE") {
		r.expect(')')
		return g
	}
	r.expect('(')
	for {
		var ebuf [24]byte
		name, ok := notifyEvents[string(r.keyword(ebuf[:]))]
		if !ok {
			r.fail("unknown event")
		}
		g.Events = append(g.Events, name)
		if len(g.Events) > 16 {
			r.fail("too many events")
		}
		if name == "MessageNew" && r.peek() == ' ' && r.peekAt(1) == '(' {
			r.sp()
			r.expect('(')
			for {
				g.FetchAtts = append(g.FetchAtts, r.fetchAtt())
				if len(g.FetchAtts) > 32 {
					r.fail("too many fetch attributes")
				}
				if r.takeIf(')') {
					break
				}
				r.sp()
			}
		}
		if r.takeIf(')') {
			break
		}
		r.sp()
	}
	r.expect(')')
	return g
}

// peekAt returns the octet i positions ahead, or 0 past the line's end.
func (r *Reader) peekAt(i int) byte {
	if r.pos+i < len(r.line) {
		return r.line[r.pos+i]
	}
	return 0
}
